"""The projects services: who may do what (by role and scope), optimistic versions, double submits, history,
audit events, the problem reminder on the shared deadline engine, upload checks."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.core.models import DueState, Reminder
from jiedao.projects import services
from jiedao.projects.models import KeyProject, Problem, ProblemStatus
from tests.projects import helpers
from tests.world import World


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("leader", True),
        ("dept_xinfang", True),
        ("admin", True),
        ("comm_a", False),
        ("grid_a", False),
        ("volunteer", False),
        ("auditor", False),
        ("district", False),
        ("other_leader", False),
    ],
)
def test_create_project_by_role(world: World, username: str, allowed: bool) -> None:
    data = {
        "name": "新建测试项目",
        "kind": "public",
        "org_unit": world.community_a,
        "leader": world["leader"],
    }
    if allowed:
        project = services.create_project(world[username], data)
        assert project.org_path == world.community_a.path
        assert project.stalled_after is not None
    else:
        with pytest.raises(PermissionDenied):
            services.create_project(world[username], data)


def test_a_leader_cannot_move_a_project_out_of_scope(world: World) -> None:
    project = helpers.project(world)
    with pytest.raises(PermissionDenied):
        services.update_project(
            world["leader"], project, {"org_unit": world.other_community}, project.version
        )


def test_concurrent_edit_is_refused_with_a_message(world: World) -> None:
    project = helpers.project(world)
    seen = project.version
    services.update_project(world["leader"], project, {"stage": "completed"}, seen)
    with pytest.raises(services.ConflictError) as exc:
        services.update_project(world["dept_xinfang"], project, {"owner_company": "别的公司"}, seen)
    assert "已被他人修改" in exc.value.messages[0]
    project.refresh_from_db()
    assert project.stage == "completed" and project.owner_company == "测试置业有限公司"


def test_duplicate_name_and_double_submit(world: World) -> None:
    project = helpers.project(world)
    again = services.create_project(
        world["leader"], {"name": helpers.NAME, "kind": "public", "org_unit": world.community_a}
    )
    assert again.pk == project.pk  # the same form sent twice
    assert KeyProject.objects.filter(name=helpers.NAME).count() == 1
    with pytest.raises(ValidationError, match="已有名为"):
        services.create_project(
            world["dept_xinfang"], {"name": helpers.NAME, "kind": "public", "org_unit": world.community_a}
        )


def test_changes_are_kept_as_history_and_audit_events(world: World) -> None:
    project = helpers.project(world)
    services.update_project(world["leader"], project, {"stage": "completed"}, project.version)
    services.set_investment(world["leader"], project, timezone.localdate(), Decimal("50"), Decimal("10"))
    services.set_investment(world["leader"], project, timezone.localdate(), Decimal("50"), Decimal("20"))
    history = list(project.history.order_by("history_id"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert history[-1].stage == "completed" and history[-1].history_user == world["leader"]
    entry = project.investments.get()
    assert [h.completed for h in entry.history.order_by("history_id")] == [Decimal("10"), Decimal("20")]
    kinds = list(AuditEvent.objects.filter(object_id=str(project.pk)).values_list("kind", flat=True))
    assert (
        kinds.count("projects.investment") == 2 and "projects.change" in kinds and "projects.create" in kinds
    )
    change = AuditEvent.objects.filter(kind="projects.change", object_id=str(project.pk)).get()
    assert change.data["changes"]["stage"] == ["construction", "completed"]


def test_progress_moves_the_stall_clock(world: World) -> None:
    project = helpers.project(world)
    old = timezone.now() - timedelta(days=60)
    KeyProject.objects.filter(pk=project.pk).update(
        last_progress_at=old, stalled_after=old + timedelta(days=30)
    )
    assert KeyProject.objects.stalled().filter(pk=project.pk).exists()
    services.set_investment(world["leader"], project, timezone.localdate(), Decimal("5"), Decimal("0"))
    assert KeyProject.objects.stalled().filter(pk=project.pk).exists()  # planned money is no progress
    services.add_note(world["comm_a"], project, "围挡已完成")
    project.refresh_from_db()
    assert not KeyProject.objects.stalled().filter(pk=project.pk).exists()
    assert project.stalled_after is not None
    assert project.stalled_after > timezone.now() + timedelta(days=29)


def test_community_staff_report_progress_only_in_their_community(world: World) -> None:
    project = helpers.project(world)
    with pytest.raises(PermissionDenied):
        services.add_note(world["comm_b"], project, "进展")
    with pytest.raises(PermissionDenied):
        services.set_investment(world["comm_a"], project, timezone.localdate(), Decimal("1"), Decimal("1"))
    with pytest.raises(PermissionDenied):
        services.add_note(world["grid_a"], project, "进展")


def test_future_completed_money_and_negative_values_are_refused(world: World) -> None:
    project = helpers.project(world)
    with pytest.raises(ValidationError, match="未来月份"):
        services.set_investment(
            world["leader"], project, timezone.localdate() + timedelta(days=40), Decimal("1"), Decimal("1")
        )
    with pytest.raises(ValidationError, match="负数"):
        services.set_investment(world["leader"], project, timezone.localdate(), Decimal("-1"), Decimal("0"))


def test_problem_reminds_its_owner_and_is_rescheduled(world: World) -> None:
    project = helpers.project(world)
    due = timezone.localdate() + timedelta(days=3)
    problem = services.add_problem(
        world["leader"], project, description="占道施工", owner=world["dept_xinfang"], due_date=due
    )
    assert problem.reminder_id is not None
    reminder = Reminder.objects.get(pk=problem.reminder_id)
    assert reminder.recipient == world["dept_xinfang"] and reminder.due_state == DueState.PENDING
    assert timezone.localtime(reminder.due_at).date() == due
    later = due + timedelta(days=7)
    problem = services.update_problem(world["leader"], problem, {"due_date": later}, problem.version)
    reminder.refresh_from_db()
    assert reminder.due_state == DueState.CANCELLED
    assert problem.reminder_id is not None
    assert timezone.localtime(Reminder.objects.get(pk=problem.reminder_id).due_at).date() == later
    # The owner solves it; the reminder is withdrawn.
    problem = services.update_problem(
        world["dept_xinfang"],
        problem,
        {"status": ProblemStatus.SOLVED, "solution": "已协调"},
        problem.version,
    )
    assert problem.solved_at is not None and problem.reminder_id is None
    assert not Reminder.objects.filter(object_id=str(problem.pk), due_state=DueState.PENDING).exists()


def test_problem_owner_must_see_the_project_and_others_may_not_solve(world: World) -> None:
    project = helpers.project(world)
    with pytest.raises(ValidationError, match="看不到该项目"):
        services.add_problem(
            world["leader"], project, description="x", owner=world["grid_a"], due_date=timezone.localdate()
        )
    problem = services.add_problem(
        world["leader"], project, description="y", owner=world["dept_xinfang"], due_date=timezone.localdate()
    )
    with pytest.raises(PermissionDenied):
        services.update_problem(world["comm_a"], problem, {"status": "solved", "solution": "z"}, None)
    with pytest.raises(ValidationError, match="解决情况"):
        services.update_problem(world["dept_xinfang"], problem, {"status": "solved", "solution": ""}, None)


def test_overdue_flag(world: World) -> None:
    project = helpers.project(world)
    problem = services.add_problem(
        world["leader"],
        project,
        description="逾期",
        owner=world["leader"],
        due_date=timezone.localdate() - timedelta(days=1),
    )
    assert problem.is_overdue()
    assert not Problem(status="solved", due_date=problem.due_date).is_overdue()


def test_attachments_are_checked(world: World) -> None:
    project = helpers.project(world)
    with pytest.raises(ValidationError, match="不受支持"):
        services.add_attachment(world["leader"], project, SimpleUploadedFile("x.exe", b"MZ"))
    with pytest.raises(ValidationError, match="空文件"):
        services.add_attachment(world["leader"], project, SimpleUploadedFile("x.pdf", b""))
    item = services.add_attachment(world["leader"], project, SimpleUploadedFile("x.pdf", b"%PDF"))
    assert item.size == 4 and item.content_type == "application/pdf"
    services.remove_attachment(world["leader"], item)
    item.refresh_from_db()
    assert item.is_removed and item.history.count() == 2


def test_meetings_and_decisions(world: World) -> None:
    meeting = helpers.meeting(world)
    assert meeting.decisions.count() == 1
    with pytest.raises(PermissionDenied):
        services.save_decision(world["comm_a"], meeting, {"content": "x"})
    with pytest.raises(PermissionDenied):
        services.update_meeting(world["other_leader"], meeting, {"title": "改"}, meeting.version)
    services.update_meeting(
        world["leader"], meeting, {"present": [world["leader"], world["dept_xinfang"]]}, meeting.version
    )
    assert meeting.present.count() == 2
    with pytest.raises(services.ConflictError):
        services.update_meeting(world["leader"], meeting, {"title": "旧版本"}, 1)
    again = services.save_decision(world["leader"], meeting, {"content": "一周内完成管线迁改方案"})
    assert meeting.decisions.count() == 1 and again.pk == meeting.decisions.get().pk
