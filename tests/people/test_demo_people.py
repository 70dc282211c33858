"""The people demo step: 陇海东路第一社区 as seed 004 describes it (7 楼院, 64 buildings, 2,729 households,
about 7,000 residents, about 40 % of them 65 or older), valid and encrypted identity numbers and phones,
households with their heads, tags, care subjects with visits, organisations with valid credit codes; smaller
rosters elsewhere; idempotent; a larger scale adds the synthetic communities' people."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from stdnum.cn import uscc

from jiedao.core import demo
from jiedao.core.models import Membership, OrgUnit, Role, User
from jiedao.core.privacy import decrypt, mask_id_number, mask_phone
from jiedao.people import bulk, personal
from jiedao.people.demo import demo_people
from jiedao.people.identity import parse_id_number, region_known
from jiedao.people.models import (
    ID_CONTEXT,
    PHONE_CONTEXT,
    Building,
    CareSubject,
    Compound,
    Dwelling,
    Entrance,
    Household,
    Organisation,
    OrganisationKind,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Visit,
    standard_address,
)
from tests.test_demo import empty_db  # noqa: F401  (fixture)

MODELS = [
    Compound,
    Building,
    Entrance,
    Dwelling,
    Household,
    Resident,
    ResidentTag,
    CareSubject,
    Visit,
    Organisation,
]


@pytest.fixture
def people_step(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int]]]:
    """The core demo plus this step only (the cases step has its own tests); records what the search index
    is told."""
    monkeypatch.setattr(demo, "_STEPS", {})
    demo.register_demo_step("people.places_and_residents", demo_people)
    told: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(
        bulk.search_index, "refresh_ids", lambda model, ids: told.append((model.__name__, list(ids)))
    )
    return told


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in MODELS}


def under(model: Any, unit: OrgUnit) -> Any:
    return model.objects.filter(org_path__startswith=unit.path)


def test_longyi_as_the_seed_describes_it(empty_db: None, people_step: list[tuple[str, list[int]]]) -> None:  # noqa: F811
    demo.load_demo(scale=1)
    today = timezone.localdate()
    longyi = OrgUnit.objects.get(code=demo.LONGYI_CODE)

    facts = demo.COMMUNITY_FACTS[demo.LONGYI_CODE]
    assert (facts["compounds"], facts["buildings"], facts["households"]) == (7, 64, 2729)
    compounds = under(Compound, longyi)
    assert compounds.count() == 7
    assert {"陇海花园", "新郑里小区", "郑州日产家属院", "轻汽厂家属院"} <= set(
        compounds.values_list("name", flat=True)
    )
    assert under(Building, longyi).count() == 64
    assert under(Household, longyi).count() == 2729
    residents = under(Resident, longyi)
    total = residents.count()
    assert 6_800 <= total <= 7_200, total
    elderly = residents.aged_at_least(65, today).count()
    assert 0.38 <= elderly / total <= 0.42, elderly / total
    # Spread over the community's six grids, each row in its grid's scope.
    grids = list(OrgUnit.objects.get_children(longyi))
    assert len(grids) == 6
    for grid in grids:
        assert under(Resident, grid).exists(), grid.code
        assert not under(Compound, grid).exclude(org_unit=grid).exists()
    grid_a = User.objects.get(username="grid_a")
    visible = Resident.objects.visible_to(grid_a)
    assert visible.exists() and not visible.exclude(org_path__startswith=grids[0].path).exists()

    # Every household has one 户主, who is its head; the others are related to the head.
    households = under(Household, longyi)
    assert not households.filter(head__isnull=True).exists()
    assert not households.exclude(head__household=F("pk")).exists()
    assert not households.exclude(head__relation=Relation.HEAD).exists()
    heads = residents.filter(relation=Relation.HEAD).values("household").annotate(n=Count("id"))
    assert heads.count() == 2729 and not heads.filter(n__gt=1).exists()
    relations = Counter(residents.values_list("relation", flat=True))
    assert relations[Relation.SPOUSE] > 1000 and relations[Relation.CHILD] > 500
    assert relations[Relation.GRANDCHILD] > 0 and relations[Relation.PARENT] > 0
    types = Counter(residents.values_list("residence_type", flat=True))
    assert (
        types[ResidenceType.REGISTERED] > types[ResidenceType.HABITUAL] > 0
        and types[ResidenceType.FLOATING] > 0
    )
    assert (
        not residents.filter(residence_type=ResidenceType.FLOATING).exclude(dwelling__use="rented").exists()
    )

    # Standard addresses, composed from the parts.
    for dwelling in under(Dwelling, longyi).select_related("building__compound", "entrance")[:500]:
        assert dwelling.entrance is not None
        assert dwelling.address == standard_address(
            dwelling.building.compound.name, dwelling.building.name, dwelling.entrance.name, dwelling.number
        )
    assert not residents.exclude(address=F("dwelling__address")).exists()
    assert under(Dwelling, longyi).filter(use="vacant").exists()

    # Identity numbers: every one decrypts, is valid, gives the stored birth date and sex; masked; found by
    # its blind index; unique. Phones likewise.
    numbers = set()
    for row in residents.values(
        "id_token", "id_index", "id_mask", "birth_date", "sex", "name", "name_pinyin"
    ):
        number = decrypt(row["id_token"], ID_CONTEXT)
        parsed = parse_id_number(number, today)
        assert (parsed.birth_date, parsed.sex) == (row["birth_date"], row["sex"])
        assert row["id_mask"] == mask_id_number(number) and "*" in row["id_mask"]
        assert row["id_index"] == personal.id_lookup(number)
        assert row["name_pinyin"] == personal.name_pinyin(row["name"]) and 2 <= len(row["name"]) <= 4
        numbers.add(number)
    assert len(numbers) == total
    assert Counter(n[:6] for n in numbers).most_common(1)[0][0] == "410104"
    phones = residents.exclude(phone_token="")
    assert phones.count() > 0.7 * total
    for row in phones.values("phone_token", "phone_index", "phone_mask")[:2000]:
        phone = decrypt(row["phone_token"], PHONE_CONTEXT)
        assert row["phone_mask"] == mask_phone(phone) and "****" in row["phone_mask"]
        assert row["phone_index"] == personal.phone_lookup(phone)
    assert not residents.filter(phone_token="").exclude(phone_mask="").exists()

    # Tags at realistic rates; the 65+ tag is derived, never stored.
    tagged = Counter(ResidentTag.objects.filter(resident__in=residents).values_list("tag__code", flat=True))
    assert not ResidentTag.objects.filter(tag__min_age__isnull=False).exists()
    for code, low, high in [
        ("empty_nest", 0.10, 0.40), ("living_alone", 0.04, 0.12), ("solitary", 0.002, 0.03),
        ("dibao", 0.005, 0.06), ("disabled", 0.01, 0.06), ("veteran", 0.005, 0.04),
        ("party_member", 0.04, 0.15), ("volunteer", 0.01, 0.08),
    ]:  # fmt: skip
        assert low <= tagged[code] / total <= high, (code, tagged[code])
    assert not ResidentTag.objects.filter(resident__birth_date__gt=F("start")).exists()

    # Care subjects: the elderly living alone (and the oldest empty-nesters), visited by their grid worker;
    # most on time, some overdue.
    care = under(CareSubject, longyi)
    assert care.count() >= 0.8 * tagged["living_alone"]
    assert not care.exclude(resident__tags__tag__code__in=["living_alone", "empty_nest"]).exists()
    assert not care.filter(resident__birth_date__gt=today - timedelta(days=60 * 365)).exists()
    now = timezone.now()
    overdue = care.filter(due_at__lt=now).count()
    assert 0.03 * care.count() <= overdue <= 0.3 * care.count(), overdue
    assert care.filter(due_at__gte=now).exists() and not care.exclude(due_state="pending").exists()
    visits = Visit.objects.filter(care__in=care)
    assert visits.exists() and not visits.filter(visited_on__gt=today).exists()
    workers = dict(
        Membership.objects.filter(role=Role.GRID_WORKER, org_unit__in=grids).values_list("org_unit", "user")
    )
    for visit in visits.select_related("care")[:300]:
        assert visit.org_unit_id == visit.care.org_unit_id
        assert visit.visitor_id == workers[visit.org_unit_id]
    for item in care.filter(last_visit_at__isnull=False)[:300]:
        assert item.last_visit_at == item.visits.order_by("-visited_on").first().visited_on

    # Organisations: every kind, valid and unique credit codes.
    orgs = under(Organisation, longyi)
    assert set(orgs.values_list("kind", flat=True)) == set(OrganisationKind.values)
    codes = list(Organisation.objects.exclude(credit_code="").values_list("credit_code", flat=True))
    assert codes and all(uscc.is_valid(c) for c in codes) and len(codes) == len(set(codes))
    assert orgs.filter(name__contains="日间照料中心", kind=OrganisationKind.SOCIAL).exists()

    # The other communities of the two real sub-districts have smaller rosters; every row is consistent.
    for unit in OrgUnit.objects.filter(kind__in=["community", "village"]).exclude(pk=longyi.pk):
        assert under(Household, unit).count() == bulk.OTHER_HOUSEHOLDS, unit.code
        assert 200 <= under(Resident, unit).count() <= 400, unit.code
    connection.check_constraints()

    # The search index was told about every new resident, compound, building, dwelling and organisation.
    told: dict[str, set[int]] = {}
    for name, ids in people_step:
        told.setdefault(name, set()).update(ids)
    for model in (Resident, Compound, Building, Dwelling, Organisation):
        assert told[model.__name__] == set(model.objects.values_list("id", flat=True)), model.__name__


def test_a_second_run_adds_nothing_and_a_larger_scale_only_the_new_communities(
    empty_db: None,  # noqa: F811
    people_step: list[tuple[str, list[int]]],
) -> None:
    demo.load_demo(scale=1)
    before = counts()
    heads = dict(Household.objects.values_list("id", "head_id"))
    demo.load_demo(scale=1)
    assert counts() == before
    assert dict(Household.objects.values_list("id", "head_id")) == heads

    # --scale 2, a day later: the synthetic sub-district's 9 communities get 430 households each. The birth
    # dates behind the identity numbers' slots have moved by a day; the numbers already stored are avoided.
    later = timezone.now() + timedelta(days=1)
    with time_machine.travel(later, tick=True):
        demo.load_demo(scale=2)
    test_sub = OrgUnit.objects.get(kind=OrgUnit.Kind.SUBDISTRICT, name="测试街道1")
    assert under(Household, test_sub).count() == 9 * bulk.SYNTHETIC_HOUSEHOLDS
    added = under(Resident, test_sub).count()
    assert 9_000 <= added <= 11_000, added
    assert Resident.objects.count() == before["Resident"] + added
    assert Resident.objects.values("id_index").distinct().count() == Resident.objects.count()
    for community in OrgUnit.objects.get_children(test_sub):
        grids = list(OrgUnit.objects.get_children(community))
        assert all(under(Compound, g).exists() for g in grids), community.code  # one compound per grid
    worker = User.objects.get(username=f"grid_{grids[0].code}")
    assert Visit.objects.filter(visitor=worker).exists() or not under(CareSubject, grids[0]).exists()
    connection.check_constraints()
    again = bulk.build(2, now=later)
    assert again.communities == 0 and again.skipped == 26 and again.created == {}


def test_a_community_with_people_of_its_own_is_left_alone(empty_db: None, people_step: Any) -> None:  # noqa: F811
    demo.load_demo(scale=1)  # builds everything; then pretend 陇二 had only its own compound
    second = OrgUnit.objects.get(code="410104007002")
    for model in (Visit, CareSubject, ResidentTag):
        model.objects.filter(
            **(
                {"resident__org_path__startswith": second.path}
                if model is not Visit
                else {"org_path__startswith": second.path}
            )
        ).delete()
    Household.objects.filter(org_path__startswith=second.path).update(head=None)
    Resident.objects.filter(org_path__startswith=second.path).delete()
    Household.objects.filter(org_path__startswith=second.path).delete()
    Organisation.objects.filter(org_path__startswith=second.path).delete()
    Dwelling.objects.filter(org_path__startswith=second.path).delete()
    Entrance.objects.filter(org_path__startswith=second.path).delete()
    Building.objects.filter(org_path__startswith=second.path).delete()
    own = Compound.objects.filter(org_path__startswith=second.path).first()
    assert own is not None
    Compound.objects.filter(org_path__startswith=second.path).exclude(pk=own.pk).delete()
    before = counts()
    result = bulk.build(1)
    assert result.communities == 0 and counts() == before


def test_worker_processes_make_the_same_rows_as_one_process(
    empty_db: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "_STEPS", {})
    demo.load_demo(scale=1)  # the core only
    monkeypatch.setattr(bulk.search_index, "refresh_ids", lambda model, ids: None)
    plans = bulk.plan_communities
    monkeypatch.setattr(bulk, "plan_communities", lambda scale: plans(scale)[1:5])  # four small communities
    now = timezone.now()

    def snapshot() -> dict[str, list[Any]]:
        return {
            "residents": list(
                Resident.objects.order_by("id").values_list(
                    "id",
                    "name",
                    "id_index",
                    "phone_index",
                    "household_id",
                    "dwelling_id",
                    "relation",
                    "org_path",
                )
            ),
            "households": list(Household.objects.order_by("id").values_list("id", "head_id", "dwelling_id")),
            "dwellings": list(
                Dwelling.objects.order_by("id").values_list("id", "address", "entrance_id", "use")
            ),
            "tags": list(ResidentTag.objects.order_by("id").values_list("resident_id", "tag_id", "start")),
            "care": list(CareSubject.objects.order_by("id").values_list("id", "resident_id", "due_at")),
            "visits": list(Visit.objects.order_by("id").values_list("care_id", "visited_on", "visitor_id")),
            "organisations": list(
                Organisation.objects.order_by("id").values_list("id", "credit_code", "compound_id")
            ),
        }

    with transaction.atomic():
        point = transaction.savepoint()
        serial = bulk.build(1, now=now, workers=0)
        one = snapshot()
        transaction.savepoint_rollback(point)
    assert not Resident.objects.exists()
    monkeypatch.setattr(bulk, "CHUNK", 1_000)  # many chunks, merged across community boundaries
    parallel = bulk.build(1, now=now, workers=2)
    assert parallel.workers == 2 and parallel.created == serial.created
    assert snapshot() == one
    connection.check_constraints()


def test_identity_numbers_skip_those_already_stored() -> None:
    today = date(2026, 11, 23)
    maker = bulk.IdentityMaker(0, today)
    first = maker.number("410104", "male", 70)
    again = bulk.IdentityMaker(0, today, taken={personal.id_lookup(first)})
    second = again.number("410104", "male", 70)
    assert second != first and parse_id_number(second, today).age_on(today) == 70
    # Slots of one community never give the same number, and each has the age asked for.
    many = bulk.IdentityMaker(5 * bulk.SLOTS, today)
    numbers = [
        many.number("410104", sex, age)
        for age in (0, 1, 64, 65, 99)
        for sex in ("male", "female")
        for _ in range(bulk.SLOTS)
    ]
    assert len(set(numbers)) == len(numbers)
    for number in numbers[::37]:
        parsed = parse_id_number(number, today)
        assert parsed.age_on(today) in (0, 1, 64, 65, 99)
    # When a community's slots for a region run out, the next region is used.
    assert all(n[:6] == "410104" for n in numbers)
    extra = many.number("410104", "male", 65)
    assert extra[:6] != "410104"


def test_credit_codes_and_regions_are_valid() -> None:
    assert (
        bulk.organisation_code("60003734") == "600037341"
    )  # the organisation code inside 91110000600037341L
    for prefix in ("91", "92", "11", "12", "52"):
        codes = {bulk.credit_code(prefix, "410104", serial) for serial in range(0, 5000, 7)}
        assert all(uscc.is_valid(code) and code.startswith(prefix + "410104") for code in codes)
        assert len(codes) == len(range(0, 5000, 7))
    assert all(region_known(region) for region in bulk.ALL_REGIONS)
    assert bulk.quota([("a", 1), ("b", 2)], 10) == ["a"] * 3 + ["b"] * 7


def test_community_ordinals_are_distinct_and_below_a_thousand() -> None:
    codes = bulk._demo_codes(100)
    ordinals = [bulk.community_ordinal(code) for code in codes]
    assert len(set(ordinals)) == len(codes) and max(ordinals) < 1000 and min(ordinals) > 0
    assert bulk.residents_for_scale(100) == pytest.approx(1_000_000, rel=0.05)
