"""Fixtures of the projects tests: a key project in community A (with a milestone, a month of investment, a
problem and an attachment) and a meeting with a decision, made through the services by the leader."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiedao.core.models import User
from jiedao.projects import services
from jiedao.projects.models import Decision, KeyProject, Meeting, ProjectKind, Stage
from tests.world import World

NAME = "测试重点项目甲"
MEETING = "测试推进例会"


def project(world: World, name: str = NAME, **extra: object) -> KeyProject:
    found = KeyProject.objects.filter(name=name).first()
    if found is not None:
        return found
    data: dict[str, object] = {
        "name": name,
        "kind": ProjectKind.COMMERCIAL,
        "stage": Stage.CONSTRUCTION,
        "org_unit": world.community_a,
        "owner_company": "测试置业有限公司",
        "address": "陇海东路 1 号",
        "leader": world["leader"],
        "total_investment": Decimal("10000"),
        "departments": [world.dept_xinfang],
    }
    data.update(extra)
    return services.create_project(world["leader"], data)


def full_project(world: World) -> KeyProject:
    p = project(world)
    if not p.milestones.exists():
        services.save_milestone(
            world["leader"], p, {"name": "开工", "planned_date": date.today() - timedelta(days=3)}
        )
        services.set_investment(world["leader"], p, timezone.localdate(), Decimal("100"), Decimal("80"))
        services.add_problem(
            world["leader"],
            p,
            description="管线迁改未完成",
            owner=world["dept_xinfang"],
            due_date=timezone.localdate() + timedelta(days=5),
        )
        upload = SimpleUploadedFile("方案.pdf", b"%PDF-1.4 test", content_type="application/pdf")
        services.add_attachment(world["leader"], p, upload, "设计方案")
    return p


def meeting(world: World, p: KeyProject | None = None) -> Meeting:
    found = Meeting.objects.filter(title=MEETING).first()
    if found is not None:
        return found
    leader: User = world["leader"]
    m = services.create_meeting(
        leader,
        {
            "title": MEETING,
            "kind": "project",
            "date": timezone.localdate(),
            "org_unit": world.subdistrict,
            "project": p or project(world),
            "chair": leader,
            "minutes": "研究推进事项。",
            "expected": [leader, world["dept_xinfang"]],
            "present": [leader],
        },
    )
    services.save_decision(
        leader,
        m,
        {
            "content": "一周内完成管线迁改方案",
            "owner_unit": world.dept_xinfang,
            "due_date": timezone.localdate(),
        },
    )
    return m


def decision(world: World) -> Decision:
    return meeting(world).decisions.first()  # type: ignore[return-value]
