"""Every change to the cases catalogue: categories and their extra fields, deadline policies, and the
versioned dispatch table (派单目录). Each function takes the acting user, checks the permission, changes rows
in a transaction and records a "case.catalog" audit event."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases.models import Category, CategoryField, DeadlinePolicy, DispatchRule, FieldType
from jiedao.cases.routing import subdistrict_of
from jiedao.core.models import Department, OrgUnit, User
from jiedao.core.permissions import require

CATEGORY_FIELDS = ("code", "name", "parent", "description", "keywords", "is_public", "is_hazard", "is_active")
FIELD_FIELDS = ("code", "label", "datatype", "required", "help_text", "choices", "sort_order")
POLICY_FIELDS = ("category", "priority", "amount", "unit", "response_hours", "remind_before_hours")


def _others(qs: Any, obj: Any) -> Any:
    """`qs` without `obj` (when it is saved already)."""
    return qs.exclude(pk=obj.pk) if obj is not None and obj.pk is not None else qs


def _event(actor: User, what: str, obj: Any, data: dict[str, Any]) -> None:
    record_event("case.catalog", actor=actor, obj=obj, data={"what": what, **data})


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a field value for the audit event."""
    if hasattr(value, "pk"):
        return str(value)
    return value


# ---------------------------------------------------------------------------------------------------------
# Categories and their extra fields


def save_category(actor: User, category: Category | None, **values: Any) -> Category:
    """Create (category=None) or change a category."""
    require(actor, "category.change")
    parent: Category | None = values.get("parent")
    if category is not None and parent is not None and any(n.pk == category.pk for n in parent.lineage()):
        raise ValidationError({"parent": _("上级类别不能是它自己或它的下级。")})
    code = values.get("code", category.code if category else "")
    if _others(Category.objects.filter(code=code), category).exists():
        raise ValidationError({"code": _("代码“%(code)s”已被其他类别使用。") % {"code": code}})
    with transaction.atomic():
        target = category or Category()
        before = {f: _plain(getattr(target, f)) for f in CATEGORY_FIELDS} if category else {}
        for name, value in values.items():
            if name in CATEGORY_FIELDS or name == "sort_order":
                setattr(target, name, value)
        target._history_user = actor  # type: ignore[attr-defined]
        target.save()
        after = {f: _plain(getattr(target, f)) for f in CATEGORY_FIELDS}
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        _event(
            actor, "category", target, {"code": target.code, "created": category is None, "changed": changed}
        )
    return target


def parse_choices(text: str) -> list[dict[str, str]]:
    """Lines "key=name" into the Open311 choice list; raises ValidationError naming bad lines."""
    choices: list[dict[str, str]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, name = line.partition("=")
        key, name = key.strip(), name.strip()
        if not sep or not key or not name:
            errors.append(_("第 %(n)s 行应写成“代码=名称”。") % {"n": number})
        elif key in seen:
            errors.append(_("第 %(n)s 行的代码“%(key)s”重复。") % {"n": number, "key": key})
        else:
            seen.add(key)
            choices.append({"key": key, "name": name})
    if errors:
        raise ValidationError(errors)
    return choices


def choices_text(choices: list[dict[str, Any]]) -> str:
    return "\n".join(f"{c.get('key', '')}={c.get('name', '')}" for c in choices or [])


def save_field(actor: User, category: Category, field: CategoryField | None, **values: Any) -> CategoryField:
    """Create (field=None) or change an extra field of a category."""
    require(actor, "category.change")
    datatype = values.get("datatype", field.datatype if field else FieldType.STRING)
    choices = values.get("choices", field.choices if field else [])
    if datatype in (FieldType.SINGLE, FieldType.MULTI) and not choices:
        raise ValidationError({"choices": _("单选和多选字段须至少有一个选项。")})
    if datatype not in (FieldType.SINGLE, FieldType.MULTI):
        values["choices"] = []
    code = values.get("code", field.code if field else "")
    clash = _others(CategoryField.objects.filter(category=category, code=code), field)
    if clash.exists():
        raise ValidationError({"code": _("该类别已有代码为“%(code)s”的字段。") % {"code": code}})
    with transaction.atomic():
        target = field or CategoryField(category=category)
        for name, value in values.items():
            if name in FIELD_FIELDS:
                setattr(target, name, value)
        target._history_user = actor  # type: ignore[attr-defined]
        target.save()
        _event(
            actor,
            "field",
            category,
            {"category": category.code, "field": target.code, "created": field is None},
        )
    return target


# ---------------------------------------------------------------------------------------------------------
# Deadline policies


def save_policy(actor: User, policy: DeadlinePolicy | None, **values: Any) -> DeadlinePolicy:
    """Create (policy=None) or change a deadline policy (category × priority)."""
    require(actor, "category.change")
    category = values.get("category", policy.category if policy else None)
    priority = values.get("priority", policy.priority if policy else "")
    clash = _others(DeadlinePolicy.objects.filter(category=category, priority=priority), policy)
    if clash.exists():
        raise ValidationError(_("该类别和紧急程度已有办理时限，请修改原有的一条。"))
    if values.get("amount", 1) < 1:
        raise ValidationError({"amount": _("时限须大于 0。")})
    with transaction.atomic():
        target = policy or DeadlinePolicy()
        before = {f: _plain(getattr(target, f)) for f in POLICY_FIELDS} if policy else {}
        for name, value in values.items():
            if name in POLICY_FIELDS:
                setattr(target, name, value)
        target._history_user = actor  # type: ignore[attr-defined]
        target.save()
        after = {f: _plain(getattr(target, f)) for f in POLICY_FIELDS}
        _event(
            actor,
            "policy",
            None,
            {"policy": str(target), "created": policy is None, "before": before, "after": after},
        )
    return target


# ---------------------------------------------------------------------------------------------------------
# The dispatch table


def _check_target(area: OrgUnit, unit: OrgUnit | None, department: Department | None) -> None:
    if (unit is None) == (department is None):
        raise ValidationError(_("请在承办单位和承办科室中选择且只选择一个。"))
    sub = subdistrict_of(area)
    if sub is None:
        raise ValidationError({"area": _("派单区域须是街道或其下的社区、网格。")})
    if unit is not None and not unit.path.startswith(sub.path):
        raise ValidationError(
            {"target_unit": _("承办单位须在“%(sub)s”之内。") % {"sub": sub.name}},
        )
    if department is not None and not sub.path.startswith(department.org_path):
        raise ValidationError(
            {"target_department": _("承办科室须属于“%(sub)s”。") % {"sub": sub.name}},
        )


def _rule_data(rule: DispatchRule) -> dict[str, Any]:
    return {
        "category": rule.category.code,
        "area": rule.org_unit.code,
        "target": str(rule.target_department or rule.target_unit or ""),
        "version": rule.version,
    }


def add_rule(
    actor: User,
    *,
    category: Category,
    area: OrgUnit,
    target_unit: OrgUnit | None = None,
    target_department: Department | None = None,
    note: str = "",
) -> DispatchRule:
    """A new row of the dispatch table: cases of `category` under `area` go to the target."""
    require(actor, "dispatch.change", area)
    _check_target(area, target_unit, target_department)
    with transaction.atomic():
        current = DispatchRule.objects.select_for_update().filter(
            category=category, org_unit=area, valid_to__isnull=True
        )
        if current.exists():
            raise ValidationError(
                _("“%(cat)s · %(area)s”已有现行规则，请修改那一条。")
                % {"cat": category.name, "area": area.name}
            )
        rule = DispatchRule.objects.create(
            category=category,
            org_unit=area,
            target_unit=target_unit,
            target_department=target_department,
            version=1,
            note=note[:200],
            created_by=actor,
        )
        _event(actor, "rule_add", rule, _rule_data(rule))
    return rule


def change_rule(
    actor: User,
    rule: DispatchRule,
    *,
    target_unit: OrgUnit | None,
    target_department: Department | None,
    note: str = "",
) -> DispatchRule:
    """A new version of a current rule: the old row is closed (valid_to=now) and a new row with the next
    version takes its place, so cases routed by the old one keep pointing at it."""
    require(actor, "dispatch.change", rule)
    _check_target(rule.org_unit, target_unit, target_department)
    with transaction.atomic():
        old = DispatchRule.objects.select_for_update().select_related("category", "org_unit").get(pk=rule.pk)
        if old.valid_to is not None:
            raise ValidationError(_("这条规则已被修改或停用，请刷新后再操作。"))
        now = timezone.now()
        old.valid_to = now
        old._history_user = actor  # type: ignore[attr-defined]
        old.save(update_fields=["valid_to"])
        new = DispatchRule.objects.create(
            category=old.category,
            org_unit=old.org_unit,
            target_unit=target_unit,
            target_department=target_department,
            version=old.version + 1,
            note=note[:200],
            created_by=actor,
        )
        _event(actor, "rule_change", new, {**_rule_data(new), "before": _rule_data(old)})
    return new


def retire_rule(actor: User, rule: DispatchRule) -> DispatchRule:
    """Stop using a rule (cases then fall back to a broader rule or 属地管理)."""
    require(actor, "dispatch.change", rule)
    with transaction.atomic():
        old = DispatchRule.objects.select_for_update().select_related("category", "org_unit").get(pk=rule.pk)
        if old.valid_to is not None:
            raise ValidationError(_("这条规则已被修改或停用，请刷新后再操作。"))
        old.valid_to = timezone.now()
        old._history_user = actor  # type: ignore[attr-defined]
        old.save(update_fields=["valid_to"])
        _event(actor, "rule_retire", old, _rule_data(old))
    return old
