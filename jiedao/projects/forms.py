"""The forms of key projects and meetings. They only check and collect; `services` writes. Units offered are
those where the user may change projects (meetings); people offered are the staff who may see them; an edit
carries the version it started from."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import StyledFormMixin, UnitChoiceField
from jiedao.core.models import Department, Membership, OrgUnit, Role, User
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import scope_paths
from jiedao.projects.models import (
    Decision,
    KeyProject,
    Meeting,
    Milestone,
    Problem,
    ProblemStatus,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONTH = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.full_name or obj.username


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.full_name or obj.username


def units_for(user: User, action: str) -> QuerySet[OrgUnit]:
    """Sub-districts, communities and villages where `user` may do `action`."""
    units = OrgUnit.objects.filter(
        kind__in=[OrgUnit.Kind.SUBDISTRICT, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE], is_active=True
    )
    paths = scope_paths(user, action)
    if paths is None:
        return units
    condition = Q(pk__in=[])
    for path in paths:
        condition |= under_path("path", path)
    return units.filter(condition)


def staff_for(user: User) -> QuerySet[User]:
    """Active staff attached in the user's scope (the people a project or meeting can name)."""
    paths = scope_paths(user, "project.view")
    members = Membership.objects.filter(is_active=True).exclude(role__in=[Role.VOLUNTEER])
    if paths is not None:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= under_path("org_path", path)
        members = members.filter(condition)
    return User.objects.filter(is_active=True, pk__in=members.values("user_id")).order_by(
        "full_name", "username"
    )


def leaders_for(user: User) -> QuerySet[User]:
    return staff_for(user).filter(memberships__role=Role.LEADER, memberships__is_active=True).distinct()


def departments_for(user: User) -> QuerySet[Department]:
    return Department.objects.visible_to(user).filter(is_active=True)


class ProjectForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = KeyProject
        fields = [
            "name",
            "code",
            "kind",
            "stage",
            "org_unit",
            "owner_company",
            "address",
            "longitude",
            "latitude",
            "leader",
            "departments",
            "units",
            "total_investment",
            "start_date",
            "planned_completion",
            "description",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        self.fields["org_unit"] = UnitChoiceField(
            label=_("所在单位"),
            queryset=units_for(user, "project.change"),
            help_text=_("项目所在的社区（看得到项目的社区）；跨社区的项目选街道。"),
        )
        self.fields["leader"] = UserChoiceField(
            label=_("分包领导"), queryset=leaders_for(user), required=True
        )
        self.fields["departments"] = forms.ModelMultipleChoiceField(
            label=_("责任科室"),
            queryset=departments_for(user),
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        self.fields["units"] = forms.ModelMultipleChoiceField(
            label=_("涉及社区"),
            queryset=OrgUnit.objects.visible_to(user).filter(
                kind__in=[OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE], is_active=True
            ),
            required=False,
            widget=forms.CheckboxSelectMultiple,
        )
        for name in ("start_date", "planned_completion"):
            self.fields[name].widget = DATE
        for field in self.fields.values():
            if isinstance(field.widget, forms.Select) and not isinstance(
                field.widget, forms.CheckboxSelectMultiple
            ):
                field.widget.attrs["class"] = "form-select"
            elif isinstance(field.widget, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"
            elif not isinstance(field.widget, forms.HiddenInput):
                field.widget.attrs["class"] = "form-control"

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if (data.get("longitude") is None) != (data.get("latitude") is None):
            raise forms.ValidationError(_("经度和纬度要么都填，要么都不填。"))
        return data

    def _post_clean(self) -> None:
        # The service checks uniqueness and writes; the form does not touch the instance.
        pass

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class InvestmentForm(StyledFormMixin, forms.Form):
    month = forms.DateField(
        label=_("月份"), input_formats=["%Y-%m", "%Y-%m-%d"], widget=MONTH, help_text=_("如 2025-03。")
    )
    planned = forms.DecimalField(label=_("计划投资 (万元)"), max_digits=12, decimal_places=2, min_value=0)
    completed = forms.DecimalField(label=_("完成投资 (万元)"), max_digits=12, decimal_places=2, min_value=0)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("month", timezone.localdate().replace(day=1))


class MilestoneForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Milestone
        fields = ["name", "planned_date", "actual_date", "note"]
        widgets = {"planned_date": DATE, "actual_date": DATE}

    def _post_clean(self) -> None:
        pass


class ProblemForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Problem
        fields = ["description", "owner", "owner_department", "due_date"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2}), "due_date": DATE}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = UserChoiceField(label=_("责任人"), queryset=staff_for(user))
        self.fields["owner"].widget.attrs["class"] = "form-select"
        owner_department = self.fields["owner_department"]
        assert isinstance(owner_department, forms.ModelChoiceField)
        owner_department.queryset = departments_for(user)

    def _post_clean(self) -> None:
        pass


class SolveForm(StyledFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=ProblemStatus.choices)
    solution = forms.CharField(label=_("解决情况"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class NoteForm(StyledFormMixin, forms.Form):
    text = forms.CharField(label=_("进展情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AttachmentForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("文件"))
    description = forms.CharField(label=_("说明"), max_length=200, required=False)


class MeetingForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Meeting
        fields = [
            "title",
            "kind",
            "date",
            "location",
            "org_unit",
            "project",
            "chair",
            "expected",
            "present",
            "minutes",
        ]
        widgets = {"date": DATE, "minutes": forms.Textarea(attrs={"rows": 8})}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        staff = staff_for(user)
        self.fields["org_unit"] = UnitChoiceField(
            label=_("召开单位"), queryset=units_for(user, "meeting.change")
        )
        project = self.fields["project"]
        assert isinstance(project, forms.ModelChoiceField)
        project.queryset = KeyProject.objects.visible_to(user).filter(is_active=True).order_by("name")
        self.fields["chair"] = UserChoiceField(label=_("主持人"), queryset=staff, required=False)
        for name, label in (("expected", _("应到人员")), ("present", _("实到人员"))):
            self.fields[name] = UsersChoiceField(
                label=label, queryset=staff, required=False, widget=forms.CheckboxSelectMultiple
            )
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            elif name != "version":
                field.widget.attrs.setdefault("class", "form-control")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        expected = set(data.get("expected") or [])
        present = set(data.get("present") or [])
        if expected and present - expected:
            names = "、".join(sorted(u.full_name or u.username for u in present - expected))
            self.add_error("present", _("实到人员不在应到人员中：%(names)s。") % {"names": names})
        return data

    def _post_clean(self) -> None:
        pass

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class DecisionForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Decision
        fields = ["content", "owner_unit", "due_date"]
        widgets = {"content": forms.Textarea(attrs={"rows": 2}), "due_date": DATE}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owner_unit = self.fields["owner_unit"]
        assert isinstance(owner_unit, forms.ModelChoiceField)
        owner_unit.queryset = departments_for(user)

    def _post_clean(self) -> None:
        pass
