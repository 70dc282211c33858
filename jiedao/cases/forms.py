"""The forms of the case page: one per workflow step. Each form knows its case and the acting user, validates
what a person typed, and `apply()` hands the cleaned values to the matching service (which checks the rules
and the version the user saw)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.cases import routing, services
from jiedao.cases.models import Case, Outcome, Rating, Request
from jiedao.cases.uploads import MAX_FILES, CheckedUpload, check_uploads
from jiedao.core.models import Department, OrgUnit, User
from jiedao.core.models.scope import under_path

CONTEST_REASONS = [
    ("not_ours", _("不属于本单位职责")),
    ("wrong_address", _("派单地址有误")),
    ("other_lead", _("需其他单位主办")),
    ("other", _("其他")),
]
YES_NO = [("yes", _("同意")), ("no", _("不同意"))]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; cleans to a list (checked afterwards by `uploads.check_uploads`)."""

    def __init__(self, *args: Any, accept: str = "", **kwargs: Any) -> None:
        attrs = {"class": "form-control"}
        if accept:
            attrs["accept"] = accept
        kwargs.setdefault("widget", MultipleFileInput(attrs=attrs))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def _text(label: Any, required: bool = False, rows: int = 3, max_length: int = 2000) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows, "class": "form-control"}),
    )


def _select(field: forms.Field) -> forms.Field:
    css = "form-select" if not isinstance(field.widget, forms.RadioSelect) else ""
    if css:
        field.widget.attrs.setdefault("class", css)
    return field


class CaseActionForm(forms.Form):
    """Base: the hidden version the user saw, the case and the acting user."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    multipart: ClassVar[bool] = False

    def __init__(self, *args: Any, case: Case, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", case.version)
        super().__init__(*args, **kwargs)
        self.case = case
        self.user = user

    @property
    def seen_version(self) -> int | None:
        return self.cleaned_data.get("version")

    def apply(self) -> Any:
        raise NotImplementedError


class NoteForm(CaseActionForm):
    """Steps that take an optional note (accept, sign, verify, report_in)."""

    note = _text(_("说明"))
    service: ClassVar[str] = ""

    def apply(self) -> Any:
        func = getattr(services, self.service)
        return func(self.user, self.case, version=self.seen_version, note=self.cleaned_data["note"])


class AcceptForm(NoteForm):
    service = "accept"
    note = _text(_("受理意见"))


class SignForm(NoteForm):
    service = "sign"
    note = _text(_("签收说明"), rows=2)


class VerifyForm(NoteForm):
    service = "verify"
    note = _text(_("核查情况"))


class ReportInForm(NoteForm):
    service = "report_in"
    note = _text(_("报到说明"), rows=2)


class RequiredNoteForm(NoteForm):
    note = _text(_("说明"), required=True)


class SendBackForm(RequiredNoteForm):
    service = "send_back"
    note = _text(_("退回原因"), required=True)


class RequestReviewForm(RequiredNoteForm):
    service = "request_review"
    note = _text(_("复查/复核请求内容"), required=True)


class RefuseForm(CaseActionForm):
    reason = _text(_("不予受理理由"), required=True)

    def apply(self) -> Any:
        return services.refuse(
            self.user, self.case, version=self.seen_version, reason=self.cleaned_data["reason"]
        )


class EscalateForm(CaseActionForm):
    reason = _text(_("升级原因"), required=True)

    def apply(self) -> Any:
        return services.escalate(
            self.user, self.case, version=self.seen_version, reason=self.cleaned_data["reason"]
        )


def _subdistrict_units(user: User, case: Case) -> QuerySet[OrgUnit]:
    """Active units the user sees under the case's sub-district (or under its place, above that level)."""
    root = routing.subdistrict_of(case.org_unit) or case.org_unit
    return (
        OrgUnit.objects.visible_to(user)
        .filter(is_active=True)
        .filter(under_path("path", root.path))
        .order_by("path")
    )


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        depth = max(0, obj.depth - 2)
        return f"{'　' * depth}{obj.name}"


class UnitMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class DispatchForm(CaseActionForm):
    lead_unit = UnitChoiceField(queryset=OrgUnit.objects.none(), required=False, label=_("主办单位"))
    lead_department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("主办科室")
    )
    co_units = UnitMultipleChoiceField(queryset=OrgUnit.objects.none(), required=False, label=_("协办单位"))
    co_departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.none(), required=False, label=_("协办科室")
    )
    note = _text(_("派遣说明"), rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = _subdistrict_units(self.user, self.case)
        place = self.case.org_unit.path
        lead_units = [u.pk for u in units if place.startswith(u.path) or u.path.startswith(place)]
        fields = self.fields
        fields["lead_unit"].queryset = units.filter(pk__in=lead_units)  # type: ignore[attr-defined]
        fields["co_units"].queryset = units  # type: ignore[attr-defined]
        fields["lead_department"].queryset = routing.departments_for(self.case)  # type: ignore[attr-defined]
        fields["co_departments"].queryset = routing.departments_for(self.case)  # type: ignore[attr-defined]
        for name in ("lead_unit", "lead_department"):
            _select(fields[name])
        for name in ("co_units", "co_departments"):
            fields[name].widget.attrs.update({"class": "form-select", "size": "5"})
        self.route = routing.route(self.case)
        if not self.is_bound:
            if self.route.department is not None:
                self.initial.setdefault("lead_department", self.route.department.pk)
            elif self.route.unit is not None:
                self.initial.setdefault("lead_unit", self.route.unit.pk)
        fields["lead_unit"].help_text = _("主办单位与主办科室选一个。")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("lead_unit") and data.get("lead_department"):
            raise ValidationError(_("主办单位和主办科室只能选一个。"))
        if not data.get("lead_unit") and not data.get("lead_department"):
            raise ValidationError(_("请选择主办单位或主办科室。"))
        return data

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.dispatch(
            self.user,
            self.case,
            version=self.seen_version,
            lead_unit=d["lead_unit"],
            lead_department=d["lead_department"],
            co_units=list(d["co_units"]),
            co_departments=list(d["co_departments"]),
            note=d["note"],
        )


class ContestForm(CaseActionForm):
    reason_code = _select(forms.ChoiceField(choices=CONTEST_REASONS, label=_("退单理由类别")))
    reason = _text(_("退单理由"), required=True)

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.contest(
            self.user, self.case, version=self.seen_version, reason_code=d["reason_code"], reason=d["reason"]
        )


class DecisionForm(CaseActionForm):
    """Approve or refuse a pending request (退单 or 延期)."""

    approve = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect(attrs={"class": "form-check-input"}), label=_("审核结果")
    )
    note = _text(_("审核意见"))
    request_kind: ClassVar[str] = ""

    def pending(self) -> Request | None:
        return self.case.requests.filter(kind=self.request_kind, decision=Request.Decision.PENDING).first()


class DecideContestForm(DecisionForm):
    request_kind = Request.Kind.CONTEST

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.decide_contest(
            self.user, self.case, version=self.seen_version, approve=d["approve"] == "yes", note=d["note"]
        )


class DecideExtensionForm(DecisionForm):
    request_kind = Request.Kind.EXTENSION

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.decide_extension(
            self.user, self.case, version=self.seen_version, approve=d["approve"] == "yes", note=d["note"]
        )


class UploadForm(CaseActionForm):
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


class ReportForm(UploadForm):
    note = _text(_("办理情况"), required=True, rows=4)
    field_order = ["version", "note", "photos", "documents"]

    def apply(self) -> Any:
        return services.report(
            self.user,
            self.case,
            version=self.seen_version,
            note=self.cleaned_data["note"],
            uploads=self.uploads,
        )


class CommentForm(UploadForm):
    note = _text(_("备注"))
    field_order = ["version", "note", "photos", "documents"]

    def apply(self) -> Any:
        return services.comment(self.user, self.case, note=self.cleaned_data["note"], uploads=self.uploads)


class CloseForm(CaseActionForm):
    outcome = _select(forms.ChoiceField(choices=Outcome.choices, label=_("办理结果")))
    reply = _text(_("给诉求人的答复"), required=True, rows=4)

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.close(
            self.user, self.case, version=self.seen_version, outcome=d["outcome"], reply=d["reply"]
        )


class RateForm(CaseActionForm):
    rating = forms.ChoiceField(
        choices=Rating.choices, widget=forms.RadioSelect(attrs={"class": "form-check-input"}), label=_("评价")
    )
    comment = _text(_("评价意见"), rows=2, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rating"].help_text = _("选择“不满意”将退回主办单位重办。")

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.rate(
            self.user, self.case, version=self.seen_version, rating=d["rating"], comment=d["comment"]
        )


class RequestExtensionForm(CaseActionForm):
    days = forms.IntegerField(
        min_value=1, label=_("延期天数"), widget=forms.NumberInput(attrs={"class": "form-control"})
    )
    reason = _text(_("延期理由"), required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _("理由会告知诉求人。")

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.request_extension(
            self.user, self.case, version=self.seen_version, days=d["days"], reason=d["reason"]
        )


class MergeForm(CaseActionForm):
    into = forms.CharField(
        label=_("并入工单编号"),
        max_length=20,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "GC…"}),
    )
    note = _text(_("合并说明"), rows=2)

    def clean_into(self) -> Case:
        number = self.cleaned_data["into"].strip().upper()
        target = Case.objects.visible_to(self.user).filter(number=number).first()
        if target is None:
            raise ValidationError(_("找不到编号为 %(number)s 的工单。") % {"number": number})
        return target

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.merge(self.user, self.case, version=self.seen_version, into=d["into"], note=d["note"])


class WhistleForm(CaseActionForm):
    departments = forms.ModelMultipleChoiceField(
        queryset=Department.objects.none(), required=False, label=_("召集科室")
    )
    units = UnitMultipleChoiceField(queryset=OrgUnit.objects.none(), required=False, label=_("召集单位"))
    note = _text(_("吹哨事由"), rows=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["departments"].queryset = routing.departments_for(self.case)  # type: ignore[attr-defined]
        self.fields["units"].queryset = _subdistrict_units(self.user, self.case)  # type: ignore[attr-defined]
        for name in ("departments", "units"):
            self.fields[name].widget.attrs.update({"class": "form-select", "size": "5"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("departments") and not data.get("units"):
            raise ValidationError(_("请选择要召集的科室或单位。"))
        return data

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.whistle(
            self.user,
            self.case,
            version=self.seen_version,
            departments=list(d["departments"]),
            units=list(d["units"]),
            note=d["note"],
        )


class AnswerReviewForm(CaseActionForm):
    reply = _text(_("复查/复核意见"), required=True, rows=4)
    outcome = _select(
        forms.ChoiceField(choices=[("", "—"), *Outcome.choices], required=False, label=_("办理结果"))
    )

    def apply(self) -> Any:
        d = self.cleaned_data
        return services.answer_review(
            self.user, self.case, version=self.seen_version, reply=d["reply"], outcome=d["outcome"]
        )


ACTION_FORMS: dict[str, type[CaseActionForm]] = {
    "accept": AcceptForm,
    "refuse": RefuseForm,
    "dispatch": DispatchForm,
    "sign": SignForm,
    "contest": ContestForm,
    "decide_contest": DecideContestForm,
    "report": ReportForm,
    "verify": VerifyForm,
    "send_back": SendBackForm,
    "close": CloseForm,
    "rate": RateForm,
    "request_extension": RequestExtensionForm,
    "decide_extension": DecideExtensionForm,
    "merge": MergeForm,
    "escalate": EscalateForm,
    "whistle": WhistleForm,
    "report_in": ReportInForm,
    "request_review": RequestReviewForm,
    "answer_review": AnswerReviewForm,
    "comment": CommentForm,
}
