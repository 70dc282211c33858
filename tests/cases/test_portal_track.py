"""The residents' portal: tracking a case by number and the phone's last four digits, and rating it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from jiedao.audit.models import AuditEvent
from jiedao.cases import services
from jiedao.cases.models import Case, Status
from jiedao.core.templatetags.deadlines import deadline
from tests.world import World

pytestmark = pytest.mark.django_db

GENERIC = "没有找到与该编号和电话后四位相符的诉求"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def _track(client: Client, number: str, last4: str) -> Any:
    return client.post(reverse("portal:track"), {"number": number, "last4": last4})


def _alert(html: str) -> str:
    return html.split('class="alert alert-danger"', 1)[1].split("</div>", 2)[0]


def _personal_data(world: World) -> list[str]:
    """Text that must never appear on a public page: the requester, the full phone, staff names/usernames."""
    staff = ["comm_a", "grid_a", "leader"]
    return ["王先生", "13812345678", *(world[u].full_name for u in staff), *staff]


def test_correct_digits_show_status_and_public_steps(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("reported")
    client = Client()
    response = _track(client, case.number, "5678")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case", kwargs={"number": case.number})
    html = client.get(response["Location"]).content.decode()
    assert case.number in html
    assert "待核查" in html  # status
    for label in ("登记", "受理", "派遣", "签收"):
        assert label in html
    # A deadline at 00:00 is the end (24:00) of the day before, and reads as that day.
    assert case.due_at is not None and deadline(case.due_at, "Y-m-d") in html
    for text in _personal_data(world):
        assert text not in html, text
    assert "已劝离摊贩" not in html  # the handler's report note is not shown
    assert "新郑里路口有人占道摆摊" not in html  # nor the requester's own text
    assert AuditEvent.objects.filter(kind="case.public_view").exists()


def test_wrong_digits_and_wrong_number_get_the_same_answer(
    world: World, make_case: Callable[..., Case]
) -> None:
    case = make_case("handling")
    wrong_digits = _track(Client(), case.number, "0000")
    wrong_number = _track(Client(), "GC2000010100001", "5678")
    assert wrong_digits.status_code == wrong_number.status_code == 400
    assert GENERIC in wrong_digits.content.decode() and GENERIC in wrong_number.content.decode()
    assert _alert(wrong_digits.content.decode()) == _alert(wrong_number.content.decode())
    for text in _personal_data(world):
        assert text not in wrong_digits.content.decode()


def test_case_page_needs_proof_in_this_session(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("handling")
    url = reverse("portal:case", kwargs={"number": case.number})
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("portal:track"))
    staff = Client()
    staff.force_login(world["grid_b"])
    assert staff.get(url).status_code == 302
    rate = Client().post(reverse("portal:rate", kwargs={"number": case.number}), {"rating": "satisfied"})
    assert rate.status_code == 404


def test_anonymous_case_cannot_be_tracked(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("handling", anonymous=True, requester_phone="")
    response = _track(Client(), case.number, "")
    assert response.status_code == 400
    response = _track(Client(), case.number, "0000")
    assert GENERIC in response.content.decode()


def test_tracking_is_throttled_per_address(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("handling")
    client = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(20):
        assert _track(client, case.number, "0000").status_code == 400
    blocked = _track(client, case.number, "5678")  # even the right digits now wait
    assert blocked.status_code == 429
    assert "查询次数过多" in blocked.content.decode()
    assert _track(Client(REMOTE_ADDR="10.9.9.8"), case.number, "5678").status_code == 302


def test_closed_case_shows_reply_and_rating_form(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("closed")
    client = Client()
    _track(client, case.number, "5678")
    html = client.get(reverse("portal:case", kwargs={"number": case.number})).content.decode()
    assert "已劝离摊贩，恢复通行。" in html  # the reply
    assert "已解决" in html  # the outcome
    assert 'name="rating"' in html and "不满意" in html
    assert "现场核实已恢复" not in html  # the verifier's note is internal
    for text in _personal_data(world):
        assert text not in html, text


def test_rating_satisfied_closes_the_loop(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("closed")
    client = Client()
    _track(client, case.number, "5678")
    response = client.post(
        reverse("portal:rate", kwargs={"number": case.number}),
        {"rating": "satisfied", "comment": "很及时", "version": case.version},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RATED and case.rating_comment == "很及时"
    html = client.get(response["Location"]).content.decode()
    assert "感谢您的评价" in html and 'name="rating"' not in html
    again = client.post(
        reverse("portal:rate", kwargs={"number": case.number}),
        {"rating": "unsatisfied", "version": case.version},
    )
    assert again.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RATED  # a rated case is not rated again


def test_unsatisfied_reopens_and_says_so(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("closed")
    client = Client()
    _track(client, case.number, "5678")
    response = client.post(
        reverse("portal:rate", kwargs={"number": case.number}),
        {"rating": "unsatisfied", "comment": "摊贩又回来了", "version": case.version},
    )
    case.refresh_from_db()
    assert case.status == Status.HANDLING and case.reopen_count == 1
    html = client.get(response["Location"]).content.decode()
    assert "已重新交办" in html
    assert "处置中" in html and "重办" in html


def test_rating_an_open_case_is_refused(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("handling")
    client = Client()
    _track(client, case.number, "5678")
    response = client.post(
        reverse("portal:rate", kwargs={"number": case.number}),
        {"rating": "satisfied", "version": case.version},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.HANDLING and case.rating == ""


def test_stale_version_is_told_not_applied(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("closed")
    client = Client()
    _track(client, case.number, "5678")
    response = client.post(
        reverse("portal:rate", kwargs={"number": case.number}),
        {"rating": "satisfied", "version": case.version - 3},
    )
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert "状态刚刚有了变化" in client.get(response["Location"]).content.decode()


def test_merged_case_names_the_number_to_follow(world: World, make_case: Callable[..., Case]) -> None:
    main = make_case("handling", requester_phone="13700007777", requester_name="赵女士")
    dup = make_case("accepted")
    services.merge(world["comm_a"], dup, version=dup.version, into=main)
    client = Client()
    _track(client, dup.number, "5678")
    html = client.get(reverse("portal:case", kwargs={"number": dup.number})).content.decode()
    assert "已合并" in html and main.number in html
    assert "赵女士" not in html and "13700007777" not in html and "7777" not in html


def test_confidential_case_shows_only_status_and_dates(world: World, make_case: Callable[..., Case]) -> None:
    case = make_case("closed", confidential=True)
    client = Client()
    _track(client, case.number, "5678")
    html = client.get(reverse("portal:case", kwargs={"number": case.number})).content.decode()
    assert "已结案" in html and case.received_at.astimezone().strftime("%Y-%m-%d") in html
    assert "已劝离摊贩" not in html  # no reply
    assert "占道经营" not in html  # no category
    assert 'id="case-steps"' not in html
