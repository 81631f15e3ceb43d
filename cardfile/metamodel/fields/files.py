"""File and image field types: files kept in Django's storage, the column holds their metadata.

A value is ``{"name", "path", "size", "content_type"}`` (a list of them with ``multiple``).
New files come in as Django ``File`` objects (uploads); a dict may only name a file already
stored under ``files/`` by this field type, so a client cannot point a record at arbitrary paths.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import FieldType, FieldValueError, register

FILES_ROOT = "files/"


@register
class FileType(FieldType):
    name = "file"
    label = gettext_lazy("File")
    filter_operators = ("isnull",)
    can_be_unique = False
    can_be_indexed = False
    text_convertible = False
    options_schema = {
        "type": "object",
        "properties": {
            "multiple": {"type": "boolean", "default": False},
            "max_size_mb": {"type": "number", "exclusiveMinimum": 0, "default": 25},
            "extensions": {"type": "array", "items": {"type": "string", "pattern": "^[a-z0-9]+$"}},
        },
    }

    def db_field(self, field):
        return models.JSONField(**self.column_kwargs(field))

    def coerce(self, field, value):
        multiple = field.options.get("multiple", False)
        items = value if isinstance(value, list) else [value]
        if not multiple and len(items) > 1:
            raise FieldValueError(
                _("This field holds one file; %(n)d were given.") % {"n": len(items)}
            )
        stored = [self._one(field, item) for item in items]
        return stored if multiple else stored[0]

    def _one(self, field, item: Any) -> dict[str, Any]:
        if isinstance(item, dict):
            path = item.get("path")
            if (
                not isinstance(path, str)
                or not path.startswith(FILES_ROOT)
                or ".." in path
                or not default_storage.exists(path)
            ):
                raise FieldValueError(_("%(path)r is not a stored file.") % {"path": path})
            return {
                "name": str(item.get("name") or path.rsplit("/", 1)[-1]),
                "path": path,
                "size": default_storage.size(path),
                "content_type": item.get("content_type")
                or mimetypes.guess_type(path)[0]
                or "application/octet-stream",
            }
        if not isinstance(item, File) and not hasattr(item, "read"):
            raise FieldValueError(_("Expected an uploaded file, got %(value)r.") % {"value": item})
        upload = item if isinstance(item, File) else File(item)
        name = get_valid_filename((upload.name or "file").rsplit("/", 1)[-1]) or "file"
        self.check_upload(field, upload, name)
        path = default_storage.save(
            f"{FILES_ROOT}e{field.entity_id}/f{field.pk}/{uuid.uuid4().hex}/{name}", upload
        )
        return {
            "name": name,
            "path": path,
            "size": default_storage.size(path),
            "content_type": getattr(upload, "content_type", None)
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
        }

    def check_upload(self, field, upload: File, name: str) -> None:
        limit_mb = field.options.get("max_size_mb", 25)
        if upload.size is not None and upload.size > limit_mb * 1024 * 1024:
            raise FieldValueError(
                _("%(name)s is larger than %(limit)s MB.") % {"name": name, "limit": limit_mb}
            )
        extensions = field.options.get("extensions")
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extensions and extension not in extensions:
            raise FieldValueError(
                _("%(name)s: allowed file types are %(types)s.")
                % {"name": name, "types": ", ".join(extensions)}
            )

    def to_text(self, field, value):
        if not value:
            return None
        items = value if isinstance(value, list) else [value]
        return ", ".join(item["name"] for item in items)

    def value_schema(self, field):
        one = {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "path": {"type": "string"},
                "size": {"type": "integer"},
                "content_type": {"type": "string"},
            },
            "required": ["path"],
        }
        return {"type": "array", "items": one} if field.options.get("multiple") else one


@register
class ImageType(FileType):
    name = "image"
    label = gettext_lazy("Image")

    def check_upload(self, field, upload, name):
        super().check_upload(field, upload, name)
        from PIL import Image, UnidentifiedImageError

        try:
            upload.seek(0)
            with Image.open(upload) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise FieldValueError(_("%(name)s is not an image.") % {"name": name}) from None
        finally:
            upload.seek(0)
