"""Notifications and their deliveries in the admin: for looking into what was sent, not for writing."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from jiedao.notifications.models import Delivery, Notification


class ReadOnlyAdminMixin:
    """Rows are written by the notification service only; the admin may look and delete."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "address", "status", "error", "created_at")
    readonly_fields = fields


class ReadFilter(admin.SimpleListFilter):
    title = _("已读")
    parameter_name = "read"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("no", _("未读")), ("yes", _("已读"))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "no":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "recipient", "kind", "actor", "created_at", "read_at")
    list_filter = (ReadFilter, "kind", "created_at")
    list_select_related = ("recipient", "actor")
    search_fields = ("title", "recipient__username", "recipient__full_name")
    date_hierarchy = "created_at"
    readonly_fields = ("recipient", "actor", "kind", "title", "body", "url", "created_at", "read_at")
    fields = readonly_fields
    inlines = (DeliveryInline,)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("notification", "recipient", "channel", "address", "status", "created_at")
    list_filter = ("channel", "status", "created_at")
    list_select_related = ("notification__recipient",)
    search_fields = ("notification__title", "notification__recipient__username", "address")
    readonly_fields = ("notification", "channel", "address", "status", "error", "created_at")
    fields = readonly_fields

    @admin.display(description=_("接收人"), ordering="notification__recipient__username")
    def recipient(self, obj: Delivery) -> str:
        return str(obj.notification.recipient)
