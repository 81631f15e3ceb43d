"""Admin for branches and the (read-only) audit log."""

from django.contrib import admin

from .models import AuditLog, Branch


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["name", "phone", "is_active"]
    search_fields = ["name"]
    filter_horizontal = ["users"]


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr"]
    readonly_fields = [
        "at",
        "user",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "before",
        "after",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
