"""The daily progress board (征收进度日报) of one project, computed from the households' stage dates.

Figures (for a day D, the week being Monday..D):
- 签约 today / this week / total: households whose `signed_on` is D / in the week / set at all (a household
  that went on to 腾房 or 拆除 stays signed); 腾房 likewise from `vacated_on`.
- against target: total ÷ the project's target (签约 and 腾房 targets); the pace still needed is the
  remaining count ÷ the days left to the target date.
- by team: the same counts over each team's households, with the signing rate (signed ÷ households); teams are
  ranked by that rate, then by signed count (teams differ in size). By leader: the team rows summed per team
  leader. By 包户人: ranked by signed, then vacated count.
- trend: cumulative signed and vacated households per day, from the project's start (at most the last
  `TREND_DAYS` days; the curve starts at the count reached before the window).

Every figure comes from one grouped pass over the project's households (by team, 包户人 and stage: a few
hundred rows) and two per-day groupings answered from the (project, signed_on) and (project, vacated_on)
indexes — six queries in all whatever the size of the project; bench/relocation.py measures it against a
raw-SQL baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from jiedao.core.models import User
from jiedao.relocation.models import ExpropriationHousehold, ExpropriationProject, Stage, Team

TREND_DAYS = 120


@dataclass
class Row:
    key: int
    label: str
    leader: str = ""
    households: int = 0
    signed: int = 0
    signed_week: int = 0
    signed_today: int = 0
    vacated: int = 0
    vacated_week: int = 0
    vacated_today: int = 0
    rank: int = 0
    links: dict[str, str] = field(default_factory=dict)

    @property
    def signed_rate(self) -> float:
        return round(100 * self.signed / self.households, 1) if self.households else 0.0

    @property
    def vacated_rate(self) -> float:
        return round(100 * self.vacated / self.households, 1) if self.households else 0.0

    def add(self, other: Row) -> None:
        for name in (
            "households",
            "signed",
            "signed_week",
            "signed_today",
            "vacated",
            "vacated_week",
            "vacated_today",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _counts(day: date, week_start: date) -> dict[str, Any]:
    return {
        "households": Count("id"),
        "signed": Count("id", filter=Q(signed_on__isnull=False)),
        "signed_week": Count("id", filter=Q(signed_on__gte=week_start, signed_on__lte=day)),
        "signed_today": Count("id", filter=Q(signed_on=day)),
        "vacated": Count("id", filter=Q(vacated_on__isnull=False)),
        "vacated_week": Count("id", filter=Q(vacated_on__gte=week_start, vacated_on__lte=day)),
        "vacated_today": Count("id", filter=Q(vacated_on=day)),
    }


FIGURES = ("households", "signed", "signed_week", "signed_today", "vacated", "vacated_week", "vacated_today")


def _links(base: str, extra: dict[str, Any], day: date, week_start: date) -> dict[str, str]:
    def url(**params: Any) -> str:
        return f"{base}?{urlencode({**extra, **params})}"

    d, w = day.isoformat(), week_start.isoformat()
    return {
        "households": url(),
        "signed": url(reached="signed"),
        "signed_week": url(signed_from=w, signed_to=d),
        "signed_today": url(signed_from=d, signed_to=d),
        "vacated": url(reached="vacated"),
        "vacated_week": url(vacated_from=w, vacated_to=d),
        "vacated_today": url(vacated_from=d, vacated_to=d),
    }


@dataclass
class Board:
    project: ExpropriationProject
    day: date
    week_start: date
    total: Row
    teams: list[Row]
    leaders: list[Row]
    staff: list[Row]
    stages: list[dict[str, Any]]
    trend: dict[str, Any]
    days_left: int | None
    signed_pace: int | None
    vacated_pace: int | None

    @property
    def signed_target_rate(self) -> float | None:
        target = self.project.target_signed
        return round(100 * self.total.signed / target, 1) if target else None

    @property
    def vacated_target_rate(self) -> float | None:
        target = self.project.target_vacated
        return round(100 * self.total.vacated / target, 1) if target else None


def _pace(target: int, done: int, days_left: int | None) -> int | None:
    if not target or days_left is None or days_left <= 0:
        return None
    remaining = max(target - done, 0)
    return -(-remaining // days_left)


def build(project: ExpropriationProject, day: date) -> Board:
    week_start = day - timedelta(days=day.weekday())
    households: Any = ExpropriationHousehold.objects.filter(project=project)
    counts = _counts(day, week_start)
    base = reverse("relocation:household_list", kwargs={"pk": project.pk})

    teams = {t.pk: t for t in Team.objects.filter(project=project).select_related("leader")}
    # One pass over the project's households, grouped by (team, 包户人, stage): every figure below is a sum
    # of these few hundred rows.
    groups: list[dict[str, Any]] = list(
        households.values("team_id", "staff_id", "stage").annotate(**counts).order_by()
    )
    by_team: dict[int, Row] = {}
    by_staff: dict[int, Row] = {}
    by_stage: dict[str, int] = {}
    for values in groups:
        part = Row(0, "", **{k: values[k] for k in FIGURES})
        by_stage[values["stage"]] = by_stage.get(values["stage"], 0) + part.households
        team_key = values["team_id"] or 0
        by_team.setdefault(team_key, Row(team_key, "")).add(part)
        if values["staff_id"] is not None:
            by_staff.setdefault(values["staff_id"], Row(values["staff_id"], "")).add(part)
    total = Row(0, _("合计"), links=_links(base, {}, day, week_start))
    team_rows: list[Row] = []
    for team_key, row in by_team.items():
        team = teams.get(team_key)
        row.label = team.name if team else _("未分组")
        row.leader = str(team.leader) if team else ""
        row.links = _links(base, {"team": team_key}, day, week_start)
        total.add(row)
        team_rows.append(row)
    for team in teams.values():  # a team with no household yet is still on the board
        if team.pk not in by_team:
            row = Row(team.pk, team.name, leader=str(team.leader))
            row.links = _links(base, {"team": team.pk}, day, week_start)
            team_rows.append(row)
    team_rows.sort(key=lambda r: (r.key == 0, -r.signed_rate, -r.signed, r.label))
    for rank, row in enumerate((r for r in team_rows if r.key), start=1):
        row.rank = rank

    leaders: dict[int, Row] = {}
    for row in team_rows:
        team = teams.get(row.key)
        if team is None:
            continue
        leader_row = leaders.get(team.leader_id)
        if leader_row is None:
            leader_row = leaders[team.leader_id] = Row(team.leader_id, str(team.leader))
            leader_row.links = _links(base, {"leader": team.leader_id}, day, week_start)
        leader_row.add(row)
    leader_rows = sorted(leaders.values(), key=lambda r: (-r.signed_rate, -r.signed, r.label))
    for rank, row in enumerate(leader_rows, start=1):
        row.rank = rank

    names = {u.pk: str(u) for u in User.objects.filter(pk__in=list(by_staff))}
    staff_rows = []
    for staff_id, row in by_staff.items():
        row.label = names.get(staff_id, "?")
        row.links = _links(base, {"staff": staff_id}, day, week_start)
        staff_rows.append(row)
    staff_rows.sort(key=lambda r: (-r.signed, -r.vacated, r.label))
    for rank, row in enumerate(staff_rows, start=1):
        row.rank = rank

    stages = [
        {
            "key": s.value,
            "label": s.label,
            "count": by_stage.get(s.value, 0),
            "url": f"{base}?stage={s.value}",
        }
        for s in Stage
    ]

    days_left = (project.target_date - day).days if project.target_date else None
    return Board(
        project=project,
        day=day,
        week_start=week_start,
        total=total,
        teams=team_rows,
        leaders=leader_rows,
        staff=staff_rows,
        stages=stages,
        trend=trend(project, day),
        days_left=days_left,
        signed_pace=_pace(project.target_signed, total.signed, days_left),
        vacated_pace=_pace(project.target_vacated, total.vacated, days_left),
    )


def trend(project: ExpropriationProject, day: date) -> dict[str, Any]:
    """Cumulative signed and vacated per day, for charts.js (categories + two line series)."""
    start = max(project.start_date, day - timedelta(days=TREND_DAYS - 1))
    if start > day:
        return {"categories": [], "series": []}
    households = ExpropriationHousehold.objects.filter(project=project)
    series = []
    for field_name, label in (("signed_on", _("累计签约")), ("vacated_on", _("累计腾房"))):
        per_day = dict(
            households.filter(**{f"{field_name}__isnull": False, f"{field_name}__lte": day})
            .values_list(field_name)
            .annotate(n=Count("id"))
            .order_by()
        )
        running = sum(n for d, n in per_day.items() if d < start)
        data = []
        current = start
        while current <= day:
            running += per_day.get(current, 0)
            data.append(running)
            current += timedelta(days=1)
        series.append({"name": str(label), "data": data})
    categories = [(start + timedelta(days=i)).strftime("%m-%d") for i in range((day - start).days + 1)]
    return {"categories": categories, "series": series}
