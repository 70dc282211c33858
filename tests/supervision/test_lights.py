"""The colour warnings on a frozen clock, at their edges: blue from min(3 days, 20% of the period) before the
deadline, yellow when the last reported progress is more than 20 points behind the elapsed share, red after
the
deadline; the list filter (stored columns) agrees with the per-matter function."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from jiedao.supervision import services
from jiedao.supervision.lights import blue_time, expected_percent, light_of, light_q, pace_time
from jiedao.supervision.models import Light, Source, SupervisedMatter
from tests.world import World

pytestmark = pytest.mark.django_db

TZ = timezone.get_fixed_timezone(8 * 60)
START = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
SECOND = timedelta(seconds=1)


def assigned(world: World, days: int) -> SupervisedMatter:
    """A matter assigned at START with a period of `days` days, undertaken by community A."""
    with time_machine.travel(START, tick=False):
        matter = services.create_matter(
            world["leader"],
            title="测试",
            content="测试",
            source=Source.LEADER,
            deadline=START + timedelta(days=days),
            lead_unit=world.community_a,
        )
        return services.undertake(world["comm_a"], matter, version=matter.version)


def light_at(matter: SupervisedMatter, when: datetime) -> str:
    matter.refresh_from_db()
    by_function = light_of(matter, when)
    by_filter = [
        light
        for light in (Light.GREEN, Light.BLUE, Light.YELLOW, Light.RED)
        if SupervisedMatter.objects.filter(light_q(light, when), pk=matter.pk).exists()
    ]
    assert by_filter == [by_function], (when, by_filter, by_function)
    return by_function


def report(world: World, matter: SupervisedMatter, percent: int, when: datetime) -> SupervisedMatter:
    with time_machine.travel(when, tick=False):
        matter.refresh_from_db()
        return services.report(world["comm_a"], matter, version=matter.version, text="进展", percent=percent)


def test_blue_three_days_before_a_long_deadline(world: World) -> None:
    matter = assigned(world, 30)
    report(world, matter, 95, START + timedelta(hours=1))
    deadline = START + timedelta(days=30)
    assert matter.deadline == deadline
    assert light_at(matter, deadline - timedelta(days=3) - SECOND) == Light.GREEN
    assert light_at(matter, deadline - timedelta(days=3)) == Light.BLUE
    assert light_at(matter, deadline) == Light.BLUE
    assert light_at(matter, deadline + SECOND) == Light.RED


def test_blue_in_the_last_fifth_of_a_short_period(world: World) -> None:
    matter = assigned(world, 5)
    report(world, matter, 95, START + timedelta(hours=1))
    blue = START + timedelta(days=4)  # 20% of 5 days = 1 day before the deadline
    assert blue_time(START, START + timedelta(days=5)) == blue
    assert light_at(matter, blue - SECOND) == Light.GREEN
    assert light_at(matter, blue) == Light.BLUE


def test_yellow_when_more_than_twenty_points_behind_pace(world: World) -> None:
    matter = assigned(world, 10)
    # Nothing reported: 0% done falls behind once 20% of the period has passed (day 2).
    assert light_at(matter, START + timedelta(days=2) - SECOND) == Light.GREEN
    assert light_at(matter, START + timedelta(days=2)) == Light.YELLOW
    # 30% reported on day 3: behind again when 50% of the period has passed (day 5).
    matter = report(world, matter, 30, START + timedelta(days=3))
    assert matter.pace_at == pace_time(START, START + timedelta(days=10), 30) == START + timedelta(days=5)
    assert light_at(matter, START + timedelta(days=5) - SECOND) == Light.GREEN
    assert light_at(matter, START + timedelta(days=5)) == Light.YELLOW
    assert expected_percent(matter, START + timedelta(days=5)) == 50
    # Yellow outranks blue; red outranks yellow.
    assert light_at(matter, START + timedelta(days=9, hours=12)) == Light.YELLOW
    assert light_at(matter, START + timedelta(days=10) + SECOND) == Light.RED


def test_final_report_is_never_behind_pace_and_closed_matters_have_no_light(world: World) -> None:
    matter = assigned(world, 10)
    with time_machine.travel(START + timedelta(days=8), tick=False):
        matter.refresh_from_db()
        matter = services.submit(world["comm_a"], matter, version=matter.version, text="完成")
    assert light_at(matter, START + timedelta(days=8, hours=1)) == Light.BLUE
    assert light_at(matter, START + timedelta(days=11)) == Light.RED  # open until 办结
    with time_machine.travel(START + timedelta(days=9), tick=False):
        matter = services.approve(world["leader"], matter, version=matter.version)
        matter = services.complete(world["leader"], matter, version=matter.version)
    assert light_of(matter, START + timedelta(days=20)) == Light.NONE


def test_an_approved_extension_moves_the_warnings(world: World) -> None:
    matter = assigned(world, 10)
    report(world, matter, 90, START + timedelta(days=1))
    with time_machine.travel(START + timedelta(days=6), tick=False):
        matter.refresh_from_db()
        matter = services.request_extension(
            world["comm_a"],
            matter,
            version=matter.version,
            new_deadline=START + timedelta(days=20),
            reason="协调",
        )
        matter = services.decide_extension(world["leader"], matter, version=matter.version, approve=True)
    assert light_at(matter, START + timedelta(days=11)) == Light.GREEN
    assert light_at(matter, START + timedelta(days=17)) == Light.BLUE
