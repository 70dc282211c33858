"""The forms of supervised matters: the new/edit form (also prefilled from a meeting decision) and one form
per
workflow step. Each step form knows its matter and the acting user, validates what a person typed, and
`apply()` hands the cleaned values to the step's service (which checks the rules and the version seen)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.cases.forms import MultipleFileField
from jiedao.cases.models import Case
from jiedao.cases.uploads import MAX_FILES, CheckedUpload, check_uploads
from jiedao.core.models import Department, OrgUnit, Role, User
from jiedao.core.models.scope import under_path
from jiedao.supervision import rules, services
from jiedao.supervision.models import Rating, Source, SupervisedMatter

YES_NO = [("yes", _("同意")), ("no", _("不同意"))]


def end_of_day(day: date) -> datetime:
    """A deadline given as a day ends at 24:00 of that day (00:00 of the next, shown as 24:00)."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def deadline_day(value: datetime) -> date:
    """The day a deadline ends on, as the date inputs show it (a deadline at 00:00 ends the day before)."""
    local = timezone.localtime(value)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).date()
    return local.date()


def _text(label: Any, required: bool = False, rows: int = 3, max_length: int = 5000) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows, "class": "form-control"}),
    )


def _day(label: Any, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "form-control"}),
    )


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.short_name or obj.name)


class UnitsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.short_name or obj.name)


def supervised_units(user: Any, root: str | None = None) -> QuerySet[OrgUnit]:
    """Communities and villages (and sub-districts) where the user supervises: the possible lead units."""
    paths = rules.supervisor_paths(user)
    qs = OrgUnit.objects.filter(
        is_active=True,
        kind__in=[OrgUnit.Kind.SUBDISTRICT, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE],
    )
    if root:
        qs = qs.filter(under_path("path", root))
    if paths is None:
        return qs.order_by("path")
    condition = Q(pk__in=[])
    for path in paths:
        condition |= under_path("path", path)
    return qs.filter(condition).order_by("path")


def supervised_departments(user: Any, root: str | None = None) -> QuerySet[Department]:
    paths = rules.supervisor_paths(user)
    qs = Department.objects.filter(is_active=True)
    if root:
        qs = qs.filter(under_path("org_path", root))
    if paths is not None:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= under_path("org_path", path)
        qs = qs.filter(condition)
    return qs.order_by("org_path", "sort_order", "name")


def leaders_for(user: Any, root: str | None = None) -> QuerySet[User]:
    paths = rules.supervisor_paths(user)
    qs = User.objects.filter(is_active=True, memberships__role=Role.LEADER, memberships__is_active=True)
    if root:
        qs = qs.filter(memberships__org_path=root)
    elif paths is not None:
        qs = qs.filter(memberships__org_path__in=paths)
    return qs.distinct().order_by("username")


def _style_multi(field: forms.Field) -> None:
    field.widget.attrs.update({"class": "form-select", "size": "5"})


class LeadFields(forms.Form):
    """Lead unit or department, and helpers, chosen within the supervising sub-district."""

    lead_unit = UnitChoiceField(queryset=OrgUnit.objects.none(), required=False, label=_("牵头单位"))
    lead_department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("牵头科室")
    )
    helper_units = UnitsChoiceField(queryset=OrgUnit.objects.none(), required=False, label=_("协办单位"))
    helper_departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.none(), required=False, label=_("协办科室")
    )

    def setup_lead_fields(self, user: Any, root: str | None) -> None:
        units = supervised_units(user, root)
        depts = supervised_departments(user, root)
        self.fields["lead_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["helper_units"].queryset = units  # type: ignore[attr-defined]
        self.fields["lead_department"].queryset = depts  # type: ignore[attr-defined]
        self.fields["helper_departments"].queryset = depts  # type: ignore[attr-defined]
        for name in ("lead_unit", "lead_department"):
            self.fields[name].widget.attrs.setdefault("class", "form-select")
        for name in ("helper_units", "helper_departments"):
            _style_multi(self.fields[name])
        self.fields["lead_unit"].help_text = _("牵头单位与牵头科室选一个。")

    def clean_lead(self, data: dict[str, Any], required: bool) -> None:
        if data.get("lead_unit") and data.get("lead_department"):
            raise ValidationError(_("牵头单位和牵头科室只能选一个。"))
        if required and not data.get("lead_unit") and not data.get("lead_department"):
            raise ValidationError(_("交办前请选择牵头单位或牵头科室。"))


class MatterForm(LeadFields):
    """New matter (立项, by hand or from a case or a meeting decision) and edit (修改)."""

    title = forms.CharField(
        label=_("事项名称"), max_length=120, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    content = _text(_("督办内容"), required=True, rows=5)
    source = forms.ChoiceField(
        label=_("来源"),
        choices=[(v, lbl) for v, lbl in Source.choices if v != Source.MEETING],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    source_note = forms.CharField(
        label=_("来源说明"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=_("如批示领导与文号、上级交办文件名称。"),
    )
    case_number = forms.CharField(
        label=_("来源工单编号"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "GC…"}),
    )
    deadline = _day(_("办理时限"))
    leader = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("责任领导"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    assign = forms.BooleanField(
        label=_("立项后立即交办"),
        required=False,
        initial=True,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    field_order = [
        "title",
        "content",
        "source",
        "source_note",
        "case_number",
        "lead_unit",
        "lead_department",
        "helper_units",
        "helper_departments",
        "deadline",
        "leader",
        "assign",
        "version",
    ]

    def __init__(
        self,
        *args: Any,
        user: User,
        matter: SupervisedMatter | None = None,
        decision: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.matter, self.decision = user, matter, decision
        root = matter.org_path if matter is not None else None
        self.setup_lead_fields(user, root)
        self.fields["leader"].queryset = leaders_for(user, root)  # type: ignore[attr-defined]
        self.fields["leader"].label_from_instance = lambda u: str(u)  # type: ignore[attr-defined]
        if matter is not None or decision is not None:
            for name in ("source", "case_number"):
                del self.fields[name]
        if matter is not None:
            del self.fields["assign"]
            if not self.is_bound:
                self.initial.update(
                    {
                        "title": matter.title,
                        "content": matter.content,
                        "source_note": matter.source_note,
                        "deadline": deadline_day(matter.deadline),
                        "leader": matter.leader_id,
                        "lead_unit": matter.lead_unit_id if matter.lead_department_id is None else None,
                        "lead_department": matter.lead_department_id,
                        "helper_units": [
                            h.unit_id for h in matter.helpers.all() if h.unit_id and not h.department_id
                        ],
                        "helper_departments": [
                            h.department_id for h in matter.helpers.all() if h.department_id
                        ],
                        "version": matter.version,
                    }
                )
        else:
            del self.fields["version"]
        if decision is not None and not self.is_bound:
            values = services.decision_defaults(decision)
            self.initial.update(
                {
                    "title": values.get("title", ""),
                    "content": values.get("content", ""),
                    "source_note": values.get("source_note", ""),
                    "lead_department": getattr(values.get("lead_department"), "pk", None),
                    "lead_unit": getattr(values.get("lead_unit"), "pk", None),
                    "deadline": deadline_day(values["deadline"]) if values.get("deadline") else None,
                    "leader": getattr(getattr(values.get("project"), "leader", None), "pk", None),
                }
            )

    def clean_case_number(self) -> Case | None:
        number = (self.cleaned_data.get("case_number") or "").strip().upper()
        if not number:
            return None
        case = Case.objects.visible_to(self.user).filter(number=number).first()
        if case is None:
            raise ValidationError(_("找不到编号为 %(number)s 的工单。") % {"number": number})
        return case

    def clean_deadline(self) -> datetime:
        day = self.cleaned_data["deadline"]
        deadline = end_of_day(day)
        unchanged = self.matter is not None and deadline == self.matter.deadline
        if deadline <= timezone.now() and not unchanged:
            raise ValidationError(_("办理时限须晚于今天。"))
        return deadline

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        required = bool(data.get("assign")) or (self.matter is not None and self.matter.status != "opened")
        self.clean_lead(data, required)
        if (
            data.get("source") == Source.CASE
            and not data.get("case_number")
            and "case_number" not in self.errors
        ):
            self.add_error("case_number", _("工单转办的事项请填写来源工单编号。"))
        return data

    def save(self) -> SupervisedMatter:
        d = self.cleaned_data
        common = {
            "title": d["title"],
            "content": d["content"],
            "source_note": d.get("source_note", ""),
            "deadline": d["deadline"],
            "leader": d.get("leader"),
            "lead_unit": d.get("lead_unit"),
            "lead_department": d.get("lead_department"),
            "helper_units": list(d.get("helper_units") or []),
            "helper_departments": list(d.get("helper_departments") or []),
        }
        if self.matter is not None:
            return services.update_matter(self.user, self.matter, version=d.get("version"), **common)
        if self.decision is not None:
            return services.open_from_decision(
                self.user, self.decision, assign=bool(d.get("assign")), **common
            )
        return services.create_matter(
            self.user,
            source=d["source"],
            case=d.get("case_number") if d["source"] == Source.CASE else None,
            assign=bool(d.get("assign")),
            **common,
        )


# ---------------------------------------------------------------------------------------------------------
# The step forms


class StepForm(forms.Form):
    """Base: the hidden version the user saw, the matter and the acting user."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    multipart: ClassVar[bool] = False

    def __init__(self, *args: Any, matter: SupervisedMatter, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", matter.version)
        super().__init__(*args, **kwargs)
        self.matter = matter
        self.user = user

    @property
    def seen_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def values(self) -> dict[str, Any]:
        """The service's keyword arguments besides the version."""
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}

    def apply(self, name: str) -> SupervisedMatter:
        return services.STEP_SERVICES[name](
            self.user, self.matter, version=self.seen_version, **self.values()
        )


class NoteForm(StepForm):
    note = _text(_("说明"))


class ReasonForm(StepForm):
    reason = _text(_("理由"), required=True)


class AssignForm(LeadFields, StepForm):
    deadline = _day(_("办理时限"))
    note = _text(_("交办意见"), rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setup_lead_fields(self.user, self.matter.org_path)
        if not self.is_bound:
            m = self.matter
            self.initial.update(
                {
                    "lead_unit": m.lead_unit_id if m.lead_department_id is None else None,
                    "lead_department": m.lead_department_id,
                    "helper_units": [h.unit_id for h in m.helpers.all() if h.unit_id and not h.department_id],
                    "helper_departments": [h.department_id for h in m.helpers.all() if h.department_id],
                    "deadline": deadline_day(m.deadline),
                }
            )

    def clean_deadline(self) -> datetime:
        deadline = end_of_day(self.cleaned_data["deadline"])
        if deadline <= timezone.now():
            raise ValidationError(_("办理时限须晚于今天。"))
        return deadline

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.clean_lead(data, True)
        return data

    def values(self) -> dict[str, Any]:
        d = super().values()
        d["helper_units"] = list(d.get("helper_units") or [])
        d["helper_departments"] = list(d.get("helper_departments") or [])
        return d


class DeclineForm(ReasonForm):
    reason = _text(_("退回理由"), required=True)


class UndertakeForm(NoteForm):
    note = _text(_("承办意见（承办人、工作措施）"))


class UploadForm(StepForm):
    multipart = True
    photos = MultipleFileField(label=_("照片"), accept="image/*")
    documents = MultipleFileField(label=_("附件"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photos"].help_text = _("可多选，最多 %(n)s 个文件；照片每张不超过 10 MB。") % {
            "n": MAX_FILES
        }
        self.uploads: list[CheckedUpload] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.uploads = check_uploads(data.get("photos") or [], data.get("documents") or [])
        except ValidationError as exc:
            self.add_error("photos", exc)
        return data

    def values(self) -> dict[str, Any]:
        d = {k: v for k, v in super().values().items() if k not in ("photos", "documents")}
        d["uploads"] = self.uploads
        return d


class ReportForm(UploadForm):
    text = _text(_("进展情况"), required=True, rows=4)
    percent = forms.IntegerField(
        label=_("完成进度（%）"),
        min_value=0,
        max_value=100,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric", "step": "5"}),
    )
    field_order = ["version", "text", "percent", "photos", "documents"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("percent", self.matter.progress)


class SubmitForm(UploadForm):
    text = _text(_("办理结果"), required=True, rows=4)
    field_order = ["version", "text", "photos", "documents"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = _("报请审核即完成进度 100%，由督查部门审核。")


class ApproveForm(NoteForm):
    note = _text(_("审核意见"))


class SendBackForm(ReasonForm):
    reason = _text(_("退回原因"), required=True)


class CompleteForm(StepForm):
    summary = _text(_("办结情况"), rows=3)


class RateForm(StepForm):
    rating = forms.ChoiceField(
        choices=Rating.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        label=_("评价等次"),
    )
    score = forms.IntegerField(
        label=_("评分（0–100，可不填）"),
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    comment = _text(_("评价意见"), rows=2, max_length=500)


class RequestExtensionForm(StepForm):
    new_deadline = _day(_("申请延至"))
    reason = _text(_("延期理由"), required=True)

    def clean_new_deadline(self) -> datetime:
        deadline = end_of_day(self.cleaned_data["new_deadline"])
        if deadline <= self.matter.deadline:
            raise ValidationError(_("申请的时限须晚于现在的办理时限。"))
        return deadline


class DecideExtensionForm(StepForm):
    approve = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect(attrs={"class": "form-check-input"}), label=_("审批结果")
    )
    note = _text(_("审批意见"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].help_text = _("不同意须写明理由。")

    def values(self) -> dict[str, Any]:
        return {"approve": self.cleaned_data["approve"] == "yes", "note": self.cleaned_data["note"]}


class RemindForm(NoteForm):
    note = _text(_("催办意见"))


class CancelForm(ReasonForm):
    reason = _text(_("撤销原因"), required=True)


STEP_FORMS: dict[str, type[StepForm]] = {
    "assign": AssignForm,
    "decline": DeclineForm,
    "undertake": UndertakeForm,
    "report": ReportForm,
    "submit": SubmitForm,
    "approve": ApproveForm,
    "send_back": SendBackForm,
    "complete": CompleteForm,
    "rate": RateForm,
    "request_extension": RequestExtensionForm,
    "decide_extension": DecideExtensionForm,
    "remind": RemindForm,
    "cancel": CancelForm,
}


class BulletinForm(forms.Form):
    start = _day(_("起始日期"))
    end = _day(_("截止日期"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end"):
            from jiedao.supervision.bulletin import check_period

            check_period(data["start"], data["end"])
        return data
