"""The audit chain in the Django admin: readable, never writable (the chain is appended by record_event)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from jiedao.audit.models import AuditEvent
from jiedao.audit.services import HASHED_COLUMNS


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["seq", "created_at", "kind", "actor_repr", "object_type", "object_repr", "ip_address"]
    list_filter = ["kind"]
    search_fields = ["object_repr", "actor_repr", "object_id"]
    date_hierarchy = "created_at"
    ordering = ["-seq"]
    show_full_result_count = False  # counting millions of rows on every page is slow
    readonly_fields = [*HASHED_COLUMNS, "hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
