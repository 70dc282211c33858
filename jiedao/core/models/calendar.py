from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords


class WorkdayOverride(models.Model):
    """An administrator's statement about one date: a holiday or a 调休 make-up working day.

    It wins over the `chinesecalendar` package, and is how a year the package does not know yet gets its days.
    """

    date = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是工作日"), help_text=_("勾选：上班（含调休补班）；不勾选：放假。"))
    name = models.CharField(_("说明"), max_length=60, blank=True, help_text=_("如：春节、国庆节调休上班。"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class CalendarWarning(models.Model):
    """A year the calendar was asked about but knows nothing of: fell back to weekends only."""

    year = models.PositiveIntegerField(_("年份"), unique=True)
    first_seen = models.DateTimeField(_("首次出现"), auto_now_add=True)
    last_seen = models.DateTimeField(_("最近出现"), auto_now=True)
    times = models.PositiveIntegerField(_("次数"), default=1)
    resolved = models.BooleanField(_("已处理"), default=False)

    class Meta:
        verbose_name = _("日历告警")
        verbose_name_plural = _("日历告警")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)
