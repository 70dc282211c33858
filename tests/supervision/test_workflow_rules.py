"""Every step of a supervised matter, allowed and refused by role, scope and state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiedao.supervision import rules, services
from jiedao.supervision.models import ExtensionRequest, Status
from tests.supervision.conftest import MakeMatter
from tests.world import World

pytestmark = pytest.mark.django_db

# step → (state it starts from, keyword arguments, the persona who may, personas who may not)
STEPS: dict[str, tuple[str, dict[str, Any], str, list[str]]] = {
    "undertake": (
        "assigned",
        {"note": ""},
        "comm_a",
        ["comm_b", "grid_a", "leader", "dept_xinfang", "auditor"],
    ),
    "decline": ("assigned", {"reason": "不是本单位职责"}, "comm_a", ["comm_b", "leader", "other_leader"]),
    "report": (
        "in_progress",
        {"text": "进展", "percent": 40},
        "comm_a",
        ["grid_a", "dept_xinfang", "auditor"],
    ),
    "submit": ("in_progress", {"text": "已完成"}, "comm_a", ["comm_b", "leader", "grid_a"]),
    "approve": (
        "reviewing",
        {"note": ""},
        "leader",
        ["comm_a", "comm_b", "auditor", "other_leader", "district"],
    ),
    "send_back": ("reviewing", {"reason": "资料不全"}, "office", ["comm_a", "dept_xinfang", "auditor"]),
    "complete": ("approved", {"summary": "已办结"}, "leader", ["comm_a", "auditor", "other_leader"]),
    "rate": ("completed", {"rating": "good", "score": 88}, "office", ["comm_a", "comm_b", "auditor"]),
    "remind": ("in_progress", {"note": "请抓紧"}, "leader", ["comm_a", "comm_b", "auditor", "other_leader"]),
    "cancel": ("in_progress", {"reason": "并入专项"}, "leader", ["comm_a", "auditor"]),
    "request_extension": (
        "in_progress",
        {"reason": "需协调", "new_deadline": timezone.now() + timedelta(days=60)},
        "comm_a",
        ["comm_b", "leader", "grid_a"],
    ),
}
TARGET = {
    "undertake": Status.IN_PROGRESS,
    "decline": Status.OPENED,
    "report": Status.IN_PROGRESS,
    "submit": Status.REVIEWING,
    "approve": Status.APPROVED,
    "send_back": Status.IN_PROGRESS,
    "complete": Status.COMPLETED,
    "rate": Status.RATED,
    "remind": Status.IN_PROGRESS,
    "cancel": Status.CANCELLED,
    "request_extension": Status.IN_PROGRESS,
}


def persona(world: World, office: Any, name: str) -> Any:
    return office if name == "office" else world[name]


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_is_refused_to_the_wrong_people(
    name: str, make_matter: MakeMatter, world: World, office: Any
) -> None:
    state, kwargs, _who, refused = STEPS[name]
    matter = make_matter(state)
    for username in refused:
        user = persona(world, office, username)
        assert name not in [s.name for s in rules.allowed(user, matter)], username
        with pytest.raises(PermissionDenied):
            services.STEP_SERVICES[name](user, matter, version=matter.version, **kwargs)
    matter.refresh_from_db()
    assert matter.status == state and matter.steps.filter(action=name).count() == 0


@pytest.mark.parametrize("name", sorted(STEPS))
def test_step_is_taken_by_the_right_person(
    name: str, make_matter: MakeMatter, world: World, office: Any
) -> None:
    state, kwargs, who, _refused = STEPS[name]
    matter = make_matter(state)
    user = persona(world, office, who)
    assert name in [s.name for s in rules.allowed(user, matter)]
    done = services.STEP_SERVICES[name](user, matter, version=matter.version, **kwargs)
    assert done.status == TARGET[name]
    assert done.version == matter.version + 1
    step = done.steps.get(action=name)
    assert step.actor == user and step.from_status == state


@pytest.mark.parametrize(
    ("name", "state"),
    [("undertake", "in_progress"), ("approve", "in_progress"), ("complete", "reviewing"),
     ("rate", "approved"), ("submit", "assigned"), ("report", "reviewing"), ("remind", "completed"),
     ("cancel", "rated")],
)  # fmt: skip
def test_step_in_the_wrong_state_is_refused_with_a_reason(
    name: str, state: str, make_matter: MakeMatter, world: World, office: Any
) -> None:
    matter = make_matter(state)
    kwargs = STEPS[name][1]
    user = persona(world, office, STEPS[name][2])
    with pytest.raises(ValidationError) as refused:
        services.STEP_SERVICES[name](user, matter, version=matter.version, **kwargs)
    assert "不能执行" in refused.value.messages[0]


def test_a_helper_reports_without_moving_the_progress(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("in_progress")
    matter = services.report(world["comm_a"], matter, version=matter.version, text="牵头单位进展", percent=50)
    matter = services.report(
        world["comm_b"], matter, version=matter.version, text="协办单位配合完成入户", percent=90
    )
    assert matter.progress == 50
    reports = list(matter.reports.order_by("created_at", "id"))
    assert [(r.by_lead, r.unit_label) for r in reports] == [(True, "陇一社区"), (False, "新郑路社区")]


def test_send_back_returns_to_the_last_progress_and_counts(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("in_progress")
    matter = services.report(world["comm_a"], matter, version=matter.version, text="过半", percent=60)
    matter = services.submit(world["comm_a"], matter, version=matter.version, text="完成")
    assert matter.progress == 100 and matter.submitted_at is not None
    with pytest.raises(ValidationError):
        services.send_back(world["leader"], matter, version=matter.version, reason=" ")
    matter = services.send_back(world["leader"], matter, version=matter.version, reason="缺少照片")
    assert (matter.status, matter.progress, matter.return_count, matter.submitted_at) == (
        "in_progress",
        60,
        1,
        None,
    )


def test_extension_only_before_the_deadline_and_decided_with_reasons(
    make_matter: MakeMatter, world: World, office: Any
) -> None:
    import time_machine

    matter = make_matter("in_progress")
    new = matter.deadline + timedelta(days=10)
    with time_machine.travel(matter.deadline + timedelta(minutes=1)):
        matter.refresh_from_db()
        assert "request_extension" not in [s.name for s in rules.allowed(world["comm_a"], matter)]
        with pytest.raises(ValidationError, match="已超过办理时限"):
            services.request_extension(
                world["comm_a"], matter, version=matter.version, new_deadline=new, reason="x"
            )
    with pytest.raises(ValidationError):
        services.request_extension(
            world["comm_a"],
            matter,
            version=matter.version,
            new_deadline=matter.deadline - timedelta(days=1),
            reason="x",
        )
    matter = services.request_extension(
        world["comm_a"], matter, version=matter.version, new_deadline=new, reason="需协调"
    )
    with pytest.raises(ValidationError, match="等待审批"):
        services.request_extension(
            world["comm_a"], matter, version=matter.version, new_deadline=new, reason="再来"
        )
    with pytest.raises(PermissionDenied):
        services.decide_extension(world["comm_a"], matter, version=matter.version, approve=True)
    with pytest.raises(ValidationError, match="理由"):
        services.decide_extension(office, matter, version=matter.version, approve=False, note="")
    old = matter.deadline
    matter = services.decide_extension(office, matter, version=matter.version, approve=True, note="同意")
    assert matter.deadline == new and matter.original_deadline == old and matter.extension_count == 1
    assert matter.clocks.filter(due_state="pending", kind="overdue").get().deadline == new
    assert ExtensionRequest.objects.get(matter=matter).decision == "approved"
    # a refused request leaves the deadline
    matter = services.request_extension(
        world["comm_a"], matter, version=matter.version, new_deadline=new + timedelta(days=5), reason="还要"
    )
    matter = services.decide_extension(
        world["leader"], matter, version=matter.version, approve=False, note="不同意"
    )
    assert matter.deadline == new and matter.extension_count == 1


def test_decline_sends_it_back_to_be_assigned_again(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("assigned")
    matter = services.decline(world["comm_a"], matter, version=matter.version, reason="应由新郑路社区牵头")
    assert matter.status == Status.OPENED and not matter.clocks.filter(due_state="pending").exists()
    matter = services.assign_matter(
        world["leader"], matter, version=matter.version, lead_unit=world.community_b, helper_units=[]
    )
    assert matter.status == Status.ASSIGNED and matter.lead_unit == world.community_b
    assert rules.is_lead(world["comm_b"], matter) and not rules.is_lead(world["comm_a"], matter)


def test_assign_outside_the_subdistrict_is_refused(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("opened")
    with pytest.raises(ValidationError, match="不在本街道"):
        services.assign_matter(
            world["leader"], matter, version=matter.version, lead_unit=world.other_community
        )


def test_a_department_leads_through_its_staff(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("in_progress", lead_unit=None, lead_department=world.dept_xinfang, helper_units=[])
    assert rules.is_lead(world["dept_xinfang"], matter)
    assert not rules.is_lead(world["comm_a"], matter)
    matter = services.submit(world["dept_xinfang"], matter, version=matter.version, text="已化解")
    assert matter.status == Status.REVIEWING


def test_other_subdistricts_leader_cannot_open_a_matter_here(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.create_matter(
            world["other_leader"],
            title="越权立项",
            content="x",
            source="leader",
            deadline=timezone.now() + timedelta(days=5),
            lead_unit=world.community_a,
            org_unit=world.subdistrict,
        )
    with pytest.raises(PermissionDenied):
        services.create_matter(
            world["comm_a"],
            title="x",
            content="x",
            source="leader",
            deadline=timezone.now() + timedelta(days=5),
        )


def test_create_checks_what_a_person_typed(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        services.create_matter(
            world["leader"], title=" ", content="", source="case", deadline=timezone.now() - timedelta(days=1)
        )
    text = " ".join(refused.value.messages)
    for part in ("事项名称", "督办内容", "来源工单", "办理时限", "牵头"):
        assert part in text


def test_matter_numbers_are_readable_and_unique(make_matter: MakeMatter) -> None:
    first, second = make_matter("opened"), make_matter("opened")
    year = timezone.localtime().year
    assert first.number == f"DB{year}00001" and second.number == f"DB{year}00002"
