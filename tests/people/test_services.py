"""People services: personal data encrypted and masked, scope and permission on every write, version
conflicts, tags (65+ derived), households' heads, care subjects and visits on the deadline engine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from jiedao.audit.models import AuditEvent
from jiedao.core.deadlines import run_due
from jiedao.core.models.deadlines import DueState
from jiedao.core.privacy import decrypt
from jiedao.notifications.models import Notification
from jiedao.people import services
from jiedao.people.models import (
    ID_CONTEXT,
    PHONE_CONTEXT,
    CareSubject,
    Household,
    Organisation,
    Relation,
    Resident,
    Tag,
)
from tests.people.helpers import dwelling, id_number, resident
from tests.world import World

pytestmark = pytest.mark.django_db


def test_personal_data_is_stored_encrypted_indexed_and_masked(world: World) -> None:
    number = id_number(date(1953, 2, 1), 123)
    r = resident(world["comm_a"], world.grid_a, id_number=number.lower(), phone="138 1234 5678")
    stored = Resident.objects.get(pk=r.pk)
    assert number not in stored.id_token and "13812345678" not in stored.phone_token
    assert decrypt(stored.id_token, ID_CONTEXT) == number
    assert decrypt(stored.phone_token, PHONE_CONTEXT) == "13812345678"
    assert stored.id_mask == f"{number[:6]}********{number[-4:]}"
    assert stored.phone_mask == "138****5678"
    assert stored.birth_date == date(1953, 2, 1) and stored.sex == "male"
    assert stored.name_pinyin == "zhangsan zs"
    event = AuditEvent.objects.filter(kind="people.create", object_id=str(r.pk)).get()
    assert number not in str(event.data) and "13812345678" not in str(event.data)
    assert not any(number in str(vars(h)) for h in stored.history.all())


def test_bad_id_and_phone_are_refused_with_a_message(world: World) -> None:
    good = id_number(date(1980, 5, 6))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ValidationError) as caught:
        resident(world["comm_a"], world.grid_a, id_number=bad)
    assert "id_number" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        resident(world["comm_a"], world.grid_a, phone="12345")
    assert "11 位" in caught.value.message_dict["phone"][0]
    assert not Resident.objects.exists()


def test_an_id_number_is_registered_once(world: World) -> None:
    number = id_number(date(1970, 1, 1))
    resident(world["comm_a"], world.grid_a, id_number=number)
    with pytest.raises(ValidationError) as caught:
        resident(world["comm_a"], world.grid_a, name="李四", id_number=number)
    assert "张三" in caught.value.message_dict["id_number"][0]
    # out of the actor's sight: no name given away
    with pytest.raises(ValidationError) as caught:
        resident(world["comm_b"], world.grid_b, name="李四", id_number=number)
    assert "张三" not in caught.value.message_dict["id_number"][0]


def test_writes_are_scoped(world: World) -> None:
    with pytest.raises(PermissionDenied):
        resident(world["comm_b"], world.grid_a)
    with pytest.raises(PermissionDenied):
        resident(world["grid_a"], world.grid_b)
    with pytest.raises(PermissionDenied):
        resident(world["leader"], world.grid_a)  # leaders read rosters, they do not keep them
    r = resident(world["grid_a"], world.grid_a)
    with pytest.raises(PermissionDenied):  # moving a record out of one's scope
        services.update(world["grid_a"], r, {"org_unit": world.grid_b}, r.version)


def test_concurrent_edits_are_detected(world: World) -> None:
    r = resident(world["comm_a"], world.grid_a)
    seen = r.version
    services.update(world["comm_a"], Resident.objects.get(pk=r.pk), {"note": "甲"}, seen)
    with pytest.raises(services.ConflictError):
        services.update(world["grid_a"], Resident.objects.get(pk=r.pk), {"note": "乙"}, seen)
    assert Resident.objects.get(pk=r.pk).note == "甲"


def test_reveal_is_allowed_to_keepers_and_logged(world: World) -> None:
    number = id_number(date(1960, 3, 4), 5)
    r = resident(world["comm_a"], world.grid_a, id_number=number, phone="13912345678")
    assert services.reveal(world["grid_a"], r, "id_number") == number
    assert services.reveal(world["comm_a"], r, "phone") == "13912345678"
    events = AuditEvent.objects.filter(kind="people.reveal", object_id=str(r.pk))
    assert events.count() == 2
    assert number not in str(list(events.values_list("data", flat=True)))
    for persona in ("leader", "auditor", "comm_b", "grid_b", "volunteer", "district"):
        with pytest.raises(PermissionDenied):
            services.reveal(world[persona], r, "id_number")
    assert events.count() == 2


def test_household_head_follows_the_relation(world: World) -> None:
    home = dwelling(world["comm_a"], world.grid_a)
    household = services.create(world["comm_a"], Household, {"dwelling": home, "number": "H1"})
    assert household.org_unit == world.grid_a and household.address == "陇海花园 3号楼 301"
    head = resident(world["comm_a"], world.grid_a, household=household, relation=Relation.HEAD)
    spouse = resident(
        world["comm_a"], world.grid_a, name="李梅", household=household, relation=Relation.SPOUSE
    )
    assert Household.objects.get(pk=household.pk).head == head
    services.update(world["comm_a"], Resident.objects.get(pk=head.pk), {"relation": Relation.OTHER}, None)
    services.update(world["comm_a"], Resident.objects.get(pk=spouse.pk), {"relation": Relation.HEAD}, None)
    assert Household.objects.get(pk=household.pk).head == spouse


def test_tags_with_dates_and_the_derived_elderly_tag(world: World) -> None:
    today = timezone.localdate()
    old = resident(world["comm_a"], world.grid_a, id_number=id_number(date(today.year - 70, 1, 1)))
    young = resident(
        world["comm_a"], world.grid_a, name="王五", id_number=id_number(date(today.year - 30, 1, 1))
    )
    dibao = Tag.objects.get(code="dibao")
    services.add_tag(world["comm_a"], young, dibao, start=today - timedelta(days=10))
    with pytest.raises(ValidationError):  # overlapping
        services.add_tag(world["comm_a"], young, dibao)
    with pytest.raises(ValidationError):  # derived tags are not stored
        services.add_tag(world["comm_a"], old, Tag.objects.get(code="elderly_65"))
    tags = services.tags_on([old, young], today)
    assert tags[old.pk] == ["65岁以上老人"] and tags[young.pk] == ["低保"]
    item = young.tags.get()
    services.end_tag(world["comm_a"], item, today - timedelta(days=1))
    assert services.tags_on([young], today)[young.pk] == []


def test_credit_codes_are_checked(world: World) -> None:
    org = services.create(
        world["comm_a"],
        Organisation,
        {
            "org_unit": world.grid_a,
            "name": "郑州市某某商贸有限公司",
            "kind": "enterprise",
            "credit_code": "91110000600037341L",
        },
    )
    assert org.credit_code == "91110000600037341L"
    with pytest.raises(ValidationError) as caught:
        services.create(
            world["comm_a"],
            Organisation,
            {
                "org_unit": world.grid_a,
                "name": "另一家",
                "kind": "enterprise",
                "credit_code": "91110000600037341X",
            },
        )
    assert "统一社会信用代码" in caught.value.message_dict["credit_code"][0]


def test_care_subject_warns_when_not_visited_and_a_visit_resets_it(world: World) -> None:
    r = resident(world["comm_a"], world.grid_a, id_number=id_number(date(1940, 1, 1)))
    since = timezone.localdate() - timedelta(days=40)
    care = services.add_care(world["comm_a"], r, reason="空巢老人", visit_every_days=30, since=since)
    with pytest.raises(PermissionDenied):
        services.add_care(world["grid_b"], r, reason="x")
    with pytest.raises(ValidationError):
        services.add_care(world["comm_a"], r, reason="重复")
    run_due()
    care.refresh_from_db()
    assert care.due_state == DueState.DONE and care.warned_at is not None
    note = Notification.objects.get(kind="people.care_overdue")
    assert note.recipient == world["grid_a"] and "已 40 天未走访" in note.title
    assert AuditEvent.objects.filter(kind="people.care_overdue").count() == 1
    run_due()  # claimed once: no second warning
    assert Notification.objects.filter(kind="people.care_overdue").count() == 1
    with pytest.raises(PermissionDenied):
        services.record_visit(world["grid_b"], care, visited_on=timezone.localdate(), summary="看望")
    services.record_visit(world["grid_a"], care, visited_on=timezone.localdate(), summary="身体还好")
    care.refresh_from_db()
    assert care.due_state == DueState.PENDING and care.last_visit_at == timezone.localdate()
    assert care.due_at.date() == timezone.localdate() + timedelta(days=31)
    with time_machine.travel(timezone.now() + timedelta(days=32)):
        run_due()
    assert Notification.objects.filter(kind="people.care_overdue").count() == 2


def test_ending_care_cancels_the_warning(world: World) -> None:
    r = resident(world["comm_a"], world.grid_a)
    care = services.add_care(
        world["comm_a"], r, reason="低保", since=timezone.localdate() - timedelta(days=60)
    )
    services.update_care(world["comm_a"], care, {"until": timezone.localdate()}, care.version)
    run_due()
    assert CareSubject.objects.get(pk=care.pk).due_state == DueState.CANCELLED
    assert not Notification.objects.filter(kind="people.care_overdue").exists()
