"""Routing: who should handle a case. The dispatch table (派单目录) maps category × area to a unit or
department; the most specific current rule wins (the case's category before its ancestors, the deepest area
first). With no rule, 属地管理: the community (or village) where the case is. A 检举控告 petition is
never routed to the unit or department it accuses: it goes one level up, to the sub-district's 信访办 if
there is one."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from jiedao.cases.models import Case, DispatchRule, PetitionType
from jiedao.core.models import Department, OrgUnit


@dataclass(frozen=True)
class Route:
    unit: OrgUnit | None
    department: Department | None
    rule: DispatchRule | None
    reason: str

    @property
    def target_name(self) -> str:
        return str(self.department or self.unit or "")


def current_rules(category_ids: list[int], unit: OrgUnit) -> list[DispatchRule]:
    return list(
        DispatchRule.objects.filter(
            category_id__in=category_ids, valid_to__isnull=True, org_path__in=OrgUnit.path_lineage(unit.path)
        ).select_related("target_unit", "target_department", "category", "org_unit")
    )


def locality(unit: OrgUnit) -> OrgUnit:
    """属地: the community or village containing `unit` (or the unit itself above that level)."""
    if unit.kind == OrgUnit.Kind.GRID:
        parent = OrgUnit.objects.get_parent(unit)
        if parent is not None:
            return parent
    return unit


def subdistrict_of(unit: OrgUnit) -> OrgUnit | None:
    """The sub-district the unit lies in (or is), in one query."""
    return (
        OrgUnit.objects.filter(path__in=OrgUnit.path_lineage(unit.path), kind=OrgUnit.Kind.SUBDISTRICT)
        .order_by("-depth")
        .first()
    )


def departments_for(case: Case) -> QuerySet[Department]:
    """The departments a case may be dispatched, co-assigned or whistled to: those of its sub-district.
    Whoever may dispatch the case may name any of them (a community's staff do not otherwise see the office's
    departments, which sit above them)."""
    root = subdistrict_of(case.org_unit) or case.org_unit
    return Department.objects.filter(is_active=True, org_unit__path__startswith=root.path).order_by(
        "sort_order", "name"
    )


def accuses(case: Case, unit: OrgUnit | None, department: Department | None) -> bool:
    """Would routing to this target send an accusation to the accused (or to a unit inside it)?"""
    if case.petition_type != PetitionType.ACCUSATION:
        return False
    if department is not None and case.accused_department_id == department.pk:
        return True
    if case.accused_unit is not None:
        # A department belongs to its unit: an accused sub-district's own offices are the accused too.
        place = unit if unit is not None else (department.org_unit if department is not None else None)
        return place is not None and place.path.startswith(case.accused_unit.path)
    return False


def check_target(case: Case, unit: OrgUnit | None, department: Department | None) -> None:
    """Refuse targets a case may not be dispatched to, with the reason."""
    if unit is None and department is None:
        raise ValidationError(_("请选择主办单位或主办科室。"))
    if accuses(case, unit, department):
        raise ValidationError(_("检举控告类信访件不得派给被检举控告的单位或科室。"))
    if unit is not None and department is None:
        location = case.org_unit.path
        if not (location.startswith(unit.path) or unit.path.startswith(location)):
            raise ValidationError(
                _("“%(unit)s”不在工单所在地“%(place)s”的上下级范围内，不能主办（属地管理）。")
                % {"unit": unit.name, "place": case.org_unit.name}
            )


def route(case: Case) -> Route:
    """The suggested lead unit or department for a case, with the reason in words."""
    lineage = case.category.lineage()
    rules = current_rules([c.pk for c in lineage], case.org_unit)
    order = {c.pk: i for i, c in enumerate(lineage)}
    rules.sort(key=lambda r: (order[r.category_id], -len(r.org_path)))
    for rule in rules:
        try:
            check_target(case, rule.target_unit, rule.target_department)
        except ValidationError:
            continue  # e.g. a rule for a whole community naming one grid: not for cases in its other grids
        return Route(
            rule.target_unit,
            rule.target_department,
            rule,
            _("派单目录 v%(v)s：%(cat)s · %(area)s")
            % {"v": rule.version, "cat": rule.category.name, "area": rule.org_unit.name},
        )
    local = locality(case.org_unit)
    if not accuses(case, local, None):
        return Route(local, None, None, _("属地管理：%(unit)s") % {"unit": local.name})
    # An accusation against the locality: one level up, to the sub-district's 信访办 when it has one.
    sub = subdistrict_of(case.org_unit)
    if sub is not None:
        office = Department.objects.filter(org_unit=sub, code="xinfang", is_active=True).first()
        if office is not None and not accuses(case, None, office):
            return Route(None, office, None, _("检举控告回避被检举单位：交%(dept)s") % {"dept": office.name})
        if not accuses(case, sub, None):
            return Route(sub, None, None, _("检举控告回避被检举单位：上交%(unit)s") % {"unit": sub.name})
    return Route(None, None, None, _("没有可用的派单对象，请人工派遣。"))
