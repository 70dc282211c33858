"""The shortcuts on the hot write path of a case (portal submissions): the history row copied by the database
(`jiedao.core.history`) and the INSERT built once per model (`jiedao.core.models.fastinsert`) must write
exactly what Django and simple-history would have written, and step aside where they would differ."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from django.db import ProgrammingError, connection
from django.db.models.functions import Now
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.signals import pre_create_historical_record

from jiedao.cases import services
from jiedao.cases.models import Case, Step
from jiedao.core import history
from jiedao.core.history import HistoricalRecords
from jiedao.core.models import fastinsert
from tests.world import World

pytestmark = pytest.mark.django_db

HISTORY_OWN = {"history_id", "history_date", "history_change_reason", "history_type", "history_user"}


def _tracked(row: Any) -> dict[str, Any]:
    return {
        f.attname: getattr(row, f.attname)
        for f in type(row)._meta.concrete_fields
        if f.name not in HISTORY_OWN
    }


@pytest.fixture
def orm_history(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """simple-history's own way of writing history rows (the copy switched off)."""
    monkeypatch.setattr(HistoricalRecords, "_copy_statement", lambda self, *args: None)
    yield


def test_history_row_of_a_new_case_is_the_saved_row(make_case: Callable[..., Case], world: World) -> None:
    case = make_case()
    [row] = case.history.all()
    assert row.history_type == "+"
    assert row.history_user_id == world["comm_a"].pk
    saved = Case.objects.get(pk=case.pk)
    expected = {f.attname: getattr(saved, f.attname) for f in Case._meta.concrete_fields}
    assert _tracked(row) == {k: v for k, v in expected.items() if k in _tracked(row)}
    assert abs(row.history_date - timezone.now()) < timedelta(minutes=1)


def test_copied_rows_equal_simple_historys_own(
    make_case: Callable[..., Case], monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = make_case().history.get()
    with monkeypatch.context() as patch:
        patch.setattr(HistoricalRecords, "_copy_statement", lambda self, *args: None)
        written = make_case().history.get()
    a, b = _tracked(copied), _tracked(written)
    different = {k for k in a if a[k] != b[k]}
    # Only what differs between two cases made one after the other may differ.
    assert different <= {"id", "number", "received_at", "created_at", "updated_at", "idempotency_key"}
    assert (copied.history_type, copied.history_user_id, copied.history_change_reason) == (
        written.history_type,
        written.history_user_id,
        written.history_change_reason,
    )


def test_update_of_a_partly_loaded_case_records_the_whole_row(make_case: Callable[..., Case]) -> None:
    case = make_case()
    partial = Case.objects.only("id", "title").get(pk=case.pk)
    partial.title = "改过的标题"
    partial._change_reason = "更正标题"  # type: ignore[attr-defined]
    with CaptureQueriesContext(connection) as queries:
        partial.save(update_fields=["title"])
    latest = case.history.order_by("-history_id").first()
    assert latest is not None
    assert latest.history_type == "~"
    assert latest.history_change_reason == "更正标题"
    assert latest.title == "改过的标题"
    assert latest.description == case.description  # a deferred field: copied from the row, not left empty
    assert len([q for q in queries.captured_queries if "historicalcase" in q["sql"].lower()]) == 1


def test_deletion_and_listeners_take_simple_historys_path(make_case: Callable[..., Case]) -> None:
    case = make_case()
    heard: list[Any] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs["history_instance"])

    pre_create_historical_record.connect(listener, sender=Case.history.model)
    try:
        case.title = "有人在听"
        case.save()
    finally:
        pre_create_historical_record.disconnect(listener, sender=Case.history.model)
    assert [h.title for h in heard] == ["有人在听"]
    pk = case.pk
    case.delete()
    assert Case.history.filter(id=pk, history_type="-").count() == 1


def test_fast_insert_writes_what_the_orm_would(make_case: Callable[..., Case], world: World) -> None:
    case = make_case()
    moment = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        step = Step.objects.create(
            case=case,
            action="note",
            actor=world["comm_a"],
            note="备注",
            data={"a": [1, "二"]},
            created_at=moment,
        )
    assert len(queries.captured_queries) == 1
    assert step.pk is not None
    stored = Step.objects.get(pk=step.pk)
    assert (stored.case_id, stored.action, stored.actor_id, stored.note, stored.data, stored.public) == (
        case.pk,
        "note",
        world["comm_a"].pk,
        "备注",
        {"a": [1, "二"]},
        True,
    )
    assert stored.created_at == moment


def test_fast_insert_steps_aside_for_expressions(make_case: Callable[..., Case]) -> None:
    case = make_case()
    step = Step.objects.create(case=case, action="note", created_at=Now())
    stored = Step.objects.get(pk=step.pk)
    assert abs(stored.created_at - timezone.now()) < timedelta(minutes=1)


def test_fast_insert_plans_are_built_once_per_shape(make_case: Callable[..., Case]) -> None:
    make_case()
    before = len(fastinsert._PLANS)
    make_case()
    assert len(fastinsert._PLANS) == before
    assert any(key[0] is Step and plan is not None for key, plan in fastinsert._PLANS.items())
    assert any(key[0] is Case and plan is not None for key, plan in fastinsert._PLANS.items())


def test_a_new_case_and_its_history_row_are_one_statement_on_postgresql(
    make_case: Callable[..., Case], world: World
) -> None:
    with CaptureQueriesContext(connection) as queries:
        case = make_case()
    [copy] = [q["sql"] for q in queries.captured_queries if "historicalcase" in q["sql"].lower()]
    assert ('INSERT INTO "cases_case"' in copy) == (connection.vendor == "postgresql")
    [row] = case.history.all()
    assert (row.history_type, row.history_user_id, row.id) == ("+", world["comm_a"].pk, case.pk)
    assert history.COPIED not in case.__dict__  # the post-save signal took the mark: a later save is recorded
    case.title = "再改一次"
    case.save()
    assert [h.history_type for h in case.history.order_by("history_id")] == ["+", "~"]


def test_a_new_cases_history_takes_simple_historys_path_for_listeners(make_case: Callable[..., Case]) -> None:
    heard: list[Any] = []

    def listener(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs["history_instance"].history_type)

    pre_create_historical_record.connect(listener, sender=Case.history.model)
    try:
        case = make_case()
    finally:
        pre_create_historical_record.disconnect(listener, sender=Case.history.model)
    assert heard == ["+"]
    assert case.history.count() == 1


@override_settings(SIMPLE_HISTORY_ENABLED=False)
def test_no_history_row_while_history_is_switched_off(make_case: Callable[..., Case]) -> None:
    assert make_case().history.count() == 0


@pytest.mark.django_db(transaction=True)
def test_numbers_taken_outside_a_transaction_rise_and_leave_the_connection_idle() -> None:
    now = timezone.now()
    first, second = services.next_number(now), services.next_number(now)
    assert first[:10] == second[:10] and int(second[10:]) == int(first[10:]) + 1
    if connection.vendor == "postgresql":
        idle = psycopg.pq.TransactionStatus.IDLE
        assert connection.connection.info.transaction_status == idle
        # A failing statement leaves no transaction open behind it (its BEGIN is rolled back).
        with pytest.raises(ProgrammingError):
            services._advance_counter_async("UPDATE no_such_table SET last = 1 WHERE day = %s", now.date())
        assert connection.connection.info.transaction_status == idle
        assert services.next_number(now)[10:] == f"{int(second[10:]) + 1:05d}"
