"""The people module's lists (台账) as data: for each kind of record its FilterSet, form, the columns a list
page and its .xlsx export show, and the actions that guard them. The views are written once over these.

Personal columns are masked values (`id_mask`, `phone_mask`); an export with "reveal" asks
`services.clear_values` for the clear ones, row by row, only for a user who may reveal them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import django_filters
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from jiedao.people import filters, forms
from jiedao.people.care import days_since_visit
from jiedao.people.models import (
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Household,
    Organisation,
    Resident,
)


@dataclass(frozen=True)
class Column:
    label: str | Promise
    value: Callable[[Any], Any]
    #: Shown on the list page (every column goes into the export).
    listed: bool = True
    #: The detail page link goes on this column.
    link: bool = False


@dataclass(frozen=True)
class Ledger:
    key: str
    model: type[models.Model]
    title: str | Promise
    icon: str
    filterset: type[django_filters.FilterSet]
    form: type[forms.RecordForm] | None
    columns: list[Column]
    related: tuple[str, ...] = ()
    order: tuple[str, ...] = ("org_path", "id")
    filter_fields: list[str] = field(default_factory=lambda: ["q", "unit"])

    @property
    def label(self) -> str:
        return str(getattr(self.model, "scope_label", self.model._meta.model_name))

    @property
    def view_action(self) -> str:
        return f"{self.label}.view"

    @property
    def change_action(self) -> str:
        return f"{self.label}.change"

    @property
    def export_action(self) -> str:
        # residents and households: resident.export; places and organisations: their view action
        return "resident.export" if self.label == "resident" else self.view_action

    # URL names (people:<key>_list …) for the templates' {% url %}
    list_name = property(lambda self: f"people:{self.key}_list")
    export_name = property(lambda self: f"people:{self.key}_export")
    create_name = property(lambda self: f"people:{self.key}_create")
    detail_name = property(lambda self: f"people:{self.key}_detail")
    edit_name = property(lambda self: f"people:{self.key}_edit")

    @property
    def verbose_name(self) -> str:
        return str(self.model._meta.verbose_name)


def _display(name: str) -> Callable[[Any], Any]:
    return lambda obj: getattr(obj, f"get_{name}_display")()


def _yes(value: bool) -> str:
    return str(_("是")) if value else ""


def _age(obj: Resident) -> int | str:
    age = obj.age_on(timezone.localdate())
    return "" if age is None else age


def _unit(obj: Any) -> str:
    return obj.org_unit.display_name


RESIDENT_COLUMNS = [
    Column(_("姓名"), lambda r: r.name, link=True),
    Column(_("性别"), lambda r: r.get_sex_display()),
    Column(_("年龄"), _age),
    Column(_("出生日期"), lambda r: r.birth_date, listed=False),
    Column(_("身份证号"), lambda r: r.id_mask),
    Column(_("联系电话"), lambda r: r.phone_mask),
    Column(_("人口类型"), _display("residence_type")),
    Column(_("与户主关系"), _display("relation"), listed=False),
    Column(_("民族"), lambda r: r.ethnicity, listed=False),
    Column(_("现住址"), lambda r: r.address),
    Column(_("所属网格"), _unit),
    Column(_("迁入日期"), lambda r: r.moved_in, listed=False),
    Column(_("迁出日期"), lambda r: r.moved_out, listed=False),
    Column(_("备注"), lambda r: r.note, listed=False),
]

LEDGERS: dict[str, Ledger] = {
    ledger.key: ledger
    for ledger in [
        Ledger(
            "resident",
            Resident,
            _("居民"),
            "users",
            filters.ResidentFilterSet,
            forms.ResidentForm,
            RESIDENT_COLUMNS,
            related=("org_unit",),
            order=("org_path", "name", "id"),
            filter_fields=["q", "unit", "tag", "residence_type", "sex", "age_min", "age_max", "state"],
        ),
        Ledger(
            "household",
            Household,
            _("户"),
            "home",
            filters.HouseholdFilterSet,
            forms.HouseholdForm,
            [
                Column(_("住址"), lambda h: str(h), link=True),
                Column(_("户号"), lambda h: h.number),
                Column(_("户别"), _display("kind")),
                Column(_("户主"), lambda h: h.head.name if h.head else ""),
                Column(_("所属网格"), _unit),
            ],
            related=("org_unit", "head"),
            order=("org_path", "address", "id"),
        ),
        Ledger(
            "compound",
            Compound,
            _("小区/楼院"),
            "building-community",
            filters.CompoundFilterSet,
            forms.CompoundForm,
            [
                Column(_("名称"), lambda c: c.name, link=True),
                Column(_("类型"), _display("kind")),
                Column(_("标准地址"), lambda c: c.address),
                Column(_("老旧小区"), lambda c: _yes(c.is_old)),
                Column(_("物业公司"), lambda c: c.property_company),
                Column(_("所属网格"), _unit),
                Column(_("别名"), lambda c: c.aliases, listed=False),
            ],
            related=("org_unit",),
            order=("org_path", "name"),
            filter_fields=["q", "unit", "kind", "is_old"],
        ),
        Ledger(
            "building",
            Building,
            _("楼栋"),
            "building",
            filters.BuildingFilterSet,
            forms.BuildingForm,
            [
                Column(_("楼栋"), lambda b: str(b), link=True),
                Column(_("层数"), lambda b: b.floors),
                Column(_("单元数"), lambda b: b.entrance_count),
                Column(_("建成年份"), lambda b: b.year_built),
                Column(_("结构"), _display("structure")),
                Column(_("老旧楼栋"), lambda b: _yes(b.is_old)),
                Column(_("所属网格"), _unit),
            ],
            related=("org_unit", "compound"),
            order=("org_path", "compound__name", "name"),
            filter_fields=["q", "unit", "structure", "is_old", "built_before"],
        ),
        Ledger(
            "dwelling",
            Dwelling,
            _("房屋"),
            "door",
            filters.DwellingFilterSet,
            forms.DwellingForm,
            [
                Column(_("标准地址"), lambda d: d.address, link=True),
                Column(_("楼层"), lambda d: d.floor),
                Column(_("面积 (平方米)"), lambda d: d.area),
                Column(_("用途"), _display("use")),
                Column(_("所属网格"), _unit),
            ],
            related=("org_unit",),
            order=("org_path", "address"),
            filter_fields=["q", "unit", "use"],
        ),
        Ledger(
            "organisation",
            Organisation,
            _("单位组织"),
            "building-skyscraper",
            filters.OrganisationFilterSet,
            forms.OrganisationForm,
            [
                Column(_("名称"), lambda o: o.name, link=True),
                Column(_("类型"), _display("kind")),
                Column(_("统一社会信用代码"), lambda o: o.credit_code),
                Column(_("地址"), lambda o: o.address),
                Column(_("行业"), lambda o: o.industry),
                Column(_("联系人"), lambda o: o.contact_name, listed=False),
                Column(_("办公电话"), lambda o: o.phone, listed=False),
                Column(_("从业人数"), lambda o: o.employees, listed=False),
                Column(_("所属网格"), _unit),
                Column(_("在册"), lambda o: _yes(o.is_active), listed=False),
            ],
            related=("org_unit",),
            order=("org_path", "name"),
            filter_fields=["q", "unit", "kind", "is_active"],
        ),
        Ledger(
            "care",
            CareSubject,
            _("关爱对象"),
            "heart-handshake",
            filters.CareFilterSet,
            None,
            [
                Column(_("姓名"), lambda c: c.resident.name, link=True),
                Column(_("关爱原因"), lambda c: c.reason),
                Column(_("走访周期（天）"), lambda c: c.visit_every_days),
                Column(_("负责网格员"), lambda c: str(c.worker) if c.worker else ""),
                Column(_("最近走访"), lambda c: c.last_visit_at),
                Column(_("未走访天数"), lambda c: days_since_visit(c, timezone.localdate())),
                Column(_("所属网格"), _unit),
                Column(_("列入日期"), lambda c: c.since, listed=False),
                Column(_("移出日期"), lambda c: c.until, listed=False),
            ],
            related=("org_unit", "resident", "worker"),
            order=("due_at", "id"),
            filter_fields=["q", "unit", "overdue", "state", "mine"],
        ),
    ]
}

#: The place kinds, in the order the places page's tabs show them.
PLACE_KEYS = ["compound", "building", "dwelling"]


def get(key: str) -> Ledger:
    return LEDGERS[key]
