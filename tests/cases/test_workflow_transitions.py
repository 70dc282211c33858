"""Every transition of `workflow.TRANSITIONS`, allowed and refused: a persona who may (in the right state)
succeeds; a wrong role and a wrong scope get PermissionDenied, a wrong state a ValidationError, and a refusal
changes nothing (status, version, timeline, audit log)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from jiedao.audit.models import AuditEvent
from jiedao.cases import rules, services, workflow
from jiedao.cases.models import Case, Channel, PetitionType, Status
from tests.world import World

pytestmark = pytest.mark.django_db

Ctx = dict[str, Any]
MakeCase = Callable[..., Case]


def petition(catalog: Any) -> dict[str, Any]:
    return {
        "channel": Channel.VISIT,
        "category": catalog["petition-social"],
        "petition_type": PetitionType.CLAIM,
        "description": "反映低保审批迟迟没有结果，请求尽快办理",
    }


def setup_state(state: str, world: World, make_case: MakeCase, catalog: Any) -> tuple[Case, Ctx]:
    """A case in grid_a in the named state (plus what the step needs), made by the right personas."""
    ctx: Ctx = {}
    if state in ("registered", "accepted", "dispatched", "handling", "reported", "verified", "closed"):
        return make_case(state), ctx
    if state == "contested":
        case = make_case("dispatched")
        case = services.contest(
            world["grid_a"], case, version=case.version, reason_code="x", reason="非本网格"
        )
        return case, ctx
    if state == "extension":
        case = make_case("handling")
        case = services.request_extension(
            world["grid_a"], case, version=case.version, days=5, reason="待配件"
        )
        return case, ctx
    if state in ("whistled", "whistled_verified"):
        case = make_case("handling")
        case = services.whistle(world["leader"], case, version=case.version, departments=[world.dept_xinfang])
        if state == "whistled_verified":
            case = services.report(world["grid_a"], case, version=case.version, note="已处理")
            case = services.verify(world["comm_a"], case, version=case.version, note="已核实")
        return case, ctx
    if state == "two_accepted":
        ctx["into"] = make_case("accepted", description="同一路口占道摆摊，再次反映")
        return make_case("accepted"), ctx
    if state == "two_closed":
        ctx["into"] = make_case("accepted", description="同一路口占道摆摊，再次反映")
        return make_case("closed"), ctx
    if state == "petition_closed":
        return make_case("closed", **petition(catalog)), ctx
    if state == "petition_handling":
        return make_case("handling", **petition(catalog)), ctx
    if state == "under_review":
        case = make_case("closed", **petition(catalog))
        case = services.request_review(world["comm_a"], case, version=case.version, note="不服处理意见")
        return case, ctx
    raise AssertionError(state)


@dataclass(frozen=True)
class Spec:
    state: str
    actor: str
    call: Callable[[Any, Case, Ctx, World], Any]
    role: str  # in scope, but the wrong role
    scope: str  # the right kind of role, but out of scope
    wrong_state: str | None
    target: str | None  # None: the status does not change


SPECS: dict[str, Spec] = {
    "accept": Spec(
        "registered",
        "comm_a",
        lambda a, c, x, w: services.accept(a, c, version=c.version),
        "grid_a",
        "comm_b",
        "accepted",
        Status.ACCEPTED,
    ),
    "refuse": Spec(
        "registered",
        "comm_a",
        lambda a, c, x, w: services.refuse(a, c, version=c.version, reason="不属于本街道职责"),
        "grid_a",
        "comm_b",
        "dispatched",
        Status.NOT_ACCEPTED,
    ),
    "dispatch": Spec(
        "accepted",
        "comm_a",
        lambda a, c, x, w: services.dispatch(a, c, version=c.version, lead_unit=w.grid_a),
        "grid_a",
        "comm_b",
        "registered",
        Status.DISPATCHED,
    ),
    "sign": Spec(
        "dispatched",
        "grid_a",
        lambda a, c, x, w: services.sign(a, c, version=c.version),
        "volunteer",
        "grid_b",
        "handling",
        Status.HANDLING,
    ),
    "contest": Spec(
        "dispatched",
        "grid_a",
        lambda a, c, x, w: services.contest(
            a, c, version=c.version, reason_code="wrong", reason="不在本网格"
        ),
        "auditor",
        "grid_b",
        "handling",
        Status.CONTESTED,
    ),
    "decide_contest": Spec(
        "contested",
        "comm_a",
        lambda a, c, x, w: services.decide_contest(a, c, version=c.version, approve=True),
        "grid_a",
        "comm_b",
        "dispatched",
        Status.ACCEPTED,
    ),
    "report": Spec(
        "handling",
        "grid_a",
        lambda a, c, x, w: services.report(a, c, version=c.version, note="已劝离"),
        "volunteer",
        "grid_b",
        "dispatched",
        Status.REPORTED,
    ),
    "verify": Spec(
        "reported",
        "comm_a",
        lambda a, c, x, w: services.verify(a, c, version=c.version),
        "volunteer",
        "comm_b",
        "handling",
        Status.VERIFIED,
    ),
    "send_back": Spec(
        "reported",
        "comm_a",
        lambda a, c, x, w: services.send_back(a, c, version=c.version, note="仍有摊贩"),
        "auditor",
        "comm_b",
        "verified",
        Status.HANDLING,
    ),
    "close": Spec(
        "verified",
        "comm_a",
        lambda a, c, x, w: services.close(a, c, version=c.version, outcome="resolved", reply="已解决"),
        "grid_a",
        "comm_b",
        "reported",
        Status.CLOSED,
    ),
    "rate": Spec(
        "closed",
        "comm_a",
        lambda a, c, x, w: services.rate(a, c, version=c.version, rating="satisfied"),
        "grid_a",
        "comm_b",
        "verified",
        Status.RATED,
    ),
    "request_extension": Spec(
        "handling",
        "grid_a",
        lambda a, c, x, w: services.request_extension(a, c, version=c.version, days=3, reason="等待配件"),
        "volunteer",
        "grid_b",
        "reported",
        None,
    ),
    "decide_extension": Spec(
        "extension",
        "leader",
        lambda a, c, x, w: services.decide_extension(a, c, version=c.version, approve=True),
        "comm_a",
        "other_leader",
        "handling",  # no pending request
        None,
    ),
    "merge": Spec(
        "two_accepted",
        "comm_a",
        lambda a, c, x, w: services.merge(a, c, version=c.version, into=x["into"]),
        "grid_a",
        "comm_b",
        "two_closed",
        Status.MERGED,
    ),
    "escalate": Spec(
        "handling",
        "leader",
        lambda a, c, x, w: services.escalate(a, c, version=c.version, reason="涉及多个部门"),
        "comm_a",
        "other_leader",
        "closed",
        Status.ESCALATED,
    ),
    "whistle": Spec(
        "handling",
        "leader",
        lambda a, c, x, w: services.whistle(a, c, version=c.version, departments=[w.dept_xinfang]),
        "comm_a",
        "other_leader",
        "reported",
        None,
    ),
    "report_in": Spec(
        "whistled",
        "dept_xinfang",
        lambda a, c, x, w: services.report_in(a, c, version=c.version, note="已到场"),
        "volunteer",
        "grid_b",
        "whistled_verified",
        None,
    ),
    "request_review": Spec(
        "petition_closed",
        "comm_a",
        lambda a, c, x, w: services.request_review(a, c, version=c.version, note="不服"),
        "grid_a",
        "comm_b",
        "petition_handling",
        Status.UNDER_REVIEW,
    ),
    "answer_review": Spec(
        "under_review",
        "leader",
        lambda a, c, x, w: services.answer_review(a, c, version=c.version, reply="维持原处理意见"),
        "comm_a",
        "other_leader",
        "petition_closed",
        Status.CLOSED,
    ),
    "comment": Spec(
        "handling",
        "comm_a",
        lambda a, c, x, w: services.comment(a, c, note="已电话联系诉求人"),
        "auditor",
        "comm_b",
        None,
        None,
    ),
}


def test_every_transition_has_a_spec() -> None:
    assert set(SPECS) == set(workflow.TRANSITIONS)


def snapshot(case: Case) -> tuple[Any, ...]:
    case.refresh_from_db()
    events = AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk)).count()
    return (case.status, case.version, case.steps.count(), events, case.due_at)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_allowed_persona_succeeds(name: str, world: World, make_case: MakeCase, catalog: Any) -> None:
    spec = SPECS[name]
    case, ctx = setup_state(spec.state, world, make_case, catalog)
    case.refresh_from_db()
    before_status, before_version = case.status, case.version
    assert name in [t.name for t in rules.allowed(world[spec.actor], case)]
    spec.call(world[spec.actor], case, ctx, world)
    case.refresh_from_db()
    assert case.status == (spec.target or before_status)
    step = case.steps.order_by("-created_at", "-id").first()
    assert step is not None and step.action == name
    assert step.actor == world[spec.actor]
    kind = f"case.{name}"
    assert AuditEvent.objects.filter(kind=kind, object_id=str(case.pk)).count() == 1
    if name != "comment":  # a note does not change the case
        assert case.version == before_version + 1
        assert (step.from_status, step.to_status) == (before_status, case.status)


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("who", ["role", "scope"])
def test_wrong_role_or_scope_is_refused(
    name: str, who: str, world: World, make_case: MakeCase, catalog: Any
) -> None:
    spec = SPECS[name]
    case, ctx = setup_state(spec.state, world, make_case, catalog)
    persona = world[getattr(spec, who)]
    before = snapshot(case)
    assert name not in [t.name for t in rules.allowed(persona, case)]
    with pytest.raises(PermissionDenied):
        spec.call(persona, case, ctx, world)
    assert snapshot(case) == before


@pytest.mark.parametrize("name", sorted(n for n, s in SPECS.items() if s.wrong_state))
def test_wrong_state_is_refused(name: str, world: World, make_case: MakeCase, catalog: Any) -> None:
    spec = SPECS[name]
    assert spec.wrong_state is not None
    case, ctx = setup_state(spec.wrong_state, world, make_case, catalog)
    before = snapshot(case)
    assert name not in [t.name for t in rules.allowed(world[spec.actor], case)]
    with pytest.raises(ValidationError) as refused:
        spec.call(world[spec.actor], case, ctx, world)
    assert refused.value.messages  # a reason a person can read
    assert snapshot(case) == before


def test_public_rating_is_refused_before_the_case_is_closed(make_case: MakeCase) -> None:
    """The portal rates with actor=PUBLIC: the state is checked for it too."""
    case = make_case("handling")
    before = snapshot(case)
    with pytest.raises(ValidationError):
        services.rate(services.PUBLIC, case, version=case.version, rating="satisfied")
    assert snapshot(case) == before
    closed = make_case("closed")
    rated = services.rate(services.PUBLIC, closed, version=closed.version, rating="basic")
    assert rated.status == Status.RATED
    with pytest.raises(ValidationError):  # once only
        services.rate(services.PUBLIC, rated, version=rated.version, rating="unsatisfied")
    rated.refresh_from_db()
    assert rated.status == Status.RATED and rated.reopen_count == 0


def test_verification_by_the_reporter_is_refused(world: World, make_case: MakeCase) -> None:
    case = make_case("dispatched")
    case = services.sign(world["comm_a"], case, version=case.version)
    case = services.report(world["comm_a"], case, version=case.version, note="社区已处理")
    before = snapshot(case)
    with pytest.raises(PermissionDenied, match="经办人以外"):
        services.verify(world["comm_a"], case, version=case.version)
    with pytest.raises(PermissionDenied):
        services.send_back(world["comm_a"], case, version=case.version, note="自己退回")
    assert snapshot(case) == before
    assert "verify" not in [t.name for t in rules.allowed(world["comm_a"], case)]
    case = services.verify(world["leader"], case, version=case.version, note="领导核查")
    assert case.status == Status.VERIFIED


def test_handler_steps_need_the_lead_unit(world: World, make_case: MakeCase) -> None:
    """Dispatched to 信访办: community A's staff see the case but are not its handlers."""
    case = make_case("accepted")
    case = services.dispatch(world["comm_a"], case, version=case.version, lead_department=world.dept_xinfang)
    with pytest.raises(PermissionDenied, match="主办单位"):
        services.sign(world["comm_a"], case, version=case.version)
    with pytest.raises(PermissionDenied):
        services.sign(world["grid_a"], case, version=case.version)
    case = services.sign(world["dept_xinfang"], case, version=case.version)
    assert case.status == Status.HANDLING and case.handler == world["dept_xinfang"]
