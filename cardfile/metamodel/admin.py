"""Django admin for the schema until the configurator UI lands: every change goes through the
schema services, so the admin gets the same DDL, validation, trash and audit log as the API."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from cardfile.core.exceptions import CardfileError

from .fields import field_type_names
from .models import ArchivedColumn, Entity, Field
from .schema import services
from .schema.services import SchemaValidationError


def _apply_errors(form: forms.Form, error: CardfileError) -> None:
    errors = getattr(error, "errors", None) or error.details.get("errors") or {}
    if not errors:
        form.add_error(None, error.message)
    for name, messages_ in errors.items():
        target = name.split(".", 1)[0]
        form.add_error(target if target in form.fields else None, "; ".join(messages_))


class EntityForm(forms.ModelForm):
    class Meta:
        model = Entity
        fields = ["slug", "label", "label_plural", "description"]

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def _post_clean(self) -> None:
        # The service validates and saves in one transaction; its errors become form errors.
        if self.errors:
            return
        data = self.cleaned_data
        try:
            if self.instance.pk is None:
                self.instance = services.entity_create(user=self.user, **data)
            else:
                original = Entity.objects.get(pk=self.instance.pk)
                self.instance = services.entity_update(entity=original.slug, user=self.user, **data)
        except CardfileError as error:
            _apply_errors(self, error)


class FieldForm(forms.ModelForm):
    type = forms.ChoiceField(choices=[(n, n) for n in field_type_names()])
    options = forms.JSONField(required=False, initial=dict)
    default = forms.JSONField(required=False)
    confirm = forms.BooleanField(
        required=False,
        label=_("Confirm a conversion that would blank some values"),
        help_text=_("The old values stay recoverable in an archived column."),
    )

    class Meta:
        model = Field
        fields = [
            "entity",
            "slug",
            "label",
            "type",
            "required",
            "unique",
            "indexed",
            "default",
            "options",
            "help_text",
        ]

    def __init__(self, *args: Any, user=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["entity"].queryset = Entity.objects.filter(deleted_at__isnull=True)
        if self.instance.pk:
            self.fields["entity"].disabled = True
            self.initial["options"] = services.field_public_options(self.instance)

    def _post_clean(self) -> None:
        if self.errors:
            return
        data = dict(self.cleaned_data)
        entity = data.pop("entity")
        confirm = data.pop("confirm", False)
        try:
            if self.instance.pk is None:
                data["options"] = data.get("options") or {}
                self.instance = services.field_create(entity=entity.slug, user=self.user, **data)
            else:
                original = Field.objects.get(pk=self.instance.pk)
                changes = {k: v for k, v in data.items() if v != getattr(original, k, None)}
                if changes.get("type") == original.type:
                    changes.pop("type")
                if "options" in changes and changes["options"] == services.field_public_options(
                    original
                ):
                    changes.pop("options")
                self.instance = services.field_update(
                    entity=entity.slug,
                    field=original.slug,
                    user=self.user,
                    confirm=confirm,
                    **changes,
                )
        except SchemaValidationError as error:
            _apply_errors(self, error)
        except CardfileError as error:
            self.add_error(None, error.message)


class _ServiceAdmin(admin.ModelAdmin):
    """Saving happened in the form (through a service); the admin only reports it."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)

        class WithUser(form):
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, user=request.user, **kw)

        return WithUser

    # Django wraps these views in transaction.atomic(); each service is its own transaction,
    # and on SQLite DDL cannot run inside an outer one (foreign keys switch off before BEGIN).
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._delete_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change) -> None:
        return None

    def save_related(self, request, form, formsets, change) -> None:
        return None


@admin.register(Entity)
class EntityAdmin(_ServiceAdmin):
    form = EntityForm
    list_display = ["slug", "label", "table_name", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["slug", "label"]
    actions = ["restore_selected"]

    def delete_model(self, request, obj) -> None:
        try:
            services.entity_delete(entity=obj.slug, user=request.user)
        except CardfileError as error:
            self.message_user(request, error.message, messages.ERROR)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset.filter(deleted_at__isnull=True):
            self.delete_model(request, obj)

    @admin.action(description=_("Restore from the trash"))
    def restore_selected(self, request, queryset) -> None:
        for obj in queryset.filter(deleted_at__isnull=False):
            try:
                services.entity_restore(entity_id=obj.pk, user=request.user)
            except CardfileError as error:
                self.message_user(request, f"{obj.slug}: {error.message}", messages.ERROR)


@admin.register(Field)
class FieldAdmin(_ServiceAdmin):
    form = FieldForm
    list_display = ["entity", "slug", "label", "type", "required", "unique", "deleted_at"]
    list_filter = ["type", "entity", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["slug", "label"]
    actions = ["restore_selected"]

    def delete_model(self, request, obj) -> None:
        try:
            services.field_delete(entity=obj.entity.slug, field=obj.slug, user=request.user)
        except CardfileError as error:
            self.message_user(request, error.message, messages.ERROR)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset.filter(deleted_at__isnull=True).select_related("entity"):
            self.delete_model(request, obj)

    @admin.action(description=_("Restore from the trash"))
    def restore_selected(self, request, queryset) -> None:
        for obj in queryset.filter(deleted_at__isnull=False):
            try:
                services.field_restore(field_id=obj.pk, user=request.user)
            except CardfileError as error:
                self.message_user(request, f"{obj.slug}: {error.message}", messages.ERROR)


@admin.register(ArchivedColumn)
class ArchivedColumnAdmin(admin.ModelAdmin):
    list_display = ["field", "type", "archived_at", "archived_by", "failed_count"]
    readonly_fields = [
        "field",
        "column_rev",
        "type",
        "options_json",
        "archived_at",
        "archived_by",
        "failed_count",
    ]
    exclude = ["options"]

    @admin.display(description=_("options"))
    def options_json(self, obj: ArchivedColumn) -> str:
        return json.dumps(obj.options, ensure_ascii=False)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
