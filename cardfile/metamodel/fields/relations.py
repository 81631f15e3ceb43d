"""Relation field types: link, multi_link, child_table and user.

Options name the target entity by slug (``{"target": "client"}``), as the API writes them; they
are stored by id (``target_id``) so renaming the target entity touches nothing here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .base import BASE_OPERATORS, FieldOptionsError, FieldType, FieldValueError, register

ON_DELETE = {"protect": models.PROTECT, "set_null": models.SET_NULL, "cascade": models.CASCADE}
_TARGET = {
    "target": {"type": "string", "minLength": 1},
    "target_id": {"type": "integer", "minimum": 1},
}


def dynamic_model_ref(entity_id: int) -> str:
    """The lazy reference to a generated model inside the schema's own app registry."""
    return f"dyn.E{entity_id}"


def _coerce_id(value: Any) -> int:
    if isinstance(value, dict) and "id" in value:
        value = value["id"]
    if isinstance(value, bool):
        raise FieldValueError(_("Expected a record id, got %(value)r.") % {"value": value})
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise FieldValueError(
        _("Expected a record id (a whole number), got %(value)r.") % {"value": value}
    )


class _TargetedType(FieldType):
    """A type whose options name another entity."""

    text_convertible = False
    can_be_unique = False

    def check_options(self, options):
        from cardfile.metamodel.models import Entity

        slug = options.pop("target", None)
        target_id = options.get("target_id")
        live = Entity.objects.filter(deleted_at__isnull=True)
        target = None
        if slug is not None:
            target = live.filter(slug=slug).first()
        elif target_id is not None:
            target = live.filter(pk=target_id).first()
        if target is None:
            raise FieldOptionsError(
                _("Option target must name an existing entity (got %(target)r).")
                % {"target": slug if slug is not None else target_id},
                errors={"target": [_("No such entity.")]},
            )
        options["target_id"] = target.pk
        return options

    def target_id(self, field) -> int:
        return field.options["target_id"]

    def column_signature(self, field):
        return (self.name, field.options.get("target_id"))


@register
class LinkType(_TargetedType):
    name = "link"
    label = gettext_lazy("Link to a record")
    formula_type = "link"
    filter_operators = BASE_OPERATORS
    can_be_unique = True
    options_schema = {
        "type": "object",
        "properties": {
            **_TARGET,
            "on_delete": {"enum": list(ON_DELETE), "default": "protect"},
        },
        "anyOf": [{"required": ["target"]}, {"required": ["target_id"]}],
    }

    def db_field(self, field):
        kwargs = self.column_kwargs(field)
        return models.ForeignKey(
            dynamic_model_ref(self.target_id(field)),
            on_delete=ON_DELETE[field.options.get("on_delete", "protect")],
            related_name=f"rev_f{field.pk}",
            **kwargs,
        )

    def get_value(self, field, obj):
        return getattr(obj, f"{field.attname}_id")

    def set_value(self, field, obj, value):
        setattr(obj, f"{field.attname}_id", value)

    def coerce(self, field, value):
        return _coerce_id(value)

    def value_schema(self, field):
        return {"type": "integer", "format": "int64", "minimum": 1}


@register
class MultiLinkType(_TargetedType):
    """Links to many records, through the table ``cf_m<field id>`` (source, target, position)."""

    name = "multi_link"
    label = gettext_lazy("Links to records")
    formula_type = "link"
    filter_operators = ("exact", "in", "isnull")
    has_column = False
    can_be_indexed = False
    options_schema = {
        "type": "object",
        "properties": {**_TARGET, "on_delete": {"enum": list(ON_DELETE), "default": "protect"}},
        "anyOf": [{"required": ["target"]}, {"required": ["target_id"]}],
    }

    def model_fields(self, field):
        return {
            field.attname: models.ManyToManyField(
                dynamic_model_ref(self.target_id(field)),
                through=f"dyn.M{field.pk}",
                through_fields=("source", "target"),
                related_name=f"rev_f{field.pk}",
                blank=True,
                verbose_name=field.label,
            )
        }

    def through_fields(self, field) -> dict[str, models.Field]:
        return {
            "source": models.ForeignKey(
                dynamic_model_ref(field.entity_id),
                on_delete=models.CASCADE,
                related_name="+",
                db_column="source_id",
            ),
            "target": models.ForeignKey(
                dynamic_model_ref(self.target_id(field)),
                on_delete=models.CASCADE,
                related_name="+",
                db_column="target_id",
            ),
            "position": models.IntegerField(default=0),
        }

    def get_value(self, field, obj):
        # Reads go through prefetch when the selector asked for it; ids in their set order.
        return [t.pk for t in getattr(obj, field.attname).all()] if obj.pk else []

    def set_value(self, field, obj, value):
        raise TypeError("multi_link values are written by the record service after save")

    def coerce(self, field, value):
        if not isinstance(value, list | tuple):
            value = [value]
        ids: list[int] = []
        for item in value:
            record_id = _coerce_id(item)
            if record_id not in ids:
                ids.append(record_id)
        return ids

    def value_schema(self, field):
        return {"type": "array", "items": {"type": "integer", "format": "int64", "minimum": 1}}


@register
class ChildTableType(_TargetedType):
    """Line items: the target entity's records belong to one parent and go with it.

    The column is on the child's table (``f<field id>``, a foreign key to the parent) and is
    written by the record service together with the parent.
    """

    name = "child_table"
    label = gettext_lazy("Child table (lines)")
    formula_type = None
    filter_operators = ("isnull",)
    has_column = False
    can_be_indexed = False
    options_schema = {
        "type": "object",
        "properties": dict(_TARGET),
        "anyOf": [{"required": ["target"]}, {"required": ["target_id"]}],
    }

    def parent_link_field(self, field) -> models.Field:
        """The foreign key added to the child entity's model."""
        return models.ForeignKey(
            dynamic_model_ref(field.entity_id),
            on_delete=models.CASCADE,
            null=True,
            blank=True,
            db_column=field.column,
            related_name=f"rev_f{field.pk}",
        )

    def is_blank(self, value):
        return value is None or value == []

    def coerce(self, field, value):
        if not isinstance(value, list):
            raise FieldValueError(_("Expected a list of lines, got %(value)r.") % {"value": value})
        for position, line in enumerate(value, start=1):
            if not isinstance(line, dict):
                raise FieldValueError(
                    _("Line %(n)d must be an object of field values.") % {"n": position}
                )
        return value

    def value_schema(self, field):
        # The API document puts the line entity's own schema in ``items``.
        return {"type": "array", "items": {"type": "object"}}


@register
class UserType(FieldType):
    """A user of this installation (a responsible employee, a technician)."""

    name = "user"
    label = gettext_lazy("User")
    formula_type = "user"
    text_convertible = True
    can_be_unique = False

    def db_field(self, field):
        return models.ForeignKey(
            get_user_model(),
            on_delete=models.PROTECT,
            related_name="+",
            **self.column_kwargs(field),
        )

    def get_value(self, field, obj):
        return getattr(obj, f"{field.attname}_id")

    def set_value(self, field, obj, value):
        setattr(obj, f"{field.attname}_id", value)

    def coerce(self, field, value):
        user_model = get_user_model()
        if isinstance(value, str) and not value.strip().isdigit():
            user_id = (
                user_model.objects.filter(**{user_model.USERNAME_FIELD: value.strip()})
                .values_list("pk", flat=True)
                .first()
            )
            if user_id is None:
                raise FieldValueError(_("There is no user %(name)r.") % {"name": value})
            return user_id
        return _coerce_id(value)

    def to_text(self, field, value):
        if value is None:
            return None
        user = get_user_model().objects.filter(pk=value).first()
        return user.get_username() if user else str(value)

    def value_schema(self, field):
        return {"type": "integer", "format": "int64", "minimum": 1}
