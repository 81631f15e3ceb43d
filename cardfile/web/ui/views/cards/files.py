"""Files of a record, downloaded through the record's rights: the user must read the record
(its row rules included) and the field must not be hidden from them. Files are never served
from a public URL, so a link cannot outlive the right to read it."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from cardfile.metamodel.access import access_for
from cardfile.metamodel.fields import get_field_type
from cardfile.metamodel.fields.files import FILES_ROOT
from cardfile.metamodel.records.filtering import record_detail
from cardfile.web.ui.display import screen_entity

from .common import card_view

FILE_TYPES = ("file", "image")


@card_view
@require_GET
def record_file(
    request: HttpRequest, entity: str, record_id: int, field_slug: str, index: int
) -> FileResponse:
    _registry, schema = screen_entity(entity)
    f = schema.by_slug.get(field_slug)
    if f is None or f.type not in FILE_TYPES or f.pk in access_for(request.user).hidden(schema):
        raise Http404
    obj = record_detail(entity, record_id, user=request.user)
    if obj is None:
        raise Http404
    value = get_field_type(f.type).get_value(f, obj)
    items = value if isinstance(value, list) else [value] if value else []
    if index >= len(items) or not isinstance(items[index], dict):
        raise Http404
    item = items[index]
    path = str(item.get("path") or "")
    if not path.startswith(FILES_ROOT) or not default_storage.exists(path):
        raise Http404
    content_type = str(item.get("content_type") or "")
    # Only pictures open in the browser; anything else (an SVG or HTML named a picture
    # included) downloads, and nothing served here may run scripts.
    inline = content_type.startswith("image/") and "svg" not in content_type
    response = FileResponse(
        default_storage.open(path, "rb"),
        as_attachment=not inline,
        filename=item.get("name") or path.rsplit("/", 1)[-1],
        content_type=content_type if inline else "application/octet-stream",
    )
    response["Content-Security-Policy"] = "sandbox"
    return response
