from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from jiedao.core import (
    admin_calendar,  # noqa: F401  (registers the calendar models)
    services,
)
from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, Reminder, User
from jiedao.core.services import EDITABLE_FIELDS


@admin.register(OrgUnit)
class OrgUnitAdmin(SimpleHistoryAdmin):
    """Field edits go through services.update_unit (permission, audit event). Adding, moving and removing
    units happen on the app's own pages: a move must re-path every scoped row under the unit in the same
    transaction, which treebeard's admin move form would not do."""

    fields = [*EDITABLE_FIELDS]
    list_display = ["name", "kind", "code", "population", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "code"]
    ordering = ["path"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: OrgUnit, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)
        current = OrgUnit.objects.get(pk=obj.pk)
        changes = {f: getattr(obj, f) for f in form.changed_data if f in EDITABLE_FIELDS}
        updated = services.update_unit(request.user, current, version=current.version, **changes)
        obj.refresh_from_db()
        obj.version = updated.version


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "org_unit", "sort_order", "is_active"]
    list_filter = ["is_active", "org_unit"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["org_unit"]


@admin.register(ContactCommunity)
class ContactCommunityAdmin(SimpleHistoryAdmin):
    list_display = ["leader", "org_unit", "since"]
    autocomplete_fields = ["leader", "org_unit"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["org_unit", "department"]
    exclude = ["org_path"]


@admin.register(User)
class UserAdmin(BaseUserAdmin, SimpleHistoryAdmin):
    list_display = ["username", "full_name", "title", "is_active", "is_staff"]
    search_fields = ["username", "full_name", "title", "email"]
    inlines = [MembershipInline]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        (_("工作信息"), {"fields": ("full_name", "title", "mobile")}),
    )


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "role", "org_unit", "department", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "user__full_name", "org_unit__name"]
    autocomplete_fields = ["user", "org_unit", "department"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "due_at", "due_state", "attempts"]
    list_filter = ["due_state", "kind"]
    search_fields = ["title", "recipient__username"]
    raw_id_fields = ["recipient", "created_by", "org_unit"]
