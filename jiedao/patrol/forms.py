"""Forms parse and check what people type; the services decide. Choices are limited to what the user may use
(grids in their scope, the workers of those grids)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.patrol.models import CheckStatus, EventLevel, HazardKind, HazardPoint, RecordKind, RiskLevel

EVENT_KINDS = ["暴雨红色预警", "暴雨橙色预警", "大风蓝色预警", "寒潮预警", "地质灾害", "防汛应急响应"]


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"　{obj.name}" if obj.kind == OrgUnit.Kind.GRID else obj.name


class WorkerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj)


def grids_for(user: Any, action: str) -> Any:
    return (
        OrgUnit.objects.visible_to(user, action)
        .filter(kind=OrgUnit.Kind.GRID, is_active=True)
        .order_by("path")
    )


def workers_in(grids: Any) -> Any:
    return User.objects.filter(
        is_active=True,
        pk__in=Membership.objects.filter(is_active=True, role=Role.GRID_WORKER, org_unit__in=grids).values(
            "user_id"
        ),
    ).order_by("full_name", "username")


class _Styled:
    def style(self: Any) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-control")


class PointForm(_Styled, forms.Form):
    org_unit = UnitChoiceField(queryset=OrgUnit.objects.none(), label=_("所属网格"))
    kind = forms.ModelChoiceField(queryset=HazardKind.objects.filter(is_active=True), label=_("类型"))
    name = forms.CharField(label=_("名称"), max_length=100)
    risk = forms.ChoiceField(choices=RiskLevel.choices, label=_("风险等级"), initial=RiskLevel.MEDIUM)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    latitude = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    responsible = WorkerChoiceField(queryset=User.objects.none(), label=_("责任网格员"), required=False)
    notes = forms.CharField(label=_("备注"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    is_active = forms.BooleanField(label=_("在册"), required=False, initial=True)
    photo = forms.FileField(
        label=_("照片"), required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/*"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grids = grids_for(user, "hazard.change")
        self.fields["org_unit"].queryset = grids  # type: ignore[attr-defined]
        self.fields["responsible"].queryset = workers_in(grids)  # type: ignore[attr-defined]
        self.style()

    def data_for_service(self) -> dict[str, Any]:
        cleaned = dict(self.cleaned_data)
        for key in ("photo", "version"):
            cleaned.pop(key, None)
        return cleaned


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Excel 文件"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv", "class": "form-control"}),
    )


class EventForm(_Styled, forms.Form):
    kind = forms.CharField(label=_("事件类型"), max_length=60, initial="暴雨红色预警")
    level = forms.ChoiceField(choices=EventLevel.choices, label=_("预警级别"), initial=EventLevel.RED)
    areas = forms.ModelMultipleChoiceField(
        queryset=OrgUnit.objects.none(), label=_("影响区域"), widget=forms.CheckboxSelectMultiple
    )
    point_kinds = forms.ModelMultipleChoiceField(
        queryset=HazardKind.objects.filter(is_active=True),
        label=_("排查点位类型"),
        widget=forms.CheckboxSelectMultiple,
    )
    started_at = forms.DateTimeField(
        label=_("开始时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("不填为现在。"),
    )
    instructions = forms.CharField(
        label=_("工作要求"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["areas"].queryset = OrgUnit.objects.visible_to(user, "emergency.declare").filter(  # type: ignore[attr-defined]
            is_active=True,
            kind__in=[OrgUnit.Kind.SUBDISTRICT, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE],
        )
        areas: Any = self.fields["areas"]
        areas.label_from_instance = lambda u: (
            u.display_name if u.kind != OrgUnit.Kind.SUBDISTRICT else _("%(name)s（全域）") % {"name": u.name}
        )
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("point_kinds", list(HazardKind.objects.filter(is_active=True)))
        self.style()


class CheckForm(_Styled, forms.Form):
    status = forms.ChoiceField(
        choices=[
            (CheckStatus.OK.value, CheckStatus.OK.label),
            (CheckStatus.HAZARD.value, CheckStatus.HAZARD.label),
        ],
        label=_("排查结果"),
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("情况说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    depth_cm = forms.FloatField(label=_("积水深度（厘米）"), required=False, min_value=0, max_value=1000)
    passable = forms.ChoiceField(
        label=_("是否可通行"),
        required=False,
        choices=[("", "—"), ("yes", _("可通行")), ("no", _("不可通行"))],
    )
    photo = forms.FileField(
        label=_("照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    latitude = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=-180, max_value=180)
    accuracy = forms.FloatField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()


class RecordForm(_Styled, forms.Form):
    kind = forms.ChoiceField(choices=RecordKind.choices, label=_("类型"))
    org_unit = UnitChoiceField(queryset=OrgUnit.objects.none(), label=_("社区/网格"))
    people_count = forms.IntegerField(label=_("转移人数"), required=False, min_value=0, max_value=1_000_000)
    destination = forms.CharField(label=_("安置地点"), max_length=200, required=False)
    note = forms.CharField(label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org_unit"].queryset = OrgUnit.objects.visible_to(user, "emergency.record").filter(  # type: ignore[attr-defined]
            is_active=True, kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.GRID]
        )
        self.style()


class CloseForm(_Styled, forms.Form):
    summary_note = forms.CharField(label=_("总结"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style()


class PlanForm(_Styled, forms.Form):
    org_unit = UnitChoiceField(queryset=OrgUnit.objects.none(), label=_("网格"))
    name = forms.CharField(label=_("名称"), max_length=100)
    every_days = forms.IntegerField(label=_("巡查周期（天）"), min_value=1, max_value=366, initial=7)
    worker = WorkerChoiceField(queryset=User.objects.none(), label=_("巡查人"), required=False)
    points = forms.ModelMultipleChoiceField(
        queryset=HazardPoint.objects.none(), label=_("巡查点位"), widget=forms.CheckboxSelectMultiple
    )
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        grids = grids_for(user, "patrol.plan")
        self.fields["org_unit"].queryset = grids  # type: ignore[attr-defined]
        self.fields["worker"].queryset = workers_in(grids)  # type: ignore[attr-defined]
        self.fields["points"].queryset = (  # type: ignore[attr-defined]
            HazardPoint.objects.visible_to(user).filter(is_active=True).select_related("org_unit", "kind")
        )
        self.fields["points"].label_from_instance = lambda p: f"{p.org_unit.name} · {p.name}（{p.kind.name}）"  # type: ignore[attr-defined]
        self.style()
