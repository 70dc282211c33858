"""Route guards of the cases module: measures area (三率统计, 积案清零)."""

from __future__ import annotations

from tests.guard import Guard

GUARDS: dict[str, Guard] = {
    # grid workers have no "case.measures"; community B's staff sees its own figures only (tested in
    # tests/cases/test_measures_pages.py), the other sub-district's leader sees none of ours.
    "cases:measures": Guard(outsider="grid_b"),
    # 立即更新: POST only, needs "case.measures" (tests/cases/test_measures_rollup.py)
    "cases:measures_refresh": Guard(outsider="grid_b", method="post"),
    "cases:backlog": Guard(outsider="grid_b"),
}
PUBLIC: dict[str, str] = {}
