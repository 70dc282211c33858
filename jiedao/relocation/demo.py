"""The expropriation module's demo step: the seed's 中博城中村拆迁改造 (二里岗街道, where the 征收日志, 文件夹
and 定时闹钟 were invented) and a 陇海村城中村改造 project in 陇海马路街道 for the demo's own logins (leader,
comm_a, grid_a). Each gets teams led by 班子成员, a few hundred households spread over every stage with the
dates they reached each one (so the board's trend is a real curve), visit logs, reminders (some due today),
and document folders (some items missing). Idempotent: a project that exists is left alone."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from io import TextIOBase

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from jiedao.core.demo import ERLIGANG_CODE, LONGHAI_VILLAGE_CODE, person_name, register_demo_step
from jiedao.core.models import DueState, OrgUnit, User
from jiedao.core.privacy import encrypt, mask_phone
from jiedao.relocation import services
from jiedao.relocation.models import (
    PHONE_CONTEXT,
    STAGE_DATE_FIELD,
    STAGE_ORDER,
    Attitude,
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

SAMPLE_FILE = "relocation/demo/sample.pdf"
SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass(frozen=True)
class TeamPlan:
    name: str
    leader: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class ProjectPlan:
    name: str
    unit_code: str
    leader: str
    start_days_ago: int
    target_days_ahead: int
    households: int
    prefix: str
    street: str
    description: str
    teams: tuple[TeamPlan, ...]


PLANS = [
    ProjectPlan(
        name="中博城中村拆迁改造",
        unit_code=ERLIGANG_CODE,
        leader="other_leader",
        start_days_ago=95,
        target_days_ahead=35,
        households=320,
        prefix="ZB",
        street="中博村",
        description="中博集团城中村改造项目。班子成员带头分包拆迁户，全体干部职工全员出动，挨家挨户做工作。",
        teams=(
            TeamPlan(
                "第一组",
                "other_leader",
                ("erligang_dept_chengjian", "comm_410104006008", "grid_410104006008001"),
            ),
            TeamPlan(
                "第二组",
                "erligang_leader02",
                ("erligang_dept_ducha", "comm_410104006005", "grid_410104006005001"),
            ),
            TeamPlan(
                "第三组",
                "erligang_leader03",
                ("erligang_dept_xinfang", "comm_410104006002", "grid_410104006002001"),
            ),
            TeamPlan(
                "第四组",
                "erligang_dept_dangzheng",
                ("erligang_dept_dangjian", "comm_410104006001", "grid_410104006001001"),
            ),
        ),
    ),
    ProjectPlan(
        name="陇海村城中村改造",
        unit_code=LONGHAI_VILLAGE_CODE,
        leader="leader",
        start_days_ago=70,
        target_days_ahead=50,
        households=210,
        prefix="LH",
        street="陇海村",
        description="陇海村城中村改造征收。按“征收三件宝”工作：征收日志、文件夹、定时闹钟。",
        teams=(
            TeamPlan("一组", "leader02", ("comm_a", "grid_a", "comm_410104007200")),
            TeamPlan("二组", "leader10", ("dept_chengjian", "grid_410104007200001", "dept_xinfang")),
            TeamPlan("三组", "leader", ("dept_zongzhi", "grid_410104007200002", "grid_410104007200003")),
        ),
    ),
]

TALKS = {
    Attitude.RESISTING: [
        ("对评估面积有异议，认为二层加盖部分应计入。", "要求重新测量加盖部分", "约评估公司现场复核"),
        ("担心安置房交付时间，不愿先腾房。", "要求写明安置房交付期限", "带安置房工程进度表再谈"),
        ("家中老人不同意搬，情绪激动。", "希望就近安置，照顾老人", "请社区和老人子女一起做工作"),
    ],
    Attitude.WAITING: [
        ("在看邻居怎么签，想等等补偿有没有变化。", "询问提前签约奖励", "讲清奖励期限，三天后再访"),
        ("同意补偿标准，想选高楼层安置房。", "希望优先选房", "说明选房按签约顺序"),
        ("子女在外地，要商量后再定。", "", "约子女周末回来时面谈"),
    ],
    Attitude.SUPPORT: [
        ("同意补偿方案，准备签协议。", "希望尽快拿到过渡费", "准备协议文本，约定签约时间"),
        ("已找好过渡房，愿意配合腾房。", "需要帮忙联系搬家", "联系搬家公司，确认腾房日期"),
        ("认可评估结果，没有其他要求。", "", "按计划推进"),
    ],
}


def _users(usernames: set[str]) -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}


#: How many households end up at each stage (摸底 … 拆除), as weights.
STAGE_WEIGHTS = [10, 12, 26, 14, 18, 20]
#: Typical days between reaching one stage and the next (评估, 协商, 签约, 腾房, 拆除).
GAPS = [(4, 15), (3, 12), (5, 40), (3, 18), (4, 20)]


def _path(rng: random.Random, start: date, today: date) -> list[date]:
    """The dates a household reached each stage up to the one it stands at now: the last one recently, the
    earlier ones a plausible number of days apart, squeezed to fit after the project's start."""
    reached = rng.choices(range(len(STAGE_ORDER)), weights=STAGE_WEIGHTS)[0]
    last = today - timedelta(days=rng.randint(1, 30 if reached else (today - start).days))
    last = max(last, start)
    gaps = [rng.randint(*GAPS[i]) for i in range(reached)]
    span = (last - start).days
    if sum(gaps) > span:
        gaps = [g * span // sum(gaps) for g in gaps]
    dates = [last]
    for gap in reversed(gaps):
        dates.insert(0, dates[0] - timedelta(days=gap))
    return dates


def build_project(plan: ProjectPlan, today: date, rng: random.Random) -> ExpropriationProject | None:
    unit = OrgUnit.objects.filter(code=plan.unit_code).first()
    names = {plan.leader} | {t.leader for t in plan.teams} | {m for t in plan.teams for m in t.members}
    users = _users(names)
    if unit is None or plan.leader not in users:
        return None
    start = today - timedelta(days=plan.start_days_ago)
    project = ExpropriationProject(
        org_unit=unit,
        name=plan.name,
        leader=users[plan.leader],
        start_date=start,
        target_date=today + timedelta(days=plan.target_days_ahead),
        target_signed=plan.households,
        target_vacated=plan.households,
        description=plan.description,
    )
    project.save()
    kinds = DocumentKind.objects.bulk_create(
        DocumentKind(project=project, name=n, required_stage=s, sort_order=i * 10)
        for i, (n, s) in enumerate(services.DEFAULT_CHECKLIST, start=1)
    )
    teams: list[tuple[Team, list[User]]] = []
    for order, team_plan in enumerate(plan.teams, start=1):
        if team_plan.leader not in users:
            continue
        team = Team.objects.create(
            project=project, name=team_plan.name, leader=users[team_plan.leader], sort_order=order
        )
        members = [users[m] for m in team_plan.members if m in users]
        team.members.set(members)
        teams.append((team, [team.leader, *members]))
    if not teams:
        return project

    households: list[ExpropriationHousehold] = []
    paths: list[list[date]] = []
    for index in range(1, plan.households + 1):
        team, people = teams[(index - 1) % len(teams)]
        dates = _path(rng, start, today)
        stage = STAGE_ORDER[len(dates) - 1]
        phone = f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
        area = Decimal(rng.randint(4000, 32000)) / 100
        household = ExpropriationHousehold(
            project=project,
            org_unit=unit,
            org_path=unit.path,
            number=f"{plan.prefix}-{index:03d}",
            owner_name=person_name(rng.randint(0, 100000)),
            phone_token=encrypt(phone, PHONE_CONTEXT),
            phone_mask=mask_phone(phone),
            address=f"{plan.street}{rng.randint(1, 12)}排{rng.randint(1, 40)}号",
            area=area,
            valuation=(area * rng.randint(7800, 9600)).quantize(Decimal("1")) if len(dates) >= 2 else None,
            team=team,
            staff=people[index % len(people)],
            stage=stage,
        )
        for stage_name, day in zip(STAGE_ORDER, dates, strict=False):
            setattr(household, STAGE_DATE_FIELD[stage_name], day)
        households.append(household)
        paths.append(dates)
    # A few signed and vacated today, so the day's figures are not all zero.
    for household, dates in zip(
        households[:: max(len(households) // 6, 1)], paths[:: max(len(households) // 6, 1)], strict=False
    ):
        if (
            household.stage == Stage.NEGOTIATION
            and household.negotiating_on
            and household.negotiating_on < today
        ):
            household.stage, household.signed_on = Stage.SIGNED, today
            dates.append(today)
        elif household.stage == Stage.SIGNED and household.signed_on and household.signed_on < today:
            household.stage, household.vacated_on = Stage.VACATED, today
            dates.append(today)
    ExpropriationHousehold.objects.bulk_create(households, batch_size=500)
    households = list(ExpropriationHousehold.objects.filter(project=project).order_by("number"))

    if not default_storage.exists(SAMPLE_FILE):
        default_storage.save(SAMPLE_FILE, ContentFile(SAMPLE_PDF))
    documents, visits, reminders, changes = [], [], [], []
    now = timezone.now()
    for household, dates in zip(households, paths, strict=True):
        reached = stage_index(household.stage)
        uploader = household.staff or project.leader
        for kind in kinds:
            needed_now = kind.required_stage and stage_index(kind.required_stage) <= reached
            needed_next = kind.required_stage and stage_index(kind.required_stage) == reached + 1
            if (
                needed_now
                or (needed_next and rng.random() < 0.5)
                or (not kind.required_stage and rng.random() < 0.3)
            ):
                documents.append(
                    HouseholdDocument(
                        household=household,
                        kind=kind,
                        file=SAMPLE_FILE,
                        name=f"{household.number}-{kind.name}.pdf",
                        size=len(SAMPLE_PDF),
                        content_type="application/pdf",
                        uploaded_by=uploader,
                    )
                )
        for step in range(1, reached + 1):
            changes.append(
                StageChange(
                    household=household,
                    from_stage=STAGE_ORDER[step - 1],
                    to_stage=STAGE_ORDER[step],
                    forward=True,
                    on=dates[step] if step < len(dates) else today,
                    actor=uploader,
                )
            )
        visit_count = rng.randint(1, 4)
        first, last = household.surveyed_on, min(today, (household.signed_on or today))
        span = max((last - first).days, 0)
        attitude = Attitude.SUPPORT
        for n in range(visit_count):
            day = first + timedelta(days=round(span * (n + 1) / visit_count))
            progress = (n + 1) / visit_count
            if household.signed_on and progress > 0.6:
                attitude = Attitude.SUPPORT
            else:
                attitude = rng.choice(
                    [Attitude.RESISTING, Attitude.WAITING, Attitude.WAITING, Attitude.SUPPORT]
                )
            talk, demands, next_step = rng.choice(TALKS[attitude])
            visits.append(
                Visit(
                    household=household,
                    project=project,
                    org_unit=unit,
                    org_path=unit.path,
                    visited_on=day,
                    visitor=household.staff or project.leader,
                    talk=talk,
                    attitude=attitude,
                    demands=demands,
                    next_step=next_step,
                )
            )
        household.attitude = attitude
        household.last_visit_on = visits[-1].visited_on
        if reached < stage_index(Stage.VACATED) and rng.random() < 0.45:
            offset = rng.choice([-2, -1, 0, 0, 0, 1, 2, 3, 5, 7])
            due_at = services.reminder_due_at(today + timedelta(days=offset))
            rang = due_at <= now
            reminders.append(
                VisitReminder(
                    household=household,
                    project=project,
                    org_unit=unit,
                    org_path=unit.path,
                    assignee=household.staff or project.leader,
                    due_at=due_at,
                    due_state=DueState.DONE if rang else DueState.PENDING,
                    done_at=due_at if rang else None,
                    note=rng.choice(TALKS[Attitude.WAITING])[2],
                    status=ReminderStatus.OPEN,
                    created_by=household.staff,
                )
            )
    HouseholdDocument.objects.bulk_create(documents, batch_size=1000)
    Visit.objects.bulk_create(visits, batch_size=1000)
    VisitReminder.objects.bulk_create(reminders, batch_size=1000)
    StageChange.objects.bulk_create(changes, batch_size=1000)
    ExpropriationHousehold.objects.bulk_update(households, ["attitude", "last_visit_on"], batch_size=500)
    services.refresh_missing_all(project)
    return project


def demo_relocation(scale: int, stdout: TextIOBase) -> None:
    today = timezone.localdate()
    for number, plan in enumerate(PLANS):
        if ExpropriationProject.objects.filter(name=plan.name).exists():
            continue
        project = build_project(plan, today, random.Random(6000 + number))
        if project is not None:
            count = ExpropriationHousehold.objects.filter(project=project).count()
            stdout.write(f"relocation: {plan.name} ({count})\n")


register_demo_step("relocation.projects", demo_relocation)
