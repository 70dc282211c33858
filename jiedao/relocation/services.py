"""Every change to expropriation data goes through these functions. Each takes the acting user, checks the
permission (`rules`), runs in a transaction, compares the version the user saw where two people may edit one
household, writes an audit event and sends notifications after commit. Views and the API only parse input."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.audit.services import record_event
from jiedao.cases.uploads import CheckedUpload
from jiedao.core.concurrency import DOUBLE_SUBMIT_SECONDS, ConflictError
from jiedao.core.models import DueState, OrgUnit, User
from jiedao.core.permissions import can, require
from jiedao.core.privacy import decrypt, encrypt, mask_phone, normalise_phone, valid_phone
from jiedao.relocation import rules
from jiedao.relocation.models import (
    PHONE_CONTEXT,
    STAGE_DATE_FIELD,
    STAGE_ORDER,
    DocumentKind,
    ExpropriationHousehold,
    ExpropriationProject,
    HouseholdDocument,
    ReminderStatus,
    Stage,
    StageChange,
    Team,
    Visit,
    VisitReminder,
    stage_index,
)

#: A reminder for a day rings at this hour (local time).
REMINDER_HOUR = 8
REMINDER_MINUTE = 30

#: The checklist a new project starts with: (name, stage from which it is required; "" = optional).
DEFAULT_CHECKLIST: list[tuple[str, str]] = [
    ("身份证明及户口簿", Stage.VALUATION),
    ("产权证明", Stage.VALUATION),
    ("评估报告", Stage.NEGOTIATION),
    ("补偿安置协议", Stage.SIGNED),
    ("腾房确认书", Stage.VACATED),
    ("拆除验收单", Stage.DEMOLISHED),
    ("现场照片", ""),
]


# ---------------------------------------------------------------------------------------------------------
# Helpers


def today() -> date:
    return timezone.localdate()


def _forbid(action: str) -> None:
    raise PermissionDenied(action)


def phone_columns(raw: str) -> tuple[str, str]:
    """(token, mask) of a phone typed by a person; ValidationError with a message they can act on."""
    text = normalise_phone(raw or "")
    if not text:
        return "", ""
    if not valid_phone(text):
        raise ValidationError(
            {"phone": _("电话号码“%(phone)s”格式不对：手机为 11 位，座机为区号加号码。") % {"phone": text}}
        )
    return encrypt(text, PHONE_CONTEXT), mask_phone(text)


def _user_label(user: Any) -> str:
    return str(user)[:80] if user is not None else ""


def _check_staff(project: ExpropriationProject, team: Team | None, staff: User | None) -> None:
    errors: dict[str, str] = {}
    if team is not None and team.project_id != project.pk:
        errors["team"] = _("工作组“%(team)s”不属于本项目。") % {"team": team.name}
    elif staff is not None:
        if not staff.is_active:
            errors["staff"] = _("%(user)s 的账号已停用，不能包户。") % {"user": staff}
        elif (
            team is not None and staff.pk != team.leader_id and not team.members.filter(pk=staff.pk).exists()
        ):
            errors["staff"] = _("%(user)s 不是“%(team)s”的成员，请先把他加入该组。") % {
                "user": staff,
                "team": team.name,
            }
        elif team is None and not rules.participates(staff, project):
            errors["staff"] = _("%(user)s 不在本项目的工作组中。") % {"user": staff}
    if errors:
        raise ValidationError(errors)


# ---------------------------------------------------------------------------------------------------------
# Projects, teams, checklist


def create_project(
    actor: User,
    *,
    org_unit: OrgUnit,
    name: str,
    leader: User,
    start_date: date,
    target_date: date | None = None,
    target_signed: int = 0,
    target_vacated: int = 0,
    description: str = "",
) -> ExpropriationProject:
    require(actor, "relocation.manage", org_unit)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("请填写项目名称。")})
    if not leader.is_active or not can(leader, "relocation.view", org_unit):
        raise ValidationError({"leader": _("%(user)s 看不到该单元的征收项目，不能分包。") % {"user": leader}})
    if target_date is not None and target_date < start_date:
        raise ValidationError({"target_date": _("目标日期不能早于启动日期。")})
    with transaction.atomic():
        project = ExpropriationProject(
            org_unit=org_unit,
            name=name,
            leader=leader,
            start_date=start_date,
            target_date=target_date,
            target_signed=target_signed,
            target_vacated=target_vacated,
            description=description,
        )
        project._history_user = actor  # type: ignore[attr-defined]
        project.save()
        DocumentKind.objects.bulk_create(
            DocumentKind(project=project, name=n, required_stage=s, sort_order=i * 10)
            for i, (n, s) in enumerate(DEFAULT_CHECKLIST, start=1)
        )
        record_event("relocation.project", actor=actor, obj=project, data={"name": name, "created": True})
    return project


PROJECT_FIELDS = (
    "name",
    "description",
    "leader",
    "start_date",
    "target_date",
    "target_signed",
    "target_vacated",
)


def update_project(
    actor: User, project: ExpropriationProject, *, version: int | None, **fields: Any
) -> ExpropriationProject:
    if not rules.may_manage(actor, project):
        _forbid("relocation.manage")
    with transaction.atomic():
        current = ExpropriationProject.objects.select_for_update().get(pk=project.pk)
        if version is not None and current.version != version:
            raise ConflictError(_("项目已被他人修改，请刷新后再改。"))
        changed = {}
        for key, value in fields.items():
            if key not in PROJECT_FIELDS:
                raise ValueError(key)
            if getattr(current, key) != value:
                changed[key] = str(value)
                setattr(current, key, value)
        if current.target_date is not None and current.target_date < current.start_date:
            raise ValidationError({"target_date": _("目标日期不能早于启动日期。")})
        if not changed:
            return current
        current.version += 1
        current._history_user = actor  # type: ignore[attr-defined]
        current.save()
        record_event("relocation.project", actor=actor, obj=current, data={"changed": changed})
    return current


def save_team(
    actor: User,
    project: ExpropriationProject,
    *,
    name: str,
    leader: User,
    members: Iterable[User],
    team: Team | None = None,
    sort_order: int = 0,
) -> Team:
    if not rules.may_manage(actor, project):
        _forbid("relocation.manage")
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("请填写组名。")})
    members = list(members)
    inactive = [u for u in [leader, *members] if not u.is_active]
    if inactive:
        raise ValidationError({"members": _("%(user)s 的账号已停用。") % {"user": inactive[0]}})
    clash = Team.objects.filter(project=project, name=name)
    if team is not None:
        clash = clash.exclude(pk=team.pk)
    if clash.exists():
        raise ValidationError({"name": _("本项目已有名为“%(name)s”的工作组。") % {"name": name}})
    with transaction.atomic():
        if team is None:
            team = Team(project=project)
        elif team.project_id != project.pk:
            raise ValidationError(_("工作组不属于本项目。"))
        team.name, team.leader, team.sort_order = name, leader, sort_order
        team._history_user = actor  # type: ignore[attr-defined]
        team.save()
        team.members.set(members)
        record_event(
            "relocation.team",
            actor=actor,
            obj=project,
            data={"team": name, "leader": leader.pk, "members": sorted(u.pk for u in members)},
        )
    for user in [leader, *members]:
        rules.forget(user)
    return team


def save_document_kind(
    actor: User,
    project: ExpropriationProject,
    *,
    name: str,
    required_stage: str = "",
    sort_order: int = 0,
    kind: DocumentKind | None = None,
) -> DocumentKind:
    """Add or change a checklist item; every household's count of missing documents follows."""
    if not rules.may_manage(actor, project):
        _forbid("relocation.manage")
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("请填写材料名称。")})
    if required_stage and required_stage not in STAGE_ORDER:
        raise ValidationError({"required_stage": _("环节不对。")})
    clash = DocumentKind.objects.filter(project=project, name=name)
    if kind is not None:
        clash = clash.exclude(pk=kind.pk)
    if clash.exists():
        raise ValidationError({"name": _("清单里已有“%(name)s”。") % {"name": name}})
    with transaction.atomic():
        if kind is None:
            kind = DocumentKind(project=project)
        kind.name, kind.required_stage, kind.sort_order = name, required_stage, sort_order
        kind.save()
        refresh_missing_all(project)
        record_event(
            "relocation.checklist",
            actor=actor,
            obj=project,
            data={"kind": name, "required_stage": required_stage},
        )
    return kind


# ---------------------------------------------------------------------------------------------------------
# The document checklist


def required_kinds(kinds: Sequence[DocumentKind], stage: str) -> list[DocumentKind]:
    """The checklist items that must be in the folder to enter `stage`."""
    limit = stage_index(stage)
    return [k for k in kinds if k.required_stage and stage_index(k.required_stage) <= limit]


def next_stage(stage: str) -> str | None:
    i = stage_index(stage)
    return STAGE_ORDER[i + 1] if i + 1 < len(STAGE_ORDER) else None


def missing_kinds(
    household: ExpropriationHousehold, kinds: Sequence[DocumentKind] | None = None
) -> list[DocumentKind]:
    """Required items not in the folder, for where the household stands and for its next step."""
    if kinds is None:
        kinds = list(DocumentKind.objects.filter(project_id=household.project_id))
    present = set(HouseholdDocument.objects.filter(household=household).values_list("kind_id", flat=True))
    horizon = next_stage(household.stage) or household.stage
    return [k for k in required_kinds(kinds, horizon) if k.pk not in present]


def refresh_missing(household: ExpropriationHousehold) -> int:
    """Recount the household's missing documents from what is stored (its stage as saved, its folder)."""
    stage = ExpropriationHousehold.objects.filter(pk=household.pk).values_list("stage", flat=True).get()
    household.stage = stage
    count = len(missing_kinds(household))
    ExpropriationHousehold.objects.filter(pk=household.pk).exclude(missing_documents=count).update(
        missing_documents=count
    )
    household.missing_documents = count
    return count


def refresh_missing_all(project: ExpropriationProject) -> None:
    """Recount every household of a project (after its checklist changed): one pass, grouped by stage."""
    kinds = list(DocumentKind.objects.filter(project=project))
    present: dict[int, set[int]] = {}
    for household_id, kind_id in HouseholdDocument.objects.filter(household__project=project).values_list(
        "household_id", "kind_id"
    ):
        present.setdefault(household_id, set()).add(kind_id)
    by_count: dict[int, list[int]] = {}
    for pk, stage in ExpropriationHousehold.objects.filter(project=project).values_list("pk", "stage"):
        needed = required_kinds(kinds, next_stage(stage) or stage)
        count = sum(1 for k in needed if k.pk not in present.get(pk, set()))
        by_count.setdefault(count, []).append(pk)
    for count, pks in by_count.items():
        for start in range(0, len(pks), 500):
            ExpropriationHousehold.objects.filter(pk__in=pks[start : start + 500]).exclude(
                missing_documents=count
            ).update(missing_documents=count)


# ---------------------------------------------------------------------------------------------------------
# Households

HOUSEHOLD_FIELDS = ("owner_name", "address", "area", "valuation", "team", "staff", "note")


def _clean_household(project: ExpropriationProject, values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    if not str(values.get("owner_name") or "").strip():
        errors["owner_name"] = _("请填写产权人。")
    for key in ("area", "valuation"):
        value = values.get(key)
        if value is not None and Decimal(value) < 0:
            errors[key] = _("不能为负数。")
    if errors:
        raise ValidationError(errors)
    _check_staff(project, values.get("team"), values.get("staff"))


def create_household(
    actor: User,
    project: ExpropriationProject,
    *,
    number: str,
    phone: str = "",
    surveyed_on: date | None = None,
    **fields: Any,
) -> ExpropriationHousehold:
    if not rules.may_manage(actor, project):
        _forbid("relocation.manage")
    number = number.strip()
    if not number:
        raise ValidationError({"number": _("请填写户号。")})
    if ExpropriationHousehold.objects.filter(project=project, number=number).exists():
        raise ValidationError({"number": _("本项目已有户号 %(number)s。") % {"number": number}})
    for key in fields:
        if key not in HOUSEHOLD_FIELDS:
            raise ValueError(key)
    _clean_household(project, fields)
    token, mask = phone_columns(phone)
    with transaction.atomic():
        household = ExpropriationHousehold(
            project=project,
            org_unit_id=project.org_unit_id,
            number=number,
            phone_token=token,
            phone_mask=mask,
            surveyed_on=surveyed_on or today(),
            **fields,
        )
        household.org_path = project.org_path
        household._history_user = actor  # type: ignore[attr-defined]
        household.save()
        refresh_missing(household)
        record_event(
            "relocation.household", actor=actor, obj=household, data={"number": number, "created": True}
        )
    return household


def _lock(household: ExpropriationHousehold, version: int | None) -> ExpropriationHousehold:
    current = (
        ExpropriationHousehold.objects.select_for_update(of=("self",))
        .select_related("project", "team", "staff")
        .get(pk=household.pk)
    )
    if version is not None and current.version != version:
        raise ConflictError(
            _(
                "%(household)s 已被他人更新（您看到的是第 %(mine)s 版，当前是第 %(now)s 版）。"
                "请刷新页面查看最新情况后再操作。"
            )
            % {"household": current, "mine": version, "now": current.version}
        )
    return current


def _save(household: ExpropriationHousehold, actor: User) -> None:
    household.version += 1
    household._history_user = actor  # type: ignore[attr-defined]
    household.save()


def update_household(
    actor: User,
    household: ExpropriationHousehold,
    *,
    version: int | None,
    phone: str | None = None,
    **fields: Any,
) -> ExpropriationHousehold:
    """Change the household's particulars. Team and 包户人 are assigned by the managers; the people working on
    the household may correct the rest (the valuation once the report comes, the owner's phone …)."""
    project = household.project
    manager = rules.may_manage(actor, project)
    if not manager and not rules.may_work(actor, household):
        _forbid("relocation.work")
    for key in fields:
        if key not in HOUSEHOLD_FIELDS:
            raise ValueError(key)
    with transaction.atomic():
        current = _lock(household, version)
        reassigning = any(
            k in fields and getattr(current, f"{k}_id") != getattr(fields[k], "pk", None)
            for k in ("team", "staff")
        )
        if reassigning and not manager:
            _forbid("relocation.manage")
        merged = {k: fields.get(k, getattr(current, k)) for k in HOUSEHOLD_FIELDS}
        _clean_household(project, merged)
        if merged["valuation"] is None and stage_index(current.stage) >= stage_index(Stage.NEGOTIATION):
            raise ValidationError({"valuation": _("已进入协商环节，评估金额不能清空。")})
        changed: dict[str, str] = {}
        for key, value in fields.items():
            if getattr(current, key) != value:
                changed[key] = str(value) if key != "note" else "…"
                setattr(current, key, value)
        if phone is not None:
            token, mask = phone_columns(phone)
            if mask != current.phone_mask or (token == "") != (current.phone_token == ""):
                current.phone_token, current.phone_mask = token, mask
                changed["phone"] = mask
        if not changed:
            return current
        _save(current, actor)
        record_event("relocation.household", actor=actor, obj=current, data={"changed": changed})
    return current


def reveal_phone(actor: User, household: ExpropriationHousehold, request: HttpRequest | None = None) -> str:
    if not rules.may_work(actor, household):
        _forbid("relocation.reveal")
    value = decrypt(household.phone_token, PHONE_CONTEXT)
    record_event(
        "relocation.reveal",
        actor=actor,
        obj=household,
        data={"masked": household.phone_mask},
        request=request,
    )
    return value


# ---------------------------------------------------------------------------------------------------------
# The stage pipeline


def refusal(
    user: Any, household: ExpropriationHousehold, *, kinds: Sequence[DocumentKind] | None = None
) -> str:
    """Why `user` may not move the household one step forward now ('' when they may)."""
    target = next_stage(household.stage)
    if target is None:
        return _("已是最后一个环节（拆除）。")
    if not rules.may_work(user, household):
        return _("只有包户人、本组成员、项目分包领导和街道领导可以推进。")
    if target == Stage.NEGOTIATION and household.valuation is None:
        return _("请先填写评估金额，再进入协商。")
    missing = [
        k for k in missing_kinds(household, kinds) if stage_index(k.required_stage) <= stage_index(target)
    ]
    if missing:
        return _("进入“%(stage)s”前还缺材料：%(items)s。") % {
            "stage": Stage(target).label,
            "items": "、".join(k.name for k in missing),
        }
    return ""


def _check_date(household: ExpropriationHousehold, on: date) -> None:
    if on > today():
        raise ValidationError({"on": _("日期不能晚于今天。")})
    reached = household.stage_date(household.stage)
    if reached is not None and on < reached:
        raise ValidationError(
            {"on": _("日期不能早于上一环节的日期 %(date)s。") % {"date": reached.isoformat()}}
        )


def _recent_same(household: ExpropriationHousehold, actor: User, to_stage: str) -> bool:
    last = household.stage_changes.order_by("-created_at", "-id").first()
    return (
        last is not None
        and last.actor_id == actor.pk
        and last.to_stage == to_stage
        and last.created_at >= timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
    )


def advance(
    actor: User, household: ExpropriationHousehold, *, version: int | None, on: date | None = None
) -> ExpropriationHousehold:
    """Move the household one stage forward, recording the date it was reached."""
    on = on or today()
    with transaction.atomic():
        current = _lock(household, None)
        if version is not None and current.version != version:
            # The same step by the same person a moment ago: a double submit, answered as done.
            if current.version == version + 1 and _recent_same(current, actor, current.stage):
                return current
            _lock(household, version)
        target = next_stage(current.stage)
        if not rules.may_work(actor, current):
            _forbid("relocation.work")
        reason = refusal(actor, current)
        if reason:
            raise ValidationError(reason)
        assert target is not None
        _check_date(current, on)
        source = current.stage
        current.stage = target
        setattr(current, STAGE_DATE_FIELD[target], on)
        _save(current, actor)
        StageChange.objects.create(
            household=current, from_stage=source, to_stage=target, forward=True, on=on, actor=actor
        )
        refresh_missing(current)
        record_event(
            "relocation.stage",
            actor=actor,
            obj=current,
            data={"from": source, "to": target, "on": on.isoformat()},
        )
        _notify_progress(current, actor, target)
    return current


def step_back(
    actor: User, household: ExpropriationHousehold, *, version: int | None, to_stage: str, reason: str
) -> ExpropriationHousehold:
    """Move the household back to an earlier stage (an agreement rescinded, a valuation redone …); the dates
    of the stages it leaves are cleared, so the board no longer counts them."""
    reason = reason.strip()
    with transaction.atomic():
        current = _lock(household, version)
        if not rules.may_step_back(actor, current):
            _forbid("relocation.manage")
        if to_stage not in STAGE_ORDER or stage_index(to_stage) >= stage_index(current.stage):
            raise ValidationError({"to_stage": _("只能退回到之前的环节。")})
        if not reason:
            raise ValidationError({"reason": _("退回必须说明原因。")})
        source = current.stage
        for stage in STAGE_ORDER[stage_index(to_stage) + 1 :]:
            setattr(current, STAGE_DATE_FIELD[stage], None)
        current.stage = to_stage
        _save(current, actor)
        StageChange.objects.create(
            household=current,
            from_stage=source,
            to_stage=to_stage,
            forward=False,
            on=today(),
            reason=reason,
            actor=actor,
        )
        refresh_missing(current)
        record_event(
            "relocation.stage_back",
            actor=actor,
            obj=current,
            data={"from": source, "to": to_stage, "reason": reason},
        )
        people = [u for u in (current.staff, current.project.leader) if u is not None and u.pk != actor.pk]
        _notify(
            people,
            _("%(household)s 退回到“%(stage)s”") % {"household": current, "stage": Stage(to_stage).label},
            reason,
            current,
        )
    return current


def _notify(users: Sequence[User], title: str, body: str, household: ExpropriationHousehold) -> None:
    from jiedao.notifications.services import notify

    users = list({u.pk: u for u in users if u.is_active}.values())
    if users:
        notify(users, title=title[:200], body=body, url=household_url(household), kind="relocation")


def _notify_progress(household: ExpropriationHousehold, actor: User, stage: str) -> None:
    """Signing and vacating are what the leader counts: tell the project's leader."""
    if stage not in (Stage.SIGNED, Stage.VACATED):
        return
    leader = household.project.leader
    if leader.pk != actor.pk:
        _notify(
            [leader],
            _("%(household)s 已%(stage)s") % {"household": household, "stage": Stage(stage).label},
            _("由 %(user)s 登记。") % {"user": actor},
            household,
        )


def household_url(household: ExpropriationHousehold) -> str:
    from django.urls import reverse

    return reverse("relocation:household_detail", kwargs={"pk": household.pk})


# ---------------------------------------------------------------------------------------------------------
# Visit log and reminders


def reminder_due_at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(REMINDER_HOUR, REMINDER_MINUTE)))


def record_visit(
    actor: User,
    household: ExpropriationHousehold,
    *,
    visited_on: date,
    talk: str,
    attitude: str,
    demands: str = "",
    next_step: str = "",
    remind_on: date | None = None,
    remind_note: str = "",
) -> Visit:
    """Add a 征收日志 entry; open reminders due by that day are done; optionally set the next reminder."""
    if not rules.may_work(actor, household):
        _forbid("relocation.work")
    talk = talk.strip()
    errors: dict[str, str] = {}
    if not talk:
        errors["talk"] = _("请记录谈话内容。")
    if visited_on > today():
        errors["visited_on"] = _("走访日期不能晚于今天。")
    if visited_on < household.surveyed_on - timedelta(days=365):
        errors["visited_on"] = _("走访日期太早了，请核对。")
    if remind_on is not None and remind_on < today():
        errors["remind_on"] = _("下次走访日期不能早于今天。")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = ExpropriationHousehold.objects.select_for_update(of=("self",)).get(pk=household.pk)
        recent = timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
        repeated = Visit.objects.filter(
            household=current, visitor=actor, visited_on=visited_on, talk=talk, created_at__gte=recent
        ).first()
        if repeated is not None:
            return repeated
        visit = Visit.objects.create(
            household=current,
            project_id=current.project_id,
            org_unit_id=current.org_unit_id,
            visited_on=visited_on,
            visitor=actor,
            talk=talk,
            attitude=attitude,
            demands=demands.strip(),
            next_step=next_step.strip(),
        )
        updates: dict[str, Any] = {}
        if current.last_visit_on is None or visited_on >= current.last_visit_on:
            updates = {"last_visit_on": visited_on, "attitude": attitude}
            ExpropriationHousehold.objects.filter(pk=current.pk).update(**updates)
        due = VisitReminder.objects.filter(
            household=current,
            status=ReminderStatus.OPEN,
            due_at__lt=reminder_due_at(visited_on + timedelta(days=1)),
        )
        _close(due, ReminderStatus.DONE)
        record_event(
            "relocation.visit",
            actor=actor,
            obj=current,
            data={"visit": visit.pk, "on": visited_on.isoformat(), "attitude": attitude},
        )
        if remind_on is not None:
            set_reminder(actor, current, due_on=remind_on, note=remind_note or next_step[:200])
    household.last_visit_on = updates.get("last_visit_on", household.last_visit_on)
    household.attitude = updates.get("attitude", household.attitude)
    return visit


def _close(reminders: Any, status: str) -> int:
    """Close open reminders; those that have not rung yet never will."""
    pks = list(reminders.filter(status=ReminderStatus.OPEN).values_list("pk", flat=True))
    if not pks:
        return 0
    VisitReminder.objects.filter(pk__in=pks, due_state=DueState.PENDING).update(
        due_state=DueState.CANCELLED, claim_token=None
    )
    return VisitReminder.objects.filter(pk__in=pks, status=ReminderStatus.OPEN).update(
        status=status, closed_at=timezone.now()
    )


def set_reminder(
    actor: User,
    household: ExpropriationHousehold,
    *,
    due_on: date,
    note: str = "",
    assignee: User | None = None,
) -> VisitReminder:
    """定时闹钟: ring `assignee` (the 包户人 by default, else the actor) on `due_on` at 8:30."""
    if not rules.may_work(actor, household):
        _forbid("relocation.work")
    if due_on < today():
        raise ValidationError({"due_on": _("提醒日期不能早于今天。")})
    if due_on > today() + timedelta(days=366):
        raise ValidationError({"due_on": _("提醒日期不能超过一年。")})
    assignee = assignee or household.staff or actor
    if not rules.may_work(assignee, household):
        raise ValidationError(
            {"assignee": _("%(user)s 不在该户的工作组中，不能接收提醒。") % {"user": assignee}}
        )
    due_at = reminder_due_at(due_on)
    with transaction.atomic():
        existing = VisitReminder.objects.filter(
            household=household, assignee=assignee, status=ReminderStatus.OPEN, due_at=due_at
        ).first()
        if existing is not None:
            return existing
        reminder = VisitReminder.objects.create(
            household=household,
            project_id=household.project_id,
            org_unit_id=household.org_unit_id,
            assignee=assignee,
            due_at=due_at,
            note=note.strip()[:200],
            created_by=actor,
        )
        record_event(
            "relocation.reminder",
            actor=actor,
            obj=household,
            data={"reminder": reminder.pk, "assignee": assignee.pk, "due_on": due_on.isoformat()},
        )
    return reminder


def close_reminder(actor: User, reminder: VisitReminder, *, done: bool) -> VisitReminder:
    household = reminder.household
    if not rules.may_work(actor, household):
        _forbid("relocation.work")
    with transaction.atomic():
        status = ReminderStatus.DONE if done else ReminderStatus.CANCELLED
        changed = _close(VisitReminder.objects.filter(pk=reminder.pk), status)
        if not changed:
            raise ValidationError(_("该提醒已关闭。"))
        record_event(
            "relocation.reminder_close",
            actor=actor,
            obj=household,
            data={"reminder": reminder.pk, "status": status},
        )
    reminder.refresh_from_db()
    return reminder


def ring(item: VisitReminder) -> None:
    """The due handler: tell the assignee today is the day (once; the engine claims the row)."""
    if item.status != ReminderStatus.OPEN:
        return
    from jiedao.notifications.services import notify

    household = item.household
    notify(
        [item.assignee],
        title=(_("今天回访：%(household)s") % {"household": household})[:200],
        body=item.note,
        url=household_url(household),
        kind="relocation",
    )


# ---------------------------------------------------------------------------------------------------------
# Documents


def upload_documents(
    actor: User, household: ExpropriationHousehold, kind: DocumentKind, uploads: Sequence[CheckedUpload]
) -> list[HouseholdDocument]:
    """File checked uploads (`cases.uploads.check_uploads`) under a checklist item."""
    if not rules.may_work(actor, household):
        _forbid("relocation.work")
    if kind.project_id != household.project_id:
        raise ValidationError({"kind": _("该材料项不属于本项目。")})
    if not uploads:
        raise ValidationError({"upload": _("请选择要上传的文件。")})
    saved: list[HouseholdDocument] = []
    recent = timezone.now() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS)
    with transaction.atomic():
        for upload in uploads:
            if HouseholdDocument.objects.filter(
                household=household, kind=kind, name=upload.name, size=upload.size, uploaded_at__gte=recent
            ).exists():
                continue  # the same file again a moment later: a double submit
            document = HouseholdDocument(
                household=household,
                kind=kind,
                name=upload.name,
                size=upload.size,
                content_type=upload.content_type,
                uploaded_by=actor,
            )
            document.file.save(upload.name, upload.file, save=False)
            document.save()
            saved.append(document)
        refresh_missing(household)
        record_event(
            "relocation.document",
            actor=actor,
            obj=household,
            data={"kind": kind.name, "files": [d.name for d in saved]},
        )
    return saved


def delete_document(actor: User, document: HouseholdDocument) -> None:
    household = document.household
    if not rules.may_work(actor, household):
        _forbid("relocation.work")
    kind = document.kind
    if kind.required_stage and stage_index(household.stage) >= stage_index(kind.required_stage):
        others = HouseholdDocument.objects.filter(household=household, kind=kind).exclude(pk=document.pk)
        if not others.exists():
            raise ValidationError(
                _("“%(kind)s”是“%(stage)s”环节的必备材料，该户已过此环节，不能删除唯一的一份。")
                % {"kind": kind.name, "stage": Stage(kind.required_stage).label}
            )
    with transaction.atomic():
        name, stored = document.name, document.file.name
        document.delete()
        if stored and not HouseholdDocument.objects.filter(file=stored).exists():
            transaction.on_commit(lambda: document.file.storage.delete(stored))
        refresh_missing(household)
        record_event(
            "relocation.document_delete", actor=actor, obj=household, data={"kind": kind.name, "file": name}
        )
