"""Forms of the residents' portal: submitting a request (with the category's extra fields), tracking it by
number and the last four digits of the phone, and rating the result."""

from __future__ import annotations

import functools
import unicodedata
import uuid
from collections.abc import Container
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from jiedao.cases.models import Category, CategoryField, FieldType, Rating
from jiedao.cases.public import (
    COMMUNITY_KINDS,
    GRID_KINDS,
    Place,
    child_places,
    place_of,
    portal_catalog,
)
from jiedao.core.forms import StyledFormMixin
from jiedao.core.models import OrgUnit
from jiedao.core.privacy import normalise_phone, valid_phone
from jiedao.core.widgets import QuickSelect

EXTRA_PREFIX = "extra_"


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
    """The category's extra fields, its own and its ancestors' (Open311 service definitions use this)."""
    if category is None:
        return []
    return list(CategoryField.objects.filter(category__in=category.lineage()).order_by("sort_order", "code"))


class CategoryChoiceField(forms.ChoiceField):
    """A choice among the catalogue's public leaf categories: a submitted code is checked against `codes` (the
    catalogue's, a dict), and the grouped options are set only when the form is drawn (`offer_places`), so
    a submission does not build and walk them."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codes: Container[str] = ()

    def valid_value(self, value: Any) -> bool:
        return str(value) in self.codes


class SubmitForm(StyledFormMixin, forms.Form):
    """One request from a resident. The place is picked level by level: sub-district → community/village →
    grid (optional), each further level offered once the one above is chosen (htmx swaps in the next select;
    without JavaScript a POST missing the next level comes back with its options). On POST only the submitted
    codes are checked, with one query. Photos are checked separately (`uploads.check_uploads`)."""

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
    category = CategoryChoiceField(label=_("反映类别"), widget=QuickSelect)
    description = forms.CharField(
        label=_("具体情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("请写明时间、地点和问题，至少 5 个字。"),
    )
    subdistrict = forms.CharField(label=_("街道"), max_length=20, required=False, widget=QuickSelect)
    community = forms.CharField(
        label=_("社区/村"),
        max_length=20,
        widget=QuickSelect,
        error_messages={"required": _("请选择社区/村。")},
    )
    grid = forms.CharField(label=_("网格（不清楚可不选）"), max_length=20, required=False, widget=QuickSelect)
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
        self.catalog = portal_catalog()
        self.categories = self.catalog.categories
        category_field = self.fields["category"]
        assert isinstance(category_field, CategoryChoiceField)
        category_field.codes = self.categories
        category_field.widget.attrs.update(_htmx("portal:category_fields", "#extra-fields"))
        self.fields["subdistrict"].widget.attrs.update(_htmx("portal:places", "#place-lower"))
        self.fields["community"].widget.attrs.update(_htmx("portal:places", "#place-grid"))
        #: The resolved community/village (set by `clean`, or by `offer_places` from the code given).
        self.community_place: Place | None = None

        self.chosen_category: Category | None = self.categories.get(self._value("category"))
        if self.chosen_category is not None:
            for spec in self.catalog.fields.get(self.chosen_category.code, []):
                self.fields[EXTRA_PREFIX + spec.code] = _extra_field(spec)
        if not self.is_bound and not self.initial.get("key"):
            self.initial["key"] = str(uuid.uuid4())

    def _value(self, name: str) -> str:
        raw = self.data.get(name) if self.is_bound else self.initial.get(name)
        return str(raw or "").strip()

    # -- the place picker --------------------------------------------------------------------------------

    def chosen_subdistrict(self) -> Place | None:
        """The posted/initial sub-district, else the chosen community's, else the only one there is."""
        subdistricts = self.catalog.subdistricts
        by_code = {p.code: p for p in subdistricts}
        if self._value("subdistrict") in by_code:
            return by_code[self._value("subdistrict")]
        community = self.community_place or self._lookup_community()
        if community is not None:
            return self.catalog.subdistrict_paths.get(community.parent_path)
        return subdistricts[0] if len(subdistricts) == 1 else None

    def _lookup_community(self) -> Place | None:
        code = self._value("community")
        if not code:
            return None
        unit = self.catalog.units([code]).get(code)
        if unit is None or not self._is_public_community(unit):
            return None
        self.community_place = place_of(unit)
        return self.community_place

    def _is_public_community(self, unit: OrgUnit) -> bool:
        return (
            unit.is_active
            and unit.kind in COMMUNITY_KINDS
            and unit.path[: -OrgUnit.steplen] in self.catalog.subdistrict_paths
        )

    def offer_places(self, *, community: bool = True, grid: bool = True) -> None:
        """Fill the selects before the form is drawn: the public categories (grouped), every public
        sub-district, the communities/villages of the chosen one and the grids of the chosen community — never
        the units of other sub-districts."""
        self._choices("category", [("", _("请选择")), *self.catalog.groups])
        subdistricts = self.catalog.subdistricts
        chosen = self.chosen_subdistrict()
        if len(subdistricts) == 1:
            self._choices("subdistrict", [(p.code, p.name) for p in subdistricts])
        else:
            self._choices("subdistrict", [("", _("请选择")), *((p.code, p.name) for p in subdistricts)])
        if chosen is not None and not self._value("subdistrict"):
            self.initial["subdistrict"] = chosen.code
            if self.is_bound:  # show the derived sub-district as selected on the re-rendered page
                data = QueryDict(mutable=True)
                data.update(self.data)
                data["subdistrict"] = chosen.code
                self.data = data
        communities: list[Place] = []
        if community:
            if chosen is None:
                self._choices("community", [("", _("请先选择街道"))])
            else:
                communities = child_places(chosen, COMMUNITY_KINDS)
                self._choices("community", [("", _("请选择")), *((p.code, p.name) for p in communities)])
        if grid:
            place = self.community_place
            if place is None and community:
                place = next((p for p in communities if p.code == self._value("community")), None)
            elif place is None:
                place = self._lookup_community()
            if place is not None and chosen is not None and place.parent_path != chosen.path:
                place = None  # a community of another sub-district: its grids are not offered
            grids = child_places(place, GRID_KINDS) if place is not None else []
            self._choices("grid", [("", _("不清楚")), *((p.code, p.name) for p in grids)])

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        widget = self.fields[name].widget
        assert isinstance(widget, forms.Select)
        widget.choices = choices

    # -- validation --------------------------------------------------------------------------------------

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
        data["place"] = self._clean_place(data)
        return data

    def _clean_place(self, data: dict[str, Any]) -> OrgUnit | None:
        """The chosen grid, else the chosen community/village: one query for the submitted codes, each checked
        to be active, public, of the right kind and under the unit chosen above it."""
        sub_code, community_code, grid_code = (
            data.get(n) or "" for n in ("subdistrict", "community", "grid")
        )
        subdistrict = next((p for p in self.catalog.subdistricts if p.code == sub_code), None)
        if sub_code and subdistrict is None:
            self.add_error("subdistrict", _("所选街道不存在或已停用，请重新选择。"))
        if not community_code:
            return None
        units = self.catalog.units([community_code, grid_code])
        community = units.get(community_code)
        if community is None or not self._is_public_community(community):
            self.add_error("community", _("所选社区/村不存在或已停用，请重新选择。"))
            return None
        if subdistrict is not None and community.path[: -OrgUnit.steplen] != subdistrict.path:
            self.add_error("community", _("所选社区/村不属于所选街道。"))
            return None
        self.community_place = place_of(community)
        if not grid_code:
            return community
        grid = units.get(grid_code)
        if grid is None or not grid.is_active or grid.kind not in GRID_KINDS:
            self.add_error("grid", _("所选网格不存在或已停用，请重新选择。"))
            return None
        if grid.path[: -OrgUnit.steplen] != community.path:
            self.add_error("grid", _("所选网格不属于所选社区/村。"))
            return None
        return grid

    def extra_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith(EXTRA_PREFIX) and value not in (None, "", []):
                values[name[len(EXTRA_PREFIX) :]] = (
                    value.isoformat() if hasattr(value, "isoformat") else value
                )
        return values


def _htmx(url_name: str, target: str) -> dict[str, str]:
    return {"hx-get": _url(url_name), "hx-target": target, "hx-trigger": "change", "hx-swap": "innerHTML"}


@functools.cache
def _url(url_name: str) -> str:
    """The portal's own URLs, reversed once per process (every form built asked for three)."""
    return reverse(url_name)


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
