"""Forms of the intake pages: staff intake (电话/来信/来访/12345), the grid worker's phone report, the import
upload. Choices come from the user's scope; the service (`services.create_case`) checks again."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jiedao.cases import services
from jiedao.cases.models import Case, Category, CategoryField, Channel, PetitionType, Priority
from jiedao.core.forms import StyledFormMixin
from jiedao.core.models import Department, Membership, OrgUnit, Role, User
from jiedao.core.models.scope import under_path
from jiedao.core.permissions import can, scope_paths

INTAKE_CHANNELS = [Channel.PHONE, Channel.LETTER, Channel.VISIT, Channel.HOTLINE, Channel.PATROL]
PLACE_KINDS = [OrgUnit.Kind.GRID, OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE, OrgUnit.Kind.SUBDISTRICT]
SIMILAR_ACTIONS = [("", _("不处理")), ("merge", _("提交后合并到此件")), ("link", _("提交后关联此件"))]


def leaf_categories(public_only: bool = False) -> list[Category]:
    """Active categories without active children (what a case is filed under), in catalogue order."""
    active = list(Category.objects.filter(is_active=True).select_related("parent"))
    parents = {c.parent_id for c in active if c.parent_id is not None}
    leaves = [c for c in active if c.pk not in parents and (c.parent is None or c.parent.is_active)]
    if public_only:
        leaves = [c for c in leaves if c.is_public]
    return sorted(leaves, key=lambda c: (c.parent.sort_order if c.parent else c.sort_order, c.sort_order))


def category_choices(leaves: list[Category]) -> list[Any]:
    """Leaf categories grouped by their parent, as <optgroup>s."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for category in leaves:
        group = category.parent.name if category.parent else str(_("其他"))
        groups.setdefault(group, []).append((category.code, category.name))
    return [("", "---------"), *groups.items()]


def creatable_units(user: User) -> Any:
    """The places this user may register cases in."""
    units = OrgUnit.objects.visible_to(user).filter(kind__in=PLACE_KINDS, is_active=True)
    paths = scope_paths(user, "case.create")
    if paths is None:
        return units
    if not paths:
        return units.none()
    condition = Q()
    for path in paths:
        condition |= under_path("path", path, units.db)
    return units.filter(condition)


def _around(user: User, field: str) -> Q | None:
    """Rows whose `field` (an org path) lies in the user's scope or above it (the sub-district's leaders and
    departments for a community's staff); None when unrestricted."""
    paths = scope_paths(user, "case.create")
    if paths is None:
        return None
    condition = Q(pk__in=[])
    for path in paths:
        condition |= under_path(field, path)
        ancestors = OrgUnit.path_lineage(path, include_self=False)
        if ancestors:
            condition |= Q(**{f"{field}__in": ancestors})
    return condition


def my_grids(user: User) -> Any:
    """The grids where the user holds an active membership (a grid worker's own grids)."""
    ids = Membership.objects.filter(user=user, is_active=True, org_unit__kind=OrgUnit.Kind.GRID).values(
        "org_unit_id"
    )
    return OrgUnit.objects.filter(pk__in=ids, is_active=True).order_by("sort_order", "code")


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.get_kind_display()}）"


class LeaderChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name or obj.username)


class CaseFieldsMixin(forms.Form):
    """Category (leaf, grouped) and the category's extra fields, posted as `extra_<code>` inputs."""

    category = forms.CharField(label=_("诉求类别"), widget=forms.Select)

    def setup_category(self, leaves: list[Category]) -> None:
        self._leaves = {c.code: c for c in leaves}
        widget = self.fields["category"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = category_choices(leaves)
        widget.attrs.update(
            {
                "class": "form-select",
                "hx-get": reverse("cases:intake_fields"),
                "hx-trigger": "change",
                "hx-target": "#extra-fields",
                "hx-swap": "outerHTML",
            }
        )

    def clean_category(self) -> Category:
        code = self.cleaned_data["category"]
        category = self._leaves.get(code)
        if category is None:
            raise forms.ValidationError(_("请选择具体的诉求类别。"))
        return category

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        category = data.get("category")
        if isinstance(category, Category):
            try:
                data["extra"] = services.validate_extra(category, self.extra_values())
            except ValidationError as exc:
                for message in exc.messages:
                    self.add_error(None, message)
        return data

    def chosen_category(self) -> Category | None:
        code = self.data.get("category") if self.is_bound else self.initial.get("category")
        return self._leaves.get(str(code or ""))

    def extra_values(self) -> dict[str, Any]:
        """The posted extra-field values, keyed by field code (lists for multi-value fields)."""
        category = self.chosen_category()
        if category is None or not self.is_bound:
            return {}
        values: dict[str, Any] = {}
        for spec in CategoryField.objects.filter(category__in=category.lineage()):
            name = f"extra_{spec.code}"
            if spec.datatype == "multivaluelist":
                values[spec.code] = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            else:
                values[spec.code] = str(self.data.get(name, "")).strip()
        return values


class IntakeForm(StyledFormMixin, CaseFieldsMixin):
    channel = forms.ChoiceField(label=_("渠道"), choices=[(c.value, c.label) for c in INTAKE_CHANNELS])
    org_unit = UnitChoiceField(label=_("地点（社区/网格）"), queryset=OrgUnit.objects.none())
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False)
    longitude = forms.FloatField(label=_("经度"), required=False, min_value=-180, max_value=180)
    latitude = forms.FloatField(label=_("纬度"), required=False, min_value=-90, max_value=90)
    title = forms.CharField(
        label=_("标题"), max_length=60, required=False, help_text=_("不填则取诉求内容的开头。")
    )
    description = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 5}))
    anonymous = forms.BooleanField(label=_("匿名"), required=False)
    requester_name = forms.CharField(label=_("诉求人"), max_length=60, required=False)
    requester_phone = forms.RegexField(
        label=_("联系电话"),
        regex=r"^[0-9+\-\s]{5,20}$",
        required=False,
        error_messages={"invalid": _("电话号码只能包含数字、空格、+ 和 -。")},
    )
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices, initial=Priority.NORMAL)
    confidential = forms.BooleanField(label=_("保密"), required=False)
    petition_type = forms.ChoiceField(
        label=_("信访类型"), choices=[("", _("非信访件")), *PetitionType.choices], required=False
    )
    accused_unit = UnitChoiceField(label=_("被检举控告单位"), queryset=OrgUnit.objects.none(), required=False)
    accused_department = forms.ModelChoiceField(
        label=_("被检举控告科室"), queryset=Department.objects.none(), required=False
    )
    same_facts_number = forms.CharField(
        label=_("同一事实的信访件编号"), max_length=20, required=False, help_text=_("如 GC2026010100001")
    )
    leader_in_charge = LeaderChoiceField(
        label=_("包案领导"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("信访件不选时，由联系该社区的领导包案。"),
    )
    accept = forms.BooleanField(label=_("立即受理"), required=False)
    similar_case = forms.CharField(required=False, widget=forms.HiddenInput)
    similar_action = forms.ChoiceField(label=_("相似工单"), choices=SIMILAR_ACTIONS, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.setup_category(leaf_categories())
        units = creatable_units(user)
        self.fields["org_unit"].queryset = units  # type: ignore[attr-defined]
        around_units = _around(user, "path")
        accused = OrgUnit.objects.filter(is_active=True).exclude(kind=OrgUnit.Kind.DISTRICT)
        self.fields["accused_unit"].queryset = (  # type: ignore[attr-defined]
            accused if around_units is None else accused.filter(around_units)
        )
        around_org = _around(user, "org_path")
        departments = Department.objects.filter(is_active=True)
        self.fields["accused_department"].queryset = (  # type: ignore[attr-defined]
            departments if around_org is None else departments.filter(around_org)
        )
        leaders = Membership.objects.filter(role=Role.LEADER, is_active=True, user__is_active=True)
        if around_org is not None:
            leaders = leaders.filter(around_org)
        self.fields["leader_in_charge"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            pk__in=leaders.values("user_id")
        ).order_by("full_name", "username")
        self.can_accept = can(user, "case.accept")
        if not self.can_accept:
            del self.fields["accept"]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            if units.count() == 1:
                self.initial.setdefault("org_unit", units.first())
        self.fields["similar_action"].widget.attrs["class"] = "form-select"

    def clean_requester_phone(self) -> str:
        return str(self.cleaned_data.get("requester_phone") or "").replace(" ", "")

    def clean_same_facts_number(self) -> Case | None:
        number = self.cleaned_data.get("same_facts_number", "").strip().upper()
        if not number:
            return None
        case = Case.objects.visible_to(self.user).filter(number=number).first()
        if case is None:
            raise forms.ValidationError(_("找不到编号为 %(n)s 的工单。") % {"n": number})
        return case

    def clean_similar_case(self) -> Case | None:
        number = self.cleaned_data.get("similar_case", "").strip()
        if not number:
            return None
        return Case.objects.visible_to(self.user).filter(number=number).first()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("similar_action") and data.get("similar_case") is None:
            self.add_error("similar_action", _("请先在相似工单中选择一件。"))
        if data.get("petition_type") != PetitionType.ACCUSATION:
            data["accused_unit"] = data["accused_department"] = None
        return data


class ReportForm(StyledFormMixin, CaseFieldsMixin):
    """A grid worker's report from the street, on a phone."""

    grid = forms.CharField(label=_("网格"), widget=forms.Select)
    description = forms.CharField(
        label=_("发现的问题"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("什么问题、在哪里、影响如何")}),
    )
    address = forms.CharField(label=_("位置描述"), max_length=200, required=False)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    priority = forms.ChoiceField(label=_("紧急程度"), choices=Priority.choices, initial=Priority.NORMAL)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.grids = {g.code: g for g in my_grids(user)}
        choices: list[tuple[str, str]] = [(code, g.name) for code, g in self.grids.items()]
        if len(self.grids) != 1:
            choices = [("", "---------"), *choices]
        grid_widget = self.fields["grid"].widget
        assert isinstance(grid_widget, forms.Select)
        grid_widget.choices = choices
        self.setup_category(leaf_categories(public_only=True))
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            if len(self.grids) == 1:
                self.initial["grid"] = next(iter(self.grids))

    def clean_grid(self) -> OrgUnit:
        grid = self.grids.get(self.cleaned_data["grid"])
        if grid is None:
            raise forms.ValidationError(_("只能上报您自己负责的网格内的问题。"))
        return grid


class ImportUploadForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=_("转办工单文件（.xlsx）"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"})
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith(".xlsx"):
            raise forms.ValidationError(_("请上传 Excel 工作簿（.xlsx）；.xls 请先另存为 .xlsx。"))
        if upload.size > 20 * 1024 * 1024:
            raise forms.ValidationError(_("文件超过 20 MB。"))
        return upload


def extra_inputs(category: Category | None, data: Any = None) -> list[dict[str, Any]]:
    """The category's extra fields as the intake partial draws them, with the values typed so far."""
    if category is None:
        return []
    inputs = []
    for spec in CategoryField.objects.filter(category__in=category.lineage()).order_by("sort_order", "code"):
        name = f"extra_{spec.code}"
        values = [str(v) for v in data.getlist(name)] if hasattr(data, "getlist") else []
        inputs.append(
            {
                "spec": spec,
                "name": name,
                "id": f"id_{name}",
                "value": values[0] if values else "",
                "values": values,
                "choices": [
                    {"key": str(c.get("key")), "name": str(c.get("name", c.get("key")))}
                    for c in spec.choices or []
                ],
            }
        )
    return inputs
