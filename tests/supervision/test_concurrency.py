"""Two people acting on one matter: the second is told it changed ("该督办事项已被他人修改"); the same
person's
double submit is answered with the first result, not a second step."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from jiedao.supervision import services
from jiedao.supervision.models import SupervisedMatter
from tests.supervision.conftest import MakeMatter, build_matter, ensure_office
from tests.world import World


@pytest.mark.django_db
def test_second_person_with_the_same_version_gets_a_conflict(
    make_matter: MakeMatter, world: World, office: Any
) -> None:
    matter = make_matter("reviewing")
    seen = matter.version
    services.approve(world["leader"], matter, version=seen, note="同意")
    with pytest.raises(services.ConflictError, match="该督办事项已被他人修改"):
        services.send_back(
            office, SupervisedMatter.objects.get(pk=matter.pk), version=seen, reason="资料不全"
        )
    matter.refresh_from_db()
    assert matter.status == "approved" and matter.steps.filter(action="send_back").count() == 0


@pytest.mark.django_db
def test_double_submit_makes_one_step(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("in_progress")
    seen = matter.version
    first = services.report(world["comm_a"], matter, version=seen, text="进展", percent=40)
    again = services.report(
        world["comm_a"], SupervisedMatter.objects.get(pk=matter.pk), version=seen, text="进展", percent=40
    )
    assert again.version == first.version
    assert matter.steps.filter(action="report").count() == 1 and matter.reports.count() == 1


@pytest.mark.django_db
def test_edit_with_a_stale_version_is_a_conflict(make_matter: MakeMatter, world: World) -> None:
    matter = make_matter("in_progress")
    seen = matter.version
    services.update_matter(world["leader"], matter, version=seen, title="新名称", lead_unit=world.community_a)
    with pytest.raises(services.ConflictError):
        services.update_matter(
            world["leader"],
            SupervisedMatter.objects.get(pk=matter.pk),
            version=seen,
            title="另一个名称",
            lead_unit=world.community_a,
        )


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_at_once_one_wins(tx_world: World) -> None:
    world = tx_world
    office = ensure_office(world)
    matter = build_matter(world, "reviewing")
    seen = matter.version
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(user: object, name: str, kwargs: dict[str, str]) -> None:
        try:
            barrier.wait()
            services.STEP_SERVICES[name](
                user, SupervisedMatter.objects.get(pk=matter.pk), version=seen, **kwargs
            )
            results.append("ok")
        except services.ConflictError:
            results.append("conflict")
        except Exception as exc:  # SQLite may refuse the second writer outright: that is a refusal too
            results.append(f"refused {type(exc).__name__}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(world["leader"], "approve", {"note": "同意"})),
        threading.Thread(target=act, args=(office, "send_back", {"reason": "资料不全"})),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results.count("ok") == 1, results
    matter.refresh_from_db()
    assert matter.version == seen + 1
    assert matter.steps.filter(action__in=["approve", "send_back"]).count() == 1
