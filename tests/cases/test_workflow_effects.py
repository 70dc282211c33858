"""The side effects of the workflow steps: timeline steps, audit events, notifications, SMS to requesters,
timed actions scheduled and cancelled; and the rules beside the main line (退单, 延期, 合并, 升级, 吹哨,
重办)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.cases import services
from jiedao.cases.models import Assignment, Case, Channel, Clock, PetitionType, Request, Status
from jiedao.core.models.deadlines import DueState
from jiedao.notifications import sms
from jiedao.notifications.models import Notification
from tests.world import World

pytestmark = pytest.mark.django_db

MakeCase = Callable[..., Case]
TZ = timezone.get_fixed_timezone(8 * 60)
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def clean_outbox() -> Iterator[None]:
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def pending(case: Case) -> dict[str, datetime]:
    return {
        c.kind: c.due_at for c in Clock.objects.filter(case=case, due_state=DueState.PENDING).order_by("pk")
    }


def actions(case: Case) -> list[str]:
    return list(case.steps.order_by("created_at", "id").values_list("action", flat=True))


def titles(user: Any) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("pk").values_list("title", flat=True))


def texts_to(phone: str) -> list[str]:
    return [m.text for m in sms.outbox if m.phone == phone]


def test_accept_sets_the_deadline_schedules_clocks_and_tells_the_requester(
    make_case: MakeCase, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("registered")
        assert pending(case) == {}
        with django_capture_on_commit_callbacks(execute=True):
            case = services.accept(world["comm_a"], case, version=case.version)
    # 一般 priority, default policy 10 working days: Mon 03-02 + 10 working days = Mon 03-16, 24:00.
    assert case.due_at == datetime(2026, 3, 17, 0, 0, tzinfo=TZ)
    assert "10工作日" in case.deadline_rule and "2026-03-16" in case.deadline_rule
    assert pending(case) == {"overdue": case.due_at, "remind": case.due_at - timedelta(hours=24)}
    assert AuditEvent.objects.filter(kind="case.accept", object_id=str(case.pk)).count() == 1
    assert [t for t in texts_to("13812345678") if case.number in t and "已受理" in t]


def test_dispatch_notifies_the_lead_unit_and_sign_ends_the_response_clock(
    make_case: MakeCase, world: World
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("dispatched")
    lead = case.assignments.get(role=Assignment.Role.LEAD, state=Assignment.State.ACTIVE)
    assert lead.unit == world.grid_a and case.lead_unit == world.grid_a and case.dispatched_at == MONDAY
    assert titles(world["grid_a"]) == [f"新派工单 {case.number}：{case.title}"]
    assert titles(world["grid_b"]) == []
    assert pending(case)["response"] == MONDAY + timedelta(hours=24)
    with time_machine.travel(MONDAY + timedelta(hours=1), tick=False):
        case = services.sign(world["grid_a"], case, version=case.version)
    assert "response" not in pending(case) and set(pending(case)) == {"overdue", "remind"}
    assert case.handler == world["grid_a"] and case.responded_at is not None


def test_close_cancels_clocks_and_tells_the_requester(
    make_case: MakeCase, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    case = make_case("verified")
    assert pending(case)
    with django_capture_on_commit_callbacks(execute=True):
        case = services.close(
            world["comm_a"], case, version=case.version, outcome="partial", reply="部分解决"
        )
    assert pending(case) == {}
    assert Clock.objects.filter(case=case, due_state=DueState.CANCELLED).exists()
    assert case.closed_at is not None and case.outcome == "partial"
    assert any("已办结（部分解决）" in t for t in texts_to("13812345678"))
    with pytest.raises(ValidationError):
        services.close(world["comm_a"], make_case("verified"), version=None, outcome="bogus", reply="")


def test_unsatisfied_rating_reopens_with_a_fresh_deadline(make_case: MakeCase, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("closed")
    old_due = case.due_at
    assert old_due is not None
    later = MONDAY + timedelta(days=14)  # Mon 03-16
    with time_machine.travel(later, tick=False):
        case = services.rate(
            services.PUBLIC, case, version=case.version, rating="unsatisfied", comment="没解决"
        )
    assert case.status == Status.HANDLING and case.reopen_count == 1
    assert case.outcome == "" and case.closed_at is None and case.rating == "unsatisfied"
    assert case.due_at == datetime(2026, 3, 31, 0, 0, tzinfo=TZ)  # 10 working days from 03-16
    assert case.due_at > old_due
    assert actions(case)[-2:] == ["rate", "reopen"]
    assert (
        AuditEvent.objects.filter(kind="case.reopen", object_id=str(case.pk)).get().data["reopen_count"] == 1
    )
    assert f"工单 {case.number} 评价不满意，重办" in titles(world["grid_a"])
    assert pending(case)["overdue"] == case.due_at
    # The lead unit handles it again and the loop closes once more.
    case = services.report(world["grid_a"], case, version=case.version, note="再次清理")
    assert case.status == Status.REPORTED


def test_satisfied_rating_ends_the_loop(make_case: MakeCase) -> None:
    case = make_case("closed")
    case = services.rate(services.PUBLIC, case, version=case.version, rating="satisfied")
    assert case.status == Status.RATED and case.reopen_count == 0 and case.rated_at is not None


def test_merge_tells_every_requester_and_repoints_earlier_merges(
    make_case: MakeCase, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    first = make_case("accepted", requester_phone="13800000001")
    second = make_case("dispatched", requester_phone="13800000002")
    third = make_case("handling", requester_phone="13800000003")
    with django_capture_on_commit_callbacks(execute=True):
        first = services.merge(world["comm_a"], first, version=first.version, into=second, note="同一摊点")
    assert first.status == Status.MERGED and first.merged_into == second and pending(first) == {}
    assert texts_to("13800000001")[-1].count(second.number) == 1
    second.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        second = services.merge(world["comm_a"], second, version=second.version, into=third)
    first.refresh_from_db()
    assert first.merged_into == third and second.merged_into == third
    assert third.number in texts_to("13800000001")[-1]
    assert third.number in texts_to("13800000002")[-1]
    assert texts_to("13800000003") == []  # the case that goes on is not told it was merged into
    assert actions(third)[-1] == "merged_in"
    merged_in = third.steps.get(action="merged_in")
    assert merged_in.data == {"from": second.number, "also": [first.number]}
    with pytest.raises(ValidationError):  # into a case that is no longer open
        services.merge(world["comm_a"], make_case("accepted"), version=None, into=first)
    with pytest.raises(ValidationError):  # into itself
        services.merge(world["comm_a"], third, version=None, into=third)


def test_merge_into_a_case_out_of_sight_is_refused(make_case: MakeCase, world: World, catalog: Any) -> None:
    mine = make_case("accepted")
    elsewhere = services.create_case(
        world["comm_b"],
        channel=Channel.GRID,
        category=catalog["city-stall"],
        org_unit=world.grid_b,
        description="新郑路社区门口占道经营",
    )
    with pytest.raises(ValidationError, match="找不到"):
        services.merge(world["comm_a"], mine, version=mine.version, into=elsewhere)
    mine.refresh_from_db()
    assert mine.status == Status.ACCEPTED


def test_contest_approved_goes_back_to_dispatch(make_case: MakeCase, world: World) -> None:
    """Reported in community A, dispatched to grid_a (the place narrows to that grid); grid_a says it is not
    theirs: once approved, the place is community A again and grid_a2 may take it."""
    case = make_case("accepted", org_unit=world.community_a)
    case = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a)
    assert case.org_unit == world.grid_a
    case = services.contest(world["grid_a"], case, version=case.version, reason_code="x", reason="不是本网格")
    assert case.status == Status.CONTESTED
    assert f"工单 {case.number} 被退单，请审核" in titles(world["comm_a"])  # the dispatcher reviews
    with pytest.raises(ValidationError):  # a second contest while one is pending
        services.contest(world["grid_a"], case, version=case.version, reason_code="x", reason="再退")
    case = services.decide_contest(world["comm_a"], case, version=case.version, approve=True, note="改派")
    assert case.status == Status.ACCEPTED and case.lead_unit is None
    assert case.org_unit == world.community_a and case.org_path == world.community_a.path
    assert not case.assignments.filter(state=Assignment.State.ACTIVE).exists()
    assert case.requests.get(kind=Request.Kind.CONTEST).decision == Request.Decision.APPROVED
    assert any("退单已同意" in t for t in titles(world["grid_a"]))
    case = services.dispatch(world["comm_a"], case, version=case.version, lead_unit=world.grid_a2)
    assert case.status == Status.DISPATCHED and case.lead_unit == world.grid_a2


def test_contest_refused_goes_back_to_the_lead_unit(make_case: MakeCase, world: World) -> None:
    case = make_case("dispatched")
    case = services.contest(world["grid_a"], case, version=case.version, reason_code="x", reason="人手不够")
    with pytest.raises(ValidationError, match="理由"):
        services.decide_contest(world["comm_a"], case, version=case.version, approve=False)
    case.refresh_from_db()
    assert case.status == Status.CONTESTED
    assert case.requests.get().decision == Request.Decision.PENDING
    case = services.decide_contest(world["comm_a"], case, version=case.version, approve=False, note="属地")
    assert case.status == Status.DISPATCHED and case.lead_unit == world.grid_a
    assert case.requests.get().decision == Request.Decision.REFUSED
    assert any("退单被驳回" in t for t in titles(world["grid_a"]))
    case = services.sign(world["grid_a"], case, version=case.version)
    assert case.status == Status.HANDLING


def petition_kwargs(catalog: Any, **extra: Any) -> dict[str, Any]:
    return {
        "channel": Channel.VISIT,
        "category": catalog["petition-social"],
        "petition_type": PetitionType.CLAIM,
        "description": "反映低保审批迟迟没有结果，请求尽快办理",
        **extra,
    }


def test_petition_may_object_to_a_transfer_only_within_5_working_days(
    make_case: MakeCase, world: World, catalog: Any
) -> None:
    # Dispatched Thu 2026-02-12: working days 02-13, 02-14 (make-up Saturday), then 02-24, 02-25, 02-26.
    dispatched = datetime(2026, 2, 12, 10, 0, tzinfo=TZ)
    with time_machine.travel(dispatched, tick=False):
        late = make_case("dispatched", **petition_kwargs(catalog))
        in_time = make_case("dispatched", **petition_kwargs(catalog))
        ordinary = make_case("dispatched")
    with time_machine.travel(datetime(2026, 2, 27, 0, 30, tzinfo=TZ), tick=False):
        with pytest.raises(ValidationError, match="5 个工作日") as refused:
            services.contest(world["grid_a"], late, version=late.version, reason_code="x", reason="转错")
        assert "2026-02-26" in str(refused.value)
        ordinary = services.contest(
            world["grid_a"], ordinary, version=ordinary.version, reason_code="x", reason="转错"
        )
    late.refresh_from_db()
    assert late.status == Status.DISPATCHED and not late.requests.exists()
    assert ordinary.status == Status.CONTESTED  # the window is for petitions
    with time_machine.travel(datetime(2026, 2, 26, 23, 0, tzinfo=TZ), tick=False):
        in_time = services.contest(
            world["grid_a"], in_time, version=in_time.version, reason_code="x", reason="转错"
        )
    assert in_time.status == Status.CONTESTED


def test_extension_approved_moves_the_deadline_and_tells_the_requester_why(
    make_case: MakeCase, world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = make_case("handling")
        old_due = case.due_at
        assert old_due is not None
        case = services.request_extension(
            world["grid_a"], case, version=case.version, days=5, reason="等待配件到货"
        )
        assert case.due_at == old_due and case.status == Status.HANDLING
        assert f"工单 {case.number} 申请延期，请审批" in titles(world["leader"])
        with pytest.raises(ValidationError, match="等待审批"):
            services.request_extension(world["grid_a"], case, version=case.version, days=2, reason="再延")
        with django_capture_on_commit_callbacks(execute=True):
            case = services.decide_extension(world["leader"], case, version=case.version, approve=True)
    # 03-16 24:00 + 5 日 is Saturday 03-21: the extended period ends on the next working day, Monday 03-23.
    assert case.due_at == old_due + timedelta(days=7) and case.extension_days == 5
    assert case.deadline_rule.startswith("经批准延期 5 日")
    assert pending(case)["overdue"] == case.due_at
    assert any("延长 5 日" in t and "等待配件到货" in t for t in texts_to("13812345678"))
    assert f"工单 {case.number} 延期已批准" in titles(world["grid_a"])
    assert actions(case)[-2:] == ["request_extension", "decide_extension"]
    # An ordinary case may ask again.
    case = services.request_extension(world["grid_a"], case, version=case.version, days=3, reason="仍缺配件")
    assert case.requests.filter(decision=Request.Decision.PENDING).count() == 1


def test_extension_refused_needs_a_reason_and_keeps_the_deadline(make_case: MakeCase, world: World) -> None:
    case = make_case("handling")
    old_due = case.due_at
    case = services.request_extension(world["grid_a"], case, version=case.version, days=5, reason="等待配件")
    with pytest.raises(ValidationError, match="理由"):
        services.decide_extension(world["leader"], case, version=case.version, approve=False, note=" ")
    case.refresh_from_db()
    assert case.requests.get().decision == Request.Decision.PENDING
    case = services.decide_extension(
        world["leader"], case, version=case.version, approve=False, note="可先修"
    )
    assert case.due_at == old_due and case.extension_days == 0
    assert case.requests.get().decision == Request.Decision.REFUSED
    assert f"工单 {case.number} 延期未获批准" in titles(world["grid_a"])


def test_extension_input_is_checked(make_case: MakeCase, world: World) -> None:
    case = make_case("handling")
    for days, reason in ((0, "理由"), (31, "理由"), (3, "  ")):
        with pytest.raises(ValidationError):
            services.request_extension(world["grid_a"], case, version=case.version, days=days, reason=reason)
    assert not case.requests.exists()


def test_petition_extends_once_by_at_most_30_days(make_case: MakeCase, world: World, catalog: Any) -> None:
    case = make_case("handling", **petition_kwargs(catalog))
    with pytest.raises(ValidationError, match="30"):
        services.request_extension(world["grid_a"], case, version=case.version, days=31, reason="情况复杂")
    case = services.request_extension(world["grid_a"], case, version=case.version, days=30, reason="情况复杂")
    case = services.decide_extension(world["leader"], case, version=case.version, approve=True)
    assert case.extension_days == 30
    with pytest.raises(ValidationError, match="只能延期一次"):
        services.request_extension(world["grid_a"], case, version=case.version, days=1, reason="再延")
    assert case.requests.count() == 1


def test_escalation_notifies_district_staff(make_case: MakeCase, world: World) -> None:
    case = make_case("handling")
    case = services.escalate(world["leader"], case, version=case.version, reason="跨区域，需区级协调")
    assert case.status == Status.ESCALATED and case.escalated
    assert titles(world["district"]) == [f"街道上报工单 {case.number}，请区级处理"]
    assert titles(world["other_leader"]) == []
    with pytest.raises(ValidationError):
        services.escalate(world["leader"], make_case("handling"), version=None, reason="")
    # The district takes it from there: it may dispatch again.
    case = services.dispatch(world["district"], case, version=case.version, lead_unit=world.community_a)
    assert case.status == Status.DISPATCHED


def test_whistle_called_departments_report_in_once(make_case: MakeCase, world: World) -> None:
    case = make_case("handling")
    case = services.whistle(
        world["leader"], case, version=case.version, departments=[world.dept_xinfang], note="联合处置"
    )
    assert titles(world["dept_xinfang"]) == [f"吹哨：请到工单 {case.number} 报到"]
    called = case.assignments.get(role=Assignment.Role.WHISTLE)
    assert called.state == Assignment.State.PENDING and called.department == world.dept_xinfang
    case = services.report_in(world["dept_xinfang"], case, version=case.version, note="已到场")
    called.refresh_from_db()
    assert called.state == Assignment.State.CONFIRMED and called.confirmed_by == world["dept_xinfang"]
    case.refresh_from_db()
    with pytest.raises(ValidationError, match="已经报到"):
        services.report_in(world["dept_xinfang"], case, version=case.version)
    with pytest.raises(ValidationError):  # never called
        services.report_in(world["grid_a"], case, version=case.version)
    assert case.steps.filter(action="report_in").count() == 1
    with pytest.raises(ValidationError):
        services.whistle(world["leader"], case, version=case.version)


def test_escalated_contest_is_answered_by_the_new_dispatch(make_case: MakeCase, world: World) -> None:
    """退单 → 升级 → the district dispatches again: the old contest is answered, and the new lead unit may
    contest in its turn."""
    case = make_case("dispatched")
    case = services.contest(world["grid_a"], case, version=case.version, reason_code="x", reason="非本网格")
    case = services.escalate(world["leader"], case, version=case.version, reason="需区级协调")
    case = services.dispatch(world["district"], case, version=case.version, lead_unit=world.grid_a)
    old = case.requests.get(kind=Request.Kind.CONTEST)
    assert old.decision == Request.Decision.APPROVED and old.decided_by == world["district"]
    case = services.contest(world["grid_a"], case, version=case.version, reason_code="x", reason="仍非本网格")
    assert case.status == Status.CONTESTED
    assert case.requests.filter(decision=Request.Decision.PENDING).count() == 1
