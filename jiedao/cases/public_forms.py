"""Forms of the residents' portal: submitting a request (with the category's extra fields), tracking it by
number and the last four digits of the phone, and rating the result."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jiedao.cases.models import Category, CategoryField, FieldType, Rating
from jiedao.cases.public import public_categories, public_units
from jiedao.core.forms import StyledFormMixin
from jiedao.core.models import OrgUnit

MOBILE = re.compile(r"^1[3-9]\d{9}$")
#: Area code (0 + 2–3 digits) and a 7–8 digit number, optionally with a hyphen between them.
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
EXTRA_PREFIX = "extra_"


def normalise_phone(raw: str) -> str:
    """Full-width digits to ASCII, spaces and brackets dropped, a +86/0086 prefix removed."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    text = re.sub(r"[\s()（）]", "", text)
    text = re.sub(r"^(?:\+86|0086)-?", "", text)
    return text


def valid_phone(phone: str) -> bool:
    return bool(MOBILE.match(phone) or LANDLINE.match(phone))


class ParentSelect(forms.Select):
    """A select whose options carry `data-parent` (the code of the unit above), so the page can narrow the
    next list to the unit picked in the previous one."""

    def __init__(self, parents: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parents = parents or {}

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(*args, **kwargs)
        parent = self.parents.get(str(option["value"]))
        if parent:
            option["attrs"]["data-parent"] = parent
        return option


def _extra_field(spec: CategoryField) -> forms.Field:
    common: dict[str, Any] = {"label": spec.label, "required": spec.required, "help_text": spec.help_text}
    choices = [(str(c.get("key")), str(c.get("name") or c.get("key"))) for c in spec.choices or []]
    control = {"class": "form-control"}
    if spec.datatype == FieldType.TEXT:
        return forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2, **control}), **common)
    if spec.datatype == FieldType.NUMBER:
        widget = forms.NumberInput(attrs={"inputmode": "decimal", "step": "any", **control})
        return forms.DecimalField(widget=widget, **common)
    if spec.datatype == FieldType.DATETIME:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date", **control}), **common)
    if spec.datatype == FieldType.SINGLE:
        select = forms.Select(attrs={"class": "form-select"})
        return forms.ChoiceField(choices=[("", _("请选择")), *choices], widget=select, **common)
    if spec.datatype == FieldType.MULTI:
        boxes = forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
        return forms.MultipleChoiceField(choices=choices, widget=boxes, **common)
    return forms.CharField(max_length=200, widget=forms.TextInput(attrs=control), **common)


def category_fields(category: Category | None) -> list[CategoryField]:
    if category is None:
        return []
    return list(CategoryField.objects.filter(category__in=category.lineage()).order_by("sort_order", "code"))


class SubmitForm(StyledFormMixin, forms.Form):
    """One request from a resident. The place is a community/village (narrowed by sub-district) and
    optionally a grid; photos are checked separately (`uploads.check_uploads`)."""

    name = forms.CharField(label=_("您的称呼"), max_length=60, required=False)
    anonymous = forms.BooleanField(
        label=_("匿名反映"),
        required=False,
        help_text=_("匿名反映不留电话，工作人员无法回复您，也无法在本网站查询进度。"),
    )
    phone = forms.CharField(
        label=_("手机号或固定电话"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("11 位手机号，或带区号的固定电话（如 0371-66661234）。"),
    )
    category = forms.ChoiceField(label=_("反映类别"))
    description = forms.CharField(
        label=_("具体情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("请写明时间、地点和问题，至少 5 个字。"),
    )
    subdistrict = forms.ChoiceField(label=_("街道"), required=False)
    community = forms.ChoiceField(label=_("社区/村"))
    grid = forms.ChoiceField(label=_("网格（不清楚可不选）"), required=False)
    address = forms.CharField(label=_("详细地址"), max_length=200, required=False)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180, widget=forms.HiddenInput)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90, widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # A field people do not see; robots that fill every input give themselves away.
    website = forms.CharField(
        required=False,
        label=_("网址（请勿填写）"),
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = list(public_categories())
        self.categories = {c.code: c for c in categories}
        groups: dict[str, list[tuple[str, str]]] = {}
        for c in categories:
            groups.setdefault(c.parent.name if c.parent else "", []).append((c.code, c.name))
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ChoiceField)
        category_field.choices = [("", _("请选择")), *groups.items()]
        category_field.widget.attrs.update(
            {
                "hx-get": reverse("portal:category_fields"),
                "hx-target": "#extra-fields",
                "hx-trigger": "change",
                "hx-swap": "innerHTML",
            }
        )

        units = public_units()
        self.units = {u.code: u for u in units}
        by_path = {u.path: u for u in units}

        def parent_code(unit: OrgUnit) -> str:
            parent = by_path.get(unit.path[: -OrgUnit.steplen])
            return parent.code if parent else ""

        subdistricts = [u for u in units if u.kind == OrgUnit.Kind.SUBDISTRICT]
        communities = [u for u in units if u.kind in (OrgUnit.Kind.COMMUNITY, OrgUnit.Kind.VILLAGE)]
        grids = [u for u in units if u.kind == OrgUnit.Kind.GRID]
        self._set_choices("subdistrict", [(u.code, u.name) for u in subdistricts], {}, _("全部街道"))
        self._set_grouped("community", communities, parent_code, _("请选择"))
        self._set_grouped("grid", grids, parent_code, _("不清楚"))

        self.chosen_category: Category | None = self.categories.get(
            str(self.data.get("category") or self.initial.get("category") or "")
        )
        for spec in category_fields(self.chosen_category):
            self.fields[EXTRA_PREFIX + spec.code] = _extra_field(spec)
        if not self.is_bound and not self.initial.get("key"):
            self.initial["key"] = str(uuid.uuid4())

    def _set_choices(self, name: str, choices: list[Any], parents: dict[str, str], blank: Any) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", blank), *choices]
        field.widget = ParentSelect(parents=parents, attrs={"class": "form-select"})
        field.widget.choices = field.choices

    def _set_grouped(self, name: str, units: list[OrgUnit], parent_code: Any, blank: Any) -> None:
        groups: dict[str, list[tuple[str, str]]] = {}
        parents: dict[str, str] = {}
        by_code = self.units
        for unit in units:
            code = parent_code(unit)
            parents[unit.code] = code
            label = by_code[code].display_name if code in by_code else ""
            groups.setdefault(label, []).append((unit.code, unit.display_name))
        self._set_choices(name, list(groups.items()), parents, blank)

    @property
    def extra_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(EXTRA_PREFIX)]

    def clean_phone(self) -> str:
        return normalise_phone(self.cleaned_data.get("phone", ""))

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        try:
            return str(uuid.UUID(key))
        except ValueError:
            raise ValidationError(_("页面已过期，请重新提交。")) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("anonymous"):
            phone = data.get("phone", "")
            if not phone:
                self.add_error("phone", _("请留下联系电话，或选择匿名反映。"))
            elif not valid_phone(phone):
                self.add_error(
                    "phone",
                    _("电话号码格式不对：请填写 11 位手机号，或带区号的固定电话（如 0371-66661234）。"),
                )
        community = self.units.get(data.get("community") or "")
        grid = self.units.get(data.get("grid") or "")
        subdistrict = self.units.get(data.get("subdistrict") or "")
        if (
            community is not None
            and subdistrict is not None
            and not community.path.startswith(subdistrict.path)
        ):
            self.add_error("community", _("所选社区/村不属于所选街道。"))
        if community is not None and grid is not None and not grid.path.startswith(community.path):
            self.add_error("grid", _("所选网格不属于所选社区/村。"))
        data["place"] = grid or community
        return data

    def extra_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith(EXTRA_PREFIX) and value not in (None, "", []):
                values[name[len(EXTRA_PREFIX) :]] = (
                    value.isoformat() if hasattr(value, "isoformat") else value
                )
        return values


class TrackForm(StyledFormMixin, forms.Form):
    number = forms.CharField(
        label=_("工单编号"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "GC2026..."}),
    )
    last4 = forms.CharField(
        label=_("联系电话后四位"),
        min_length=4,
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        return unicodedata.normalize("NFKC", self.cleaned_data["number"]).strip().upper()

    def clean_last4(self) -> str:
        return unicodedata.normalize("NFKC", self.cleaned_data["last4"]).strip()


class RateForm(StyledFormMixin, forms.Form):
    rating = forms.ChoiceField(
        label=_("您对办理结果是否满意？"),
        choices=Rating.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    comment = forms.CharField(
        label=_("意见（选填）"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
