"""Route guards of the supervision module, for tests/test_routes.py: every page with a persona outside it.

The guard matter is led by community A in the world's sub-district; grid_b (a grid worker of community B)
takes
no part in it, and other_leader supervises another sub-district."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from jiedao.supervision import services
from jiedao.supervision.models import Bulletin, Source, SupervisedMatter
from tests.guard import Guard
from tests.world import World

GUARD_TITLE = "路由测试专用督办事项"


def matter_of(world: World) -> SupervisedMatter:
    existing = SupervisedMatter.objects.filter(title=GUARD_TITLE).first()
    if existing is not None:
        return existing
    return services.create_matter(
        world["leader"],
        title=GUARD_TITLE,
        content="路由测试",
        source=Source.LEADER,
        deadline=timezone.now() + timedelta(days=10),
        lead_unit=world.community_a,
    )


def _number(world: World) -> dict[str, Any]:
    return {"number": matter_of(world).number}


def _action(world: World) -> dict[str, Any]:
    return {**_number(world), "name": "undertake"}


def _with_matter(world: World) -> dict[str, Any]:
    matter_of(world)
    return {}


def _attachment(world: World) -> dict[str, Any]:
    from jiedao.supervision.models import MatterAttachment

    matter = matter_of(world)
    item = matter.attachments.first() or MatterAttachment.objects.create(
        matter=matter,
        kind="file",
        file="supervision/guard.txt",
        name="guard.txt",
        size=5,
        content_type="text/plain",
    )
    return {"number": matter.number, "pk": item.pk}


def _decision(world: World) -> dict[str, Any]:
    from jiedao.projects.models import Decision, Meeting

    meeting = Meeting.objects.create(org_unit=world.subdistrict, title="路由测试例会", date=date(2026, 3, 2))
    decision = Decision.objects.create(meeting=meeting, content="路由测试决定事项")
    return {"pk": decision.pk}


def _bulletin(world: World) -> dict[str, Any]:
    item = Bulletin.objects.create(
        org_unit=world.subdistrict,
        title="路由测试通报",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
        rows=[],
        published_at=timezone.now(),
    )
    return {"pk": item.pk}


GUARDS: dict[str, Guard] = {
    "supervision:matter_list": Guard(
        kwargs=_with_matter, outsider="grid_b", hidden=lambda w: _number(w)["number"]
    ),
    "supervision:matter_export": Guard(outsider="volunteer"),
    "supervision:matter_create": Guard(outsider="comm_a"),
    "supervision:matter_from_decision": Guard(kwargs=_decision, outsider="other_leader"),
    "supervision:matter_detail": Guard(kwargs=_number, outsider="grid_b"),
    "supervision:matter_edit": Guard(kwargs=_number, outsider="comm_a"),
    "supervision:matter_action": Guard(kwargs=_action, outsider="comm_b"),
    "supervision:attachment": Guard(kwargs=_attachment, outsider="grid_b"),
    "supervision:bulletin": Guard(outsider="comm_a"),
    "supervision:bulletin_export": Guard(outsider="comm_a"),
    "supervision:bulletin_publish": Guard(outsider="auditor", method="post"),
    "supervision:bulletin_detail": Guard(kwargs=_bulletin, outsider="other_leader"),
    "supervised-matter-list": Guard(
        kwargs=_with_matter, outsider="grid_b", hidden=lambda w: _number(w)["number"], api=True
    ),
    "supervised-matter-detail": Guard(kwargs=_number, outsider="grid_b", api=True),
    "supervised-matter-actions": Guard(kwargs=_number, outsider="grid_b", api=True),
    "supervised-matter-steps": Guard(kwargs=_number, outsider="grid_b", api=True),
    **{
        f"supervised-matter-action-{name}": Guard(kwargs=_number, outsider="grid_b", api=True, method="post")
        for name in services.STEP_SERVICES
    },
}
