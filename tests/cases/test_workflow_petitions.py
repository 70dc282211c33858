"""Petitions (信访): 复查/复核 within 30 days of the reply and nothing after 复核 (a new petition on the same
facts is registered as 不予受理 with the reason); accusations are confidential and never reach the accused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiedao.cases import routing, rules, services
from jiedao.cases.models import Assignment, Case, Channel, Clock, PetitionType, Status
from jiedao.core.models.deadlines import DueState
from jiedao.notifications import sms
from tests.world import World

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
TZ = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture(autouse=True)
def clean_outbox() -> Iterator[None]:
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def claim(catalog: Any, **extra: Any) -> dict[str, Any]:
    return {
        "channel": Channel.VISIT,
        "category": catalog["petition-social"],
        "petition_type": PetitionType.CLAIM,
        "description": "反映低保审批迟迟没有结果，请求尽快办理",
        **extra,
    }


def test_review_then_re_review_then_no_more(
    make_case: MakeCase, world: World, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    replied = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)
    with time_machine.travel(replied, tick=False):
        case = make_case("closed", **claim(catalog))
    assert case.review_level == 0 and case.leader_in_charge == world["leader"]
    # 30 days from the day after 03-02: 04-01 (a Wednesday), 24:00.
    with time_machine.travel(datetime(2026, 4, 1, 23, 0, tzinfo=TZ), tick=False):
        case = services.request_review(world["comm_a"], case, version=case.version, note="不服处理意见")
    assert case.status == Status.UNDER_REVIEW
    # 30 days from 04-01: 05-01, in the 劳动节 holiday (05-01…05-05) → Wed 05-06.
    assert case.due_at == datetime(2026, 5, 7, 0, 0, tzinfo=TZ)
    assert "复查" in case.deadline_rule
    kinds = set(Clock.objects.filter(case=case, due_state=DueState.PENDING).values_list("kind", flat=True))
    assert kinds == {"review_answer"}
    assert any("申请复查/复核" in n.title for n in world["leader"].notifications.all())
    with django_capture_on_commit_callbacks(execute=True):
        case = services.answer_review(world["leader"], case, version=case.version, reply="维持原意见")
    assert case.status == Status.CLOSED and case.review_level == 1
    assert any("复查意见已出具" in m.text for m in sms.outbox)
    case = services.request_review(world["comm_a"], case, version=case.version, note="申请复核")
    assert case.steps.filter(action="request_review").last().data == {"level": 2}  # type: ignore[union-attr]
    assert "复核" in case.deadline_rule
    case = services.answer_review(world["district"], case, version=case.version, reply="复核维持")
    assert case.review_level == 2
    assert "request_review" not in [t.name for t in rules.allowed(world["comm_a"], case)]
    with pytest.raises(ValidationError, match="已经复核"):
        services.request_review(world["comm_a"], case, version=case.version, note="再申请")
    case.refresh_from_db()
    assert case.status == Status.CLOSED


def test_review_window_is_30_days_from_the_reply(make_case: MakeCase, world: World, catalog: Any) -> None:
    with time_machine.travel(datetime(2026, 3, 2, 10, 0, tzinfo=TZ), tick=False):
        case = make_case("closed", **claim(catalog))
    with time_machine.travel(datetime(2026, 4, 2, 0, 1, tzinfo=TZ), tick=False):
        assert "request_review" not in [t.name for t in rules.allowed(world["comm_a"], case)]
        with pytest.raises(ValidationError, match="30 日内提出") as refused:
            services.request_review(world["comm_a"], case, version=case.version, note="逾期申请")
    assert "2026-04-01" in str(refused.value)
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.review_level == 0


def test_ordinary_cases_have_no_review(make_case: MakeCase, world: World) -> None:
    case = make_case("closed")
    with pytest.raises(ValidationError, match="信访件"):
        services.request_review(world["comm_a"], case, version=case.version, note="不服")


def test_same_facts_after_re_review_are_not_accepted(
    make_case: MakeCase, world: World, catalog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case("closed", **claim(catalog))
    for level in (1, 2):
        case = services.request_review(world["comm_a"], case, version=case.version, note="不服")
        case = services.answer_review(world["leader"], case, version=case.version, reply=f"第{level}次答复")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.create_case(
            world["comm_a"],
            org_unit=world.grid_a,
            requester_phone="13912340000",
            same_facts_as=case,
            **claim(catalog),
        )
    assert again.status == Status.NOT_ACCEPTED
    assert case.number in again.reply and "不再受理" in again.reply
    assert again.steps.get().note == again.reply
    assert again.closed_at is not None  # answered at once, like any 不予受理
    assert not Clock.objects.filter(case=again, due_state=DueState.PENDING).exists()
    assert [m.phone for m in sms.outbox if case.number in m.text] == ["13912340000"]
    # Before 复核 a petition on the same facts is an ordinary new petition.
    first = make_case("closed", **claim(catalog))
    fresh = services.create_case(
        world["comm_a"], org_unit=world.grid_a, anonymous=True, same_facts_as=first, **claim(catalog)
    )
    assert fresh.status == Status.REGISTERED


# --- accusations ------------------------------------------------------------------------------------------


def accusation(world: World, catalog: Any, **accused: Any) -> Case:
    case = services.create_case(
        world["dept_xinfang"],
        channel=Channel.LETTER,
        category=catalog["petition-conduct"],
        org_unit=world.grid_a,
        description="检举社区工作人员优亲厚友，违规办理低保",
        petition_type=PetitionType.ACCUSATION,
        requester_phone="13700000000",
        **accused,
    )
    return services.accept(world["dept_xinfang"], case, version=case.version)


def test_accusation_is_confidential_automatically(world: World, catalog: Any) -> None:
    case = accusation(world, catalog, accused_unit=world.community_a)
    assert case.confidential
    assert Case.objects.visible_to(world["dept_xinfang"]).filter(pk=case.pk).exists()
    assert Case.objects.visible_to(world["leader"]).filter(pk=case.pk).exists()
    for outsider in ("comm_a", "grid_a", "comm_b"):
        assert not Case.objects.visible_to(world[outsider]).filter(pk=case.pk).exists(), outsider
    with pytest.raises(ValidationError, match="被检举控告"):
        services.create_case(
            world["dept_xinfang"],
            channel=Channel.LETTER,
            category=catalog["petition-conduct"],
            org_unit=world.grid_a,
            description="检举但未写明被检举对象",
            petition_type=PetitionType.ACCUSATION,
            anonymous=True,
        )


def test_accusation_against_the_locality_goes_to_the_petition_office(world: World, catalog: Any) -> None:
    case = accusation(world, catalog, accused_unit=world.community_a)
    route = routing.route(case)
    assert route.department == world.dept_xinfang and route.unit is None
    case = services.dispatch(world["dept_xinfang"], case, version=case.version)
    assert case.lead_department == world.dept_xinfang and case.status == Status.DISPATCHED


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lead_unit": "community_a"},
        {"lead_unit": "grid_a"},
        {"lead_department": "dept_xinfang", "co_units": ["grid_a"]},
    ],
)
def test_accusation_is_never_dispatched_to_the_accused_unit(
    world: World, catalog: Any, kwargs: dict[str, Any]
) -> None:
    case = accusation(world, catalog, accused_unit=world.community_a)
    args: dict[str, Any] = {
        k: [getattr(world, u) for u in v] if isinstance(v, list) else getattr(world, v)
        for k, v in kwargs.items()
    }
    with pytest.raises(ValidationError, match="被检举控告"):
        services.dispatch(world["dept_xinfang"], case, version=case.version, **args)
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED and not case.assignments.exists()


def test_accusation_against_a_department_avoids_it(world: World, catalog: Any) -> None:
    case = accusation(world, catalog, accused_department=world.dept_party)
    with pytest.raises(ValidationError):
        services.dispatch(world["leader"], case, version=case.version, lead_department=world.dept_party)
    with pytest.raises(ValidationError):
        services.dispatch(
            world["leader"],
            case,
            version=case.version,
            lead_department=world.dept_xinfang,
            co_departments=[world.dept_party],
        )
    assert routing.route(case).unit == world.community_a  # 属地 is not accused
    case = services.dispatch(world["leader"], case, version=case.version, lead_department=world.dept_xinfang)
    case = services.sign(world["dept_xinfang"], case, version=case.version)
    with pytest.raises(ValidationError, match="被检举控告"):
        services.whistle(world["leader"], case, version=case.version, departments=[world.dept_party])
    assert not case.assignments.filter(role=Assignment.Role.WHISTLE).exists()


def test_accusation_is_never_whistled_to_the_accused_unit(world: World, catalog: Any) -> None:
    case = accusation(world, catalog, accused_unit=world.community_a)
    case = services.dispatch(world["leader"], case, version=case.version)
    case = services.sign(world["dept_xinfang"], case, version=case.version)
    for unit in (world.community_a, world.grid_a):
        with pytest.raises(ValidationError, match="被检举控告"):
            services.whistle(world["leader"], case, version=case.version, units=[unit])
    assert not case.assignments.filter(role=Assignment.Role.WHISTLE).exists()
    case = services.whistle(world["leader"], case, version=case.version, units=[world.community_b])
    assert case.assignments.get(role=Assignment.Role.WHISTLE).unit == world.community_b


def test_outsiders_cannot_act_on_a_confidential_case(world: World, catalog: Any) -> None:
    case = accusation(world, catalog, accused_department=world.dept_party)
    for persona in ("other_leader", "grid_b"):
        with pytest.raises(PermissionDenied):
            services.dispatch(world[persona], case, version=case.version, lead_department=world.dept_xinfang)


def test_petition_acceptance_and_finish_deadlines(world: World, catalog: Any) -> None:
    # Received Tue 2026-02-03: 15 days → 02-18, inside the Spring Festival (02-15…02-23) → 02-24.
    received = datetime(2026, 2, 3, 9, 0, tzinfo=TZ)
    with time_machine.travel(received, tick=False):
        case = services.create_case(world["comm_a"], org_unit=world.grid_a, anonymous=True, **claim(catalog))
    assert case.due_at == datetime(2026, 2, 25, 0, 0, tzinfo=TZ)
    assert "15 日内告知是否受理" in case.deadline_rule and "顺延至 2026-02-24" in case.deadline_rule
    clock = Clock.objects.get(case=case, due_state=DueState.PENDING)
    assert (clock.kind, clock.due_at) == ("petition_accept", case.due_at)
    # Accepted Tue 2026-02-10: day 60 is Sat 04-11, a rest day → Mon 04-13.
    accepted = datetime(2026, 2, 10, 9, 0, tzinfo=TZ)
    with time_machine.travel(accepted, tick=False):
        case = services.accept(world["comm_a"], case, version=case.version)
    assert case.due_at == datetime(2026, 4, 14, 0, 0, tzinfo=TZ)
    assert "60 日内办结" in case.deadline_rule and "末日 2026-04-11" in case.deadline_rule
    assert case.warn_at == accepted + (case.due_at - accepted) * 0.75
    kinds = set(Clock.objects.filter(case=case, due_state=DueState.PENDING).values_list("kind", flat=True))
    assert kinds == {"overdue", "remind"}  # the acceptance clock is gone


def test_petition_finish_deadline_moves_past_the_holiday(world: World, catalog: Any) -> None:
    # Accepted Sun 2025-12-21 → day 60 is 2026-02-19, in the Spring Festival → 2026-02-24.
    accepted = datetime(2025, 12, 21, 9, 0, tzinfo=TZ)
    with time_machine.travel(accepted, tick=False):
        case = services.create_case(
            world["comm_a"], org_unit=world.grid_a, anonymous=True, accept=True, **claim(catalog)
        )
    assert case.due_at == datetime(2026, 2, 25, 0, 0, tzinfo=TZ)
    assert "末日 2026-02-19" in case.deadline_rule and "顺延至 2026-02-24" in case.deadline_rule
    assert timedelta(days=60) < case.due_at - accepted
