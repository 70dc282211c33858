"""The edit forms of people and places. They only check and collect; `services` writes. Units, compounds,
buildings and households offered are the ones the user may change; an edit carries the version it started
from."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiedao.core.forms import StyledFormMixin, UnitChoiceField
from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Entrance,
    Household,
    Organisation,
    Resident,
    Tag,
)
from jiedao.people.services import unit_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class RecordForm(StyledFormMixin, forms.ModelForm):
    """A people/places record: the unit chosen among the user's, a hidden version for conflict detection."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_action = "place.change"

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        if "org_unit" in self.fields:
            field: forms.Field = UnitChoiceField(
                label=_("所属网格/社区"),
                queryset=unit_choices(user, self.change_action),
            )
            field.widget.attrs["class"] = "form-select"
            self.fields["org_unit"] = field
        for name, field in self.fields.items():
            if isinstance(field, forms.DateField):
                field.widget = DATE
                field.widget.attrs["class"] = "form-control"
            if isinstance(field, forms.ModelChoiceField) and name != "org_unit":
                field.queryset = self.limit(name, field.queryset)

    def limit(self, name: str, queryset: Any) -> Any:
        """Related records offered: those the user may change."""
        model = queryset.model
        if hasattr(model.objects, "visible_to"):
            return model.objects.visible_to(self.user, "change")
        return queryset

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


class CompoundForm(RecordForm):
    class Meta:
        model = Compound
        fields = [
            "org_unit",
            "name",
            "aliases",
            "kind",
            "address",
            "is_old",
            "property_company",
            "longitude",
            "latitude",
            "note",
        ]


class BuildingForm(RecordForm):
    class Meta:
        model = Building
        fields = [
            "compound",
            "name",
            "floors",
            "entrance_count",
            "year_built",
            "structure",
            "is_old",
            "address",
            "note",
        ]

    def clean_year_built(self) -> int | None:
        year = self.cleaned_data.get("year_built")
        if year is not None and not 1800 <= year <= timezone.localdate().year:
            raise forms.ValidationError(_("建成年份应在 1800 年到今年之间。"))
        return year


class EntranceForm(RecordForm):
    class Meta:
        model = Entrance
        fields = ["building", "name"]


class DwellingForm(RecordForm):
    class Meta:
        model = Dwelling
        fields = ["building", "entrance", "number", "floor", "area", "use"]


class HouseholdForm(RecordForm):
    change_action = "resident.change"

    class Meta:
        model = Household
        fields = ["org_unit", "number", "kind", "dwelling", "address", "note"]


class ResidentForm(RecordForm):
    """Identity number and phone are typed in clear and leave encrypted; an edit leaves them unchanged when
    the box stays empty (they are never put back into the page)."""

    change_action = "resident.change"
    id_number = forms.CharField(label=_("身份证号"), max_length=30, required=False)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)

    class Meta:
        model = Resident
        fields = [
            "org_unit",
            "name",
            "id_number",
            "phone",
            "birth_date",
            "sex",
            "ethnicity",
            "residence_type",
            "household",
            "relation",
            "dwelling",
            "address",
            "moved_in",
            "moved_out",
            "note",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name, mask in (("id_number", self.instance.id_mask), ("phone", self.instance.phone_mask)):
                self.fields[name].help_text = (
                    _("现为 %(mask)s；不修改请留空。") % {"mask": mask} if mask else _("未登记。")
                )
        self.fields["birth_date"].help_text = _("填写身份证号后自动取得。")
        self.fields["household"].widget = forms.NumberInput(attrs={"class": "form-control"})
        self.fields["household"].help_text = _("户的编号（在户的页面上）；留空则不归户。")
        self.fields["dwelling"].widget = forms.NumberInput(attrs={"class": "form-control"})
        self.fields["dwelling"].help_text = _("房屋编号（在房屋页面上）；留空则只填现住址。")

    def service_data(self) -> dict[str, Any]:
        data = super().service_data()
        for name in ("id_number", "phone"):
            if self.instance.pk and not data.get(name):
                data.pop(name, None)  # left empty on an edit: unchanged
        return data


class OrganisationForm(RecordForm):
    change_action = "organisation.change"

    class Meta:
        model = Organisation
        fields = [
            "org_unit",
            "name",
            "kind",
            "credit_code",
            "address",
            "compound",
            "industry",
            "contact_name",
            "phone",
            "employees",
            "is_active",
            "note",
        ]


class CareForm(StyledFormMixin, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = CareSubject
        fields = ["reason", "visit_every_days", "worker", "since", "until", "note"]
        widgets = {"since": DATE, "until": DATE}

    def __init__(self, *args: Any, unit: OrgUnit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        if not self.instance.pk:
            self.initial.setdefault("since", timezone.localdate())
            del self.fields["until"]
        worker = self.fields["worker"]
        assert isinstance(worker, forms.ModelChoiceField)
        lineage = OrgUnit.path_lineage(unit.path)
        members = Membership.objects.filter(
            is_active=True, role__in=[Role.GRID_WORKER, Role.COMMUNITY_STAFF]
        ).filter(Q(org_path__in=lineage) | Q(org_path__startswith=unit.path))
        worker.queryset = User.objects.filter(is_active=True, pk__in=members.values("user_id"))

    def clean_visit_every_days(self) -> int:
        days = self.cleaned_data["visit_every_days"]
        if not 1 <= days <= 366:
            raise forms.ValidationError(_("走访周期应在 1 到 366 天之间。"))
        return int(days)


class VisitForm(StyledFormMixin, forms.Form):
    visited_on = forms.DateField(label=_("走访日期"), widget=DATE)
    summary = forms.CharField(label=_("走访情况"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    photo = forms.ImageField(label=_("照片"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["photo"].widget.attrs.update({"accept": "image/*", "capture": "environment"})
        if not self.is_bound:
            self.initial["visited_on"] = timezone.localdate()

    def clean_photo(self) -> Any:
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > 10 * 1024 * 1024:
            raise forms.ValidationError(_("照片不能超过 10 MB。"))
        return photo


class TagForm(StyledFormMixin, forms.Form):
    tag = forms.ModelChoiceField(label=_("标签"), queryset=Tag.objects.none())
    start = forms.DateField(label=_("开始日期"), required=False, widget=DATE)
    end = forms.DateField(label=_("结束日期"), required=False, widget=DATE)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["tag"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Tag.objects.filter(is_active=True, min_age__isnull=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError(_("结束日期不能早于开始日期。"))
        return data


class MoveOutForm(StyledFormMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    moved_out = forms.DateField(label=_("迁出日期"), widget=DATE)
    note = forms.CharField(label=_("去向/说明"), max_length=200, required=False)
