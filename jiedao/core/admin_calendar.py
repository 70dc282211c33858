"""Admin for the work calendar (imported by jiedao.core.admin). Writes go through services_calendar, so the
admin site leaves the same audit events as the calendar page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from jiedao.core import services_calendar
from jiedao.core.models.calendar import CalendarWarning, WorkdayOverride


@admin.register(WorkdayOverride)
class WorkdayOverrideAdmin(SimpleHistoryAdmin):
    list_display = ["date", "is_workday", "name", "created_by"]
    list_filter = ["is_workday"]
    search_fields = ["name"]
    date_hierarchy = "date"
    fields = ["date", "is_workday", "name"]

    def save_model(self, request: HttpRequest, obj: WorkdayOverride, form: ModelForm, change: bool) -> None:
        existing = WorkdayOverride.objects.get(pk=obj.pk) if change and obj.pk else None
        saved = services_calendar.save_override(
            request.user, date=obj.date, is_workday=obj.is_workday, name=obj.name, override=existing
        )
        obj.pk = saved.pk
        obj.created_by = saved.created_by

    def delete_model(self, request: HttpRequest, obj: WorkdayOverride) -> None:
        services_calendar.delete_override(request.user, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WorkdayOverride]) -> None:
        for obj in queryset:
            services_calendar.delete_override(request.user, obj)


@admin.register(CalendarWarning)
class CalendarWarningAdmin(admin.ModelAdmin):
    list_display = ["year", "times", "first_seen", "last_seen", "resolved"]
    list_filter = ["resolved"]
    readonly_fields = ["year", "times", "first_seen", "last_seen", "resolved"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("标记为已处理"))
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[CalendarWarning]) -> None:
        count = 0
        for warning in queryset.filter(resolved=False):
            services_calendar.resolve_warning(request.user, warning)
            count += 1
        self.message_user(request, _("已处理 %(count)s 条告警。") % {"count": count}, messages.SUCCESS)
