"""通报: overdue matters per lead unit for a period, on a fixture with known answers; the figures link to the
same matters in the list; publishing freezes them; the export has the same rows."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from jiedao.supervision import bulletin, services
from jiedao.supervision.models import Bulletin, Source, SupervisedMatter
from tests.world import World

pytestmark = pytest.mark.django_db
TZ = timezone.get_fixed_timezone(8 * 60)
OPENED = datetime(2026, 2, 2, 9, 0, tzinfo=TZ)
NOW = datetime(2026, 4, 10, 9, 0, tzinfo=TZ)


def matter(world: World, due_day: int, lead: str, finish: int | None) -> SupervisedMatter:
    """Due on March `due_day`; completed on March `finish` (None: still open)."""
    deadline = datetime(2026, 3, due_day, 18, 0, tzinfo=TZ)
    lead_kwargs = {"lead_unit": world.community_a} if lead == "a" else {"lead_department": world.dept_xinfang}
    with time_machine.travel(OPENED, tick=False):
        m = services.create_matter(
            world["leader"],
            title=f"{lead}{due_day}",
            content="x",
            source=Source.LEADER,
            deadline=deadline,
            **lead_kwargs,
        )
        lead_user = world["comm_a"] if lead == "a" else world["dept_xinfang"]
        m = services.undertake(lead_user, m, version=m.version)
    if finish is not None:
        with time_machine.travel(datetime(2026, 3, finish, 10, 0, tzinfo=TZ), tick=False):
            m = services.submit(lead_user, m, version=m.version, text="完成")
            m = services.approve(world["leader"], m, version=m.version)
            m = services.complete(world["leader"], m, version=m.version)
    return m


@pytest.fixture
def fixture(world: World) -> dict[str, SupervisedMatter]:
    return {
        "a_on_time": matter(world, 10, "a", 9),
        "a_late": matter(world, 12, "a", 20),
        "a_open_late": matter(world, 15, "a", None),
        "x_on_time": matter(world, 20, "x", 19),
        "x_open_late": matter(world, 25, "x", None),
        "x_open_late2": matter(world, 28, "x", None),
        "a_end_of_march": matter(world, 31, "a", 30),  # on time, due on the last day of the period
    }


def test_counts_per_lead_unit(fixture: dict[str, SupervisedMatter], world: World) -> None:
    rows = bulletin.rows(
        SupervisedMatter.objects.all(), date(2026, 3, 1), date(2026, 3, 31), NOW, details=True
    )
    figures = {r.name: (r.due, r.on_time, r.done_late, r.open_late, r.overdue) for r in rows}
    assert figures == {"陇一社区": (4, 2, 1, 1, 2), "信访办": (3, 1, 0, 2, 2)}
    assert [r.name for r in rows] == ["信访办", "陇一社区"]  # more still open and late first
    assert {m["number"] for m in rows[0].matters} == {
        fixture["x_open_late"].number,
        fixture["x_open_late2"].number,
    }
    total = bulletin.totals(rows)
    assert (total.due, total.overdue) == (7, 4)
    short = bulletin.rows(SupervisedMatter.objects.all(), date(2026, 3, 11), date(2026, 3, 15), NOW)
    assert [(r.name, r.due, r.done_late, r.open_late) for r in short] == [("陇一社区", 2, 1, 1)]


def test_page_links_lead_to_the_same_matters(
    fixture: dict[str, SupervisedMatter], client_for: Callable[[str], Client]
) -> None:
    client = client_for("leader")
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("supervision:bulletin"), {"start": "2026-03-01", "end": "2026-03-31"})
        row = next(r for r in page.context["rows"] if r.name == "信访办")
        listed = client.get(
            reverse("supervision:matter_list"),
            {"lead": row.key, "due_after": "2026-03-01", "due_before": "2026-03-31", "late": "open"},
        )
    assert {m.number for m in listed.context["page"].object_list} == {
        fixture["x_open_late"].number,
        fixture["x_open_late2"].number,
    }
    assert "陇一社区" not in client_for("comm_b").get(reverse("supervision:bulletin")).content.decode()


def test_publish_freezes_and_export(
    fixture: dict[str, SupervisedMatter], world: World, client_for: Callable[[str], Client]
) -> None:
    client = client_for("leader")
    with time_machine.travel(NOW, tick=False):
        answer = client.post(
            reverse("supervision:bulletin_publish"),
            {
                "start": "2026-03-01",
                "end": "2026-03-31",
                "unit": world.subdistrict.pk,
                "note": "请逾期单位说明原因",
            },
        )
        item = Bulletin.objects.get()
        assert answer.status_code == 302 and answer["Location"] == reverse(
            "supervision:bulletin_detail", args=[item.pk]
        )
        again = client.post(
            reverse("supervision:bulletin_publish"),
            {"start": "2026-03-01", "end": "2026-03-31", "unit": world.subdistrict.pk},
        )
        assert again.status_code == 302 and Bulletin.objects.count() == 1  # a double click publishes once
        export = client.get(
            reverse("supervision:bulletin_export"), {"start": "2026-03-01", "end": "2026-03-31"}
        )
    frozen = {r["name"]: r["open_late"] for r in item.rows}
    assert frozen == {"陇一社区": 1, "信访办": 2}
    # later work does not change what was published
    m = fixture["x_open_late"]
    m = services.submit(world["dept_xinfang"], m, version=m.version, text="完成")
    item.refresh_from_db()
    assert {r["name"]: r["open_late"] for r in item.rows} == frozen
    detail = client.get(reverse("supervision:bulletin_detail", args=[item.pk])).content.decode()
    assert fixture["x_open_late"].number in detail
    assert (
        client_for("other_leader").get(reverse("supervision:bulletin_detail", args=[item.pk])).status_code
        == 404
    )
    book = load_workbook(io.BytesIO(b"".join(export.streaming_content)))  # type: ignore[attr-defined]
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "牵头单位" and rows[1][0] == "信访办" and rows[1][4] == 2 and rows[-1][0] == "合计"


def test_period_is_checked(client_for: Callable[[str], Client]) -> None:
    page = client_for("leader").get(
        reverse("supervision:bulletin"), {"start": "2026-03-31", "end": "2026-03-01"}
    )
    assert page.status_code == 200 and "截止日期不能早于起始日期" in page.content.decode()
    assert timedelta(days=bulletin.MAX_DAYS)
