"""The supervision module's demo step: a year of supervised matters in 陇海马路街道 (and a few in 二里岗) in
every
state — leaders' instructions, tasks from the district, cases turned into matters and the meeting decisions of
the projects step (which runs before this one) — some on time, some late, extended, returned, rated.

Each matter is taken through the real services (timeline, reports, extensions, audit events), then moved back
in time as a whole: its steps are spread between its opening and its last step, so the lights, the 通报 and
the timelines look like a year of work. Idempotent: a second run adds nothing.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import TextIOBase

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiedao.core.demo import ERLIGANG_CODE, LONGHAI_CODE, LONGYI_CODE, XINZHENGLU_CODE, register_demo_step
from jiedao.core.models import Department, OrgUnit, User
from jiedao.supervision import lights, services
from jiedao.supervision.models import (
    ExtensionRequest,
    MatterStep,
    ProgressReport,
    Source,
    Status,
    SupervisedMatter,
)

logger = logging.getLogger(__name__)

TASKS = [
    (
        "老旧小区改造意见征询",
        "完成陇海花园、郑新里小区老旧小区改造的入户意见征询，同意率达到三分之二以上后报送改造方案。",
    ),
    ("背街小巷环境整治", "对辖区背街小巷的占道经营、乱堆乱放进行集中整治，建立长效管理台账。"),
    ("汛期积水点排查", "对辖区下穿通道、涵洞等积水点逐一排查，落实责任人和抢险物资，形成隐患清单。"),
    ("信访积案化解", "对两件三年以上信访积案逐案制定化解方案，落实包案领导，月底前报送化解进展。"),
    ("电动车充电桩建设", "在群众反映集中的3个小区建设电动车集中充电设施，消除楼道充电隐患。"),
    ("户外广告牌安全检查", "完成辖区户外广告牌安全检查，对存在隐患的广告牌限期整改或拆除。"),
    ("养老服务站点建设", "推进社区养老服务站建设，完成场地改造和设备采购，具备开放运营条件。"),
    ("燃气安全入户排查", "对辖区老旧小区燃气管线和用户灶具开展入户排查，建立问题整改清单。"),
    ("无物业小区托管", "对无物业管理小区引入物业托管，完成业主意见征询和托管协议签订。"),
    ("重点企业走访服务", "走访辖区重点企业，收集企业诉求，建立问题清单并协调解决。"),
    ("消防通道清理", "清理小区消防通道堆放杂物和违规停车，设置禁停标识。"),
    ("垃圾分类示范小区创建", "推进生活垃圾分类示范小区创建，完成分类投放点改造和宣传入户。"),
]

# (lead: department code or community code, helper) for 陇海马路; community codes start with digits.
LEADS = [
    ("chengjian", LONGYI_CODE),
    ("chengguan", XINZHENGLU_CODE),
    ("yingji", "chengjian"),
    ("xinfang", "zongzhi"),
    (LONGYI_CODE, "shequ"),
    (XINZHENGLU_CODE, "chengguan"),
    ("shehui", LONGYI_CODE),
    ("zongzhi", XINZHENGLU_CODE),
    ("410104007002", "chengjian"),
    ("jingji", ""),
]


@dataclass(frozen=True)
class Plan:
    until: str  # the last step's target state
    back: int  # days since it was opened
    days: int  # the period in days
    late: bool = False  # completed after the deadline
    progress: int = 50  # the last progress report (in progress)
    extended: bool = False
    returned: bool = False
    pending_extension: bool = False
    declined: bool = False


PLANS = [
    Plan("rated", 330, 30),
    Plan("rated", 300, 45, late=True),
    Plan("rated", 270, 30, returned=True),
    Plan("rated", 240, 60, extended=True),
    Plan("completed", 210, 30),
    Plan("rated", 190, 15, late=True),
    Plan("rated", 160, 30),
    Plan("completed", 140, 30, late=True, returned=True),
    Plan("rated", 120, 20, extended=True),
    Plan("in_progress", 100, 30, progress=60),  # overdue, still open
    Plan("rated", 95, 30),
    Plan("reviewing", 80, 30, late=True),  # reported after the deadline, overdue
    Plan("completed", 70, 45),
    Plan("assigned", 60, 20),  # overdue, never accepted
    Plan("approved", 50, 45),
    Plan("in_progress", 40, 60, progress=10),  # yellow: behind pace
    Plan("in_progress", 28, 30, progress=85),  # blue: near the deadline
    Plan("in_progress", 20, 60, progress=40),  # green
    Plan("reviewing", 18, 30),
    Plan("in_progress", 15, 30, progress=30, pending_extension=True),
    Plan("in_progress", 12, 45, progress=20, returned=True),
    Plan("assigned", 3, 30),
    Plan("opened", 2, 30, declined=True),
    Plan("opened", 1, 20),
    Plan("cancelled", 90, 30),
    Plan("in_progress", 35, 40, progress=15, extended=True),
]


def _day_end(days: int) -> datetime:
    """24:00 of the day `days` days from today (how deadlines given as a day end)."""
    day = timezone.localdate() + timedelta(days=days + 1)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


ERLIGANG_LEADS = [("chengjian", ""), ("xinfang", "chengjian"), ("dangjian", ""), ("chengjian", "xinfang")]


def _lead_person(code: str, dept: Department | None) -> User | None:
    if dept is not None:
        if dept.org_path != OrgUnit.objects.filter(code=LONGHAI_CODE).values_list("path", flat=True).first():
            return _user(f"erligang_dept_{dept.code}")
        return _user("dept_xinfang" if dept.code == "xinfang" else f"dept_{dept.code}")
    names = {LONGYI_CODE: "comm_a", XINZHENGLU_CODE: "comm_b"}
    return _user(names.get(code, f"comm_{code}"))


def _place(sub: OrgUnit, code: str) -> tuple[OrgUnit | None, Department | None]:
    if not code:
        return None, None
    if code[0].isdigit():
        return OrgUnit.objects.filter(code=code).first(), None
    return None, Department.objects.filter(org_unit=sub, code=code).first()


def _run(
    plan: Plan,
    supervisor: User,
    lead_person: User,
    matter: SupervisedMatter,
    rng: random.Random,
) -> SupervisedMatter:
    """Take a freshly opened (and assigned) matter through the plan, at the present moment."""
    s = services
    m = matter
    if plan.declined:
        m = s.decline(lead_person, m, version=m.version, reason="该事项主要涉及城建规划，建议由城建办牵头。")
        return m
    if plan.until == "cancelled":
        return s.cancel(supervisor, m, version=m.version, reason="上级已统一部署，本事项并入专项行动办理。")
    if plan.until in ("opened", "assigned"):
        return m
    m = s.undertake(lead_person, m, version=m.version, note="已明确专人负责，制定工作方案。")
    if plan.extended:
        m = s.request_extension(
            lead_person,
            m,
            version=m.version,
            new_deadline=m.deadline + timedelta(days=15),
            reason="涉及多方协调，需延长办理时间。",
        )
        m = s.decide_extension(supervisor, m, version=m.version, approve=True, note="同意延期15天。")
    steps = [max(10, plan.progress // 3), max(20, plan.progress * 2 // 3), plan.progress]
    for percent in sorted(set(steps)):
        m = s.report(
            lead_person,
            m,
            version=m.version,
            text=f"已完成约{percent}%的工作，正在按计划推进。",
            percent=percent,
        )
    if plan.pending_extension:
        m = s.request_extension(
            lead_person,
            m,
            version=m.version,
            new_deadline=m.deadline + timedelta(days=20),
            reason="施工单位进场推迟，申请延期。",
        )
    if plan.until == "in_progress" and not plan.returned:
        return m
    m = s.submit(lead_person, m, version=m.version, text="各项任务已完成，相关台账资料已整理归档。")
    if plan.returned:
        m = s.send_back(
            supervisor, m, version=m.version, reason="整改资料不完整，缺少现场照片和群众签字确认。"
        )
        if plan.until == "in_progress":
            return s.report(
                lead_person, m, version=m.version, text="正在补充现场照片和群众签字。", percent=80
            )
        m = s.submit(lead_person, m, version=m.version, text="已补充现场照片和群众签字确认材料。")
    if plan.until == "reviewing":
        return m
    m = s.approve(supervisor, m, version=m.version, note="经现场核查，完成情况属实。")
    if plan.until == "approved":
        return m
    m = s.complete(supervisor, m, version=m.version, summary="事项已按要求办结。")
    if plan.until == "completed":
        return m
    rating = (
        rng.choice(["excellent", "good", "good", "fair"]) if not plan.late else rng.choice(["fair", "poor"])
    )
    return s.rate(
        supervisor,
        m,
        version=m.version,
        rating=rating,
        score={"excellent": 95, "good": 85, "fair": 72, "poor": 58}[rating],
    )


def _backdate(matter: SupervisedMatter, plan: Plan, now: datetime, rng: random.Random) -> None:
    """Move the matter into the past: opened `plan.back` days ago, its steps spread until its last one."""
    delta = -timedelta(days=plan.back)  # whole days: a deadline at 24:00 stays at 24:00
    opened = matter.created_at + delta
    deadline = matter.deadline + delta
    if matter.status in (Status.COMPLETED, Status.RATED, Status.APPROVED) or (
        matter.status == Status.REVIEWING and plan.late
    ):
        end = (
            deadline + timedelta(days=rng.randint(2, 8))
            if plan.late
            else deadline - timedelta(days=rng.randint(1, 5))
        )
    else:
        end = now - timedelta(hours=rng.randint(2, 30))
    end = max(min(end, now - timedelta(hours=1)), opened + timedelta(hours=2))
    steps = list(matter.steps.order_by("created_at", "id"))
    times: dict[int, datetime] = {}
    count = max(len(steps) - 1, 1)
    for k, step in enumerate(steps):
        when = opened + (end - opened) * (k / count) if k else opened
        if step.action == "assign" and k == 1:
            when = opened + timedelta(minutes=rng.randint(10, 90))
        times[step.pk] = when
        MatterStep.objects.filter(pk=step.pk).update(created_at=when)
    for report in ProgressReport.objects.filter(matter=matter).exclude(step=None):
        ProgressReport.objects.filter(pk=report.pk).update(created_at=times.get(report.step_id or 0, end))
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for step in steps:
        first.setdefault(step.action, times[step.pk])
        last[step.action] = times[step.pk]
    SupervisedMatter.objects.filter(pk=matter.pk).update(
        created_at=opened,
        deadline=F("deadline") + delta,
        original_deadline=F("original_deadline") + delta,
        period_start=last.get("assign", opened),
        assigned_at=last.get("assign") if matter.assigned_at else None,
        undertaken_at=first.get("undertake"),
        submitted_at=last.get("submit") if matter.submitted_at else None,
        completed_at=last.get("complete"),
        rated_at=last.get("rate"),
        last_report_at=max([t for a, t in last.items() if a in ("report", "submit")], default=None),
    )
    for ext in ExtensionRequest.objects.filter(matter=matter):
        ExtensionRequest.objects.filter(pk=ext.pk).update(
            new_deadline=F("new_deadline") + delta,
            old_deadline=F("old_deadline") + delta,
            requested_at=last.get("request_extension", opened),
            decided_at=last.get("decide_extension") if ext.decided_at else None,
        )
    fresh = SupervisedMatter.objects.get(pk=matter.pk)
    lights.apply_times(fresh)
    year = timezone.localtime(opened).year
    number = fresh.number if year == timezone.localtime(now).year else services.next_number(opened)
    SupervisedMatter.objects.filter(pk=matter.pk).update(
        blue_at=fresh.blue_at, pace_at=fresh.pace_at, number=number
    )
    fresh.number = number
    services.schedule_clocks(fresh, now)


def _matter_for(
    plan: Plan, index: int, sub: OrgUnit, supervisor: User, leaders: list[User], rng: random.Random
) -> SupervisedMatter | None:
    leads = LEADS if sub.code == LONGHAI_CODE else ERLIGANG_LEADS
    lead_code, helper_code = leads[index % len(leads)]
    lead_unit, lead_dept = _place(sub, lead_code)
    helper_unit, helper_dept = _place(sub, helper_code)
    lead_person = _lead_person(lead_code, lead_dept)
    if (lead_unit is None and lead_dept is None) or lead_person is None:
        return None
    title, content = TASKS[index % len(TASKS)]
    fields: dict[str, object] = {
        "title": title,
        "content": content,
        "source": [Source.LEADER, Source.UPPER][index % 2],
        "source_note": ["党工委书记批示", "区委督查室交办"][index % 2],
        "deadline": _day_end(plan.days),
        "lead_unit": lead_unit,
        "lead_department": lead_dept,
        "helper_units": [helper_unit] if helper_unit else [],
        "helper_departments": [helper_dept] if helper_dept else [],
        "leader": leaders[index % len(leaders)] if leaders else None,
        "assign": plan.until != "opened" or plan.declined,
        "org_unit": sub,
    }
    matter = services.create_matter(supervisor, **fields)  # type: ignore[arg-type]
    return _run(plan, supervisor, lead_person, matter, rng)


def demo_supervision(scale: int, stdout: TextIOBase) -> None:
    started = time.perf_counter()
    rng = random.Random(66)
    now = timezone.now()
    made = 0
    for sub_code, username, count in (
        (LONGHAI_CODE, "leader", len(PLANS)),
        (ERLIGANG_CODE, "other_leader", 4),
    ):
        sub = OrgUnit.objects.filter(code=sub_code).first()
        supervisor = _user(username)
        if sub is None or supervisor is None:
            continue
        leaders = list(
            User.objects.filter(memberships__org_unit=sub, memberships__role="leader", is_active=True)
            .distinct()
            .order_by("username")
        )
        if not SupervisedMatter.objects.filter(org_unit=sub).exists():
            for index in range(count):
                plan = PLANS[index % len(PLANS)]
                if sub_code == ERLIGANG_CODE:
                    plan = PLANS[(index * 5) % len(PLANS)]
                try:
                    matter = _matter_for(plan, index, sub, supervisor, leaders, rng)
                except (ValidationError, PermissionDenied) as exc:  # does not fit this district's units
                    logger.info("supervision demo: plan %s skipped (%s)", index, exc)
                    continue
                if matter is not None:
                    _backdate(matter, plan, now, rng)
                    made += 1
        made += _from_decisions(sub, supervisor, leaders, rng, now)
    stdout.write(
        _("督办事项：新建 %(n)s 件（含会议决定事项转办），用时 %(s).1f 秒。")
        % {"n": made, "s": time.perf_counter() - started}
        + "\n"
    )


def _from_decisions(
    sub: OrgUnit, supervisor: User, leaders: list[User], rng: random.Random, now: datetime
) -> int:
    """Most meeting decisions of the projects step become matters (one decision, one matter)."""
    try:
        from jiedao.projects.models import Decision
    except ImportError:  # pragma: no cover - the projects app is not installed
        return 0
    decisions = list(
        Decision.objects.filter(meeting__org_path__startswith=sub.path, matter__isnull=True)
        .select_related("meeting__project", "owner_unit")
        .order_by("meeting__date", "id")
    )
    made = 0
    for index, decision in enumerate(decisions):
        if decision.pk % 4 == 3:
            # some decisions are still waiting to be turned into matters (by pk: a rerun skips them too)
            continue
        due = decision.due_date
        meeting_day = decision.meeting.date
        if due is None or decision.owner_unit is None:
            continue
        back = max((timezone.localdate(now) - meeting_day).days, 1)
        days = max((due - meeting_day).days, 3)
        if back > days + 10:
            until = ["rated", "completed", "rated", "in_progress"][index % 4]
        elif back > days:
            until = ["reviewing", "in_progress", "rated"][index % 3]
        else:
            until = ["in_progress", "assigned", "reviewing"][index % 3]
        plan = Plan(until, back, days, late=index % 5 == 0, progress=[30, 60, 80][index % 3])
        lead_person = _lead_person(decision.owner_unit.code, decision.owner_unit)
        if lead_person is None:
            continue
        leader = getattr(decision.meeting.project, "leader", None) or (leaders[0] if leaders else None)
        try:
            matter = services.open_from_decision(
                supervisor,
                decision,
                deadline=_day_end(days),
                leader=leader,
                assign=True,
            )
            matter = _run(plan, supervisor, lead_person, matter, rng)
        except (
            ValidationError,
            PermissionDenied,
        ) as exc:  # a decision that does not fit is left for a person
            logger.info("supervision demo: decision %s left as it is (%s)", decision.pk, exc)
            continue
        _backdate(matter, plan, now, rng)
        made += 1
    return made


register_demo_step("supervision", demo_supervision)
