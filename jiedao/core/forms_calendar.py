"""The form for an administrator's calendar override (validation only; `services_calendar` saves)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.models.calendar import WorkdayOverride

#: Overrides outside these years are almost certainly typing mistakes.
MIN_YEAR = 2000
MAX_YEAR = 2100


class WorkdayOverrideForm(forms.ModelForm):
    class Meta:
        model = WorkdayOverride
        fields = ["date", "is_workday", "name"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
            "is_workday": forms.CheckboxInput(attrs={"class": "form-check-input"}),
            "name": forms.TextInput(
                attrs={"class": "form-control", "placeholder": _("如：春节、国庆节调休上班")}
            ),
        }

    def clean_date(self) -> date:
        value: date = self.cleaned_data["date"]
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise forms.ValidationError(
                _("日期须在 %(min)s 年至 %(max)s 年之间。"), params={"min": MIN_YEAR, "max": MAX_YEAR}
            )
        return value

    def clean_name(self) -> str:
        name: str = self.cleaned_data.get("name", "").strip()
        if not name:
            raise forms.ValidationError(_("请填写说明，如节日名称或“春节调休上班”。"))
        return name
