"""Route guards of the cases module: staff area (work lists, case page, step forms, export, files, reveal)."""

from __future__ import annotations

from typing import Any

from tests.cases.guards_util import case_in_grid_a
from tests.guard import Guard
from tests.world import World


def _case(world: World) -> dict[str, Any]:
    return {"number": case_in_grid_a(world).number}


def _action(world: World) -> dict[str, Any]:
    return {**_case(world), "name": "accept"}


def _with_case(world: World) -> dict[str, Any]:
    case_in_grid_a(world)  # exists before the outsider opens the list
    return {}


def _attachment(world: World) -> dict[str, Any]:
    """An attachment row of the guard case (no file on disk: refused requests never open it)."""
    from jiedao.cases.models import Attachment

    case = case_in_grid_a(world)
    item = case.attachments.first() or Attachment.objects.create(
        case=case, kind="file", file="cases/guard.txt", name="guard.txt", size=5, content_type="text/plain"
    )
    return {"number": case.number, "pk": item.pk}


GUARDS: dict[str, Guard] = {
    "cases:case_list": Guard(kwargs=_with_case, outsider="grid_b", hidden=lambda w: _case(w)["number"]),
    "cases:case_export": Guard(outsider="volunteer"),
    "cases:case_detail": Guard(kwargs=_case, outsider="grid_b"),
    "cases:case_action": Guard(kwargs=_action, outsider="grid_b"),
    "cases:attachment": Guard(kwargs=_attachment, outsider="grid_b"),
    "cases:case_reveal": Guard(kwargs=_case, outsider="grid_b", method="post"),
}
PUBLIC: dict[str, str] = {}
