"""One form per workflow step: reachable for the right persona, 403 for a wrong one, the service does the
work, a stale version is a conflict that keeps what the user typed."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from jiedao.cases.models import Case, Status

pytestmark = pytest.mark.django_db


def act(case: Case, name: str) -> str:
    return reverse("cases:case_action", args=[case.number, name])


def post(client, case: Case, name: str, data: dict | None = None, **extra):
    case.refresh_from_db()
    return client.post(act(case, name), {"version": case.version, **(data or {})}, **extra)


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), "blue").save(buffer, "PNG")
    return SimpleUploadedFile("scene.png", buffer.getvalue(), content_type="image/png")


def test_accept_form(make_case, client_for):
    case = make_case("registered")
    assert client_for("grid_a").get(act(case, "accept")).status_code == 403
    assert client_for("grid_b").get(act(case, "accept")).status_code == 404
    response = client_for("comm_a").get(act(case, "accept"))
    assert response.status_code == 200 and 'name="version"' in response.content.decode()
    assert post(client_for("grid_a"), case, "accept").status_code == 403
    response = post(client_for("comm_a"), case, "accept", {"note": "属实，受理"})
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert case.steps.get(action="accept").note == "属实，受理"


def test_htmx_gets_the_partial(make_case, client_for):
    case = make_case("registered")
    response = client_for("comm_a").get(act(case, "refuse"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="action-form"' in html and "<html" not in html
    assert "<html" in client_for("comm_a").get(act(case, "refuse")).content.decode()


def test_refuse_requires_a_reason_and_keeps_the_form(make_case, client_for):
    case = make_case("registered")
    response = post(client_for("comm_a"), case, "refuse", {"reason": ""})
    assert response.status_code == 200 and response.context["form"].errors
    case.refresh_from_db()
    assert case.status == Status.REGISTERED


def test_dispatch_form_prefilled_from_routing(make_case, client_for, world):
    case = make_case("accepted")
    assert client_for("grid_a").get(act(case, "dispatch")).status_code == 403
    response = client_for("comm_a").get(act(case, "dispatch"))
    form = response.context["form"]
    assert form.initial["lead_unit"] == world.community_a.pk  # 属地管理: the grid's community
    assert "route-suggestion" in response.content.decode()
    lead_choices = set(form.fields["lead_unit"].queryset.values_list("pk", flat=True))
    assert world.grid_a.pk in lead_choices and world.grid_b.pk not in lead_choices
    response = post(
        client_for("comm_a"), case, "dispatch", {"lead_unit": world.grid_a.pk, "co_units": [world.grid_a2.pk]}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.lead_unit == world.grid_a
    assert case.assignments.filter(role="co", unit=world.grid_a2).exists()


def test_dispatch_to_unit_outside_the_place_is_refused_with_message(make_case, client_for, world):
    case = make_case("accepted")
    response = post(client_for("leader"), case, "dispatch", {"lead_unit": world.grid_b.pk})
    assert response.status_code == 200
    assert response.context["form"].errors  # grid_b is not a choice for a case in grid_a


def test_sign_report_with_photo_verify_close_rate_reopen(make_case, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = make_case("dispatched")
    assert client_for("auditor").get(act(case, "sign")).status_code == 403
    assert post(client_for("grid_a"), case, "sign", {"note": "马上去"}).status_code == 302
    case.refresh_from_db()
    assert case.status == Status.HANDLING

    assert client_for("auditor").get(act(case, "report")).status_code == 403
    response = client_for("grid_a").get(act(case, "report"))
    assert 'enctype="multipart/form-data"' in response.content.decode()
    # a fake photo is refused with its name, and the note typed is kept
    fake = SimpleUploadedFile("fake.jpg", b"not an image", content_type="image/jpeg")
    response = post(client_for("grid_a"), case, "report", {"note": "已清理占道", "photos": [fake]})
    assert response.status_code == 200 and "fake.jpg" in response.content.decode()
    assert "已清理占道" in response.content.decode()
    response = post(client_for("grid_a"), case, "report", {"note": "已清理占道", "photos": [png()]})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.REPORTED
    assert case.attachments.get().kind == "photo"

    # The handler may not verify their own work; someone else may.
    assert client_for("grid_a").get(act(case, "verify")).status_code == 403
    assert post(client_for("comm_a"), case, "verify", {"note": "现场已恢复"}).status_code == 302

    assert client_for("grid_a").get(act(case, "close")).status_code == 403
    response = post(client_for("comm_a"), case, "close", {"outcome": "resolved", "reply": "已恢复通行"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED

    assert client_for("grid_a").get(act(case, "rate")).status_code == 403
    response = post(client_for("comm_a"), case, "rate", {"rating": "unsatisfied", "comment": "又来了"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.HANDLING and case.reopen_count == 1


def test_stale_version_is_a_conflict_that_keeps_the_note(make_case, client_for):
    case = make_case("registered")
    seen = case.version
    assert post(client_for("leader"), case, "accept", {"note": "领导先受理"}).status_code == 302
    response = client_for("comm_a").post(act(case, "accept"), {"version": seen, "note": "我写的受理意见"})
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["conflict"] is True
    assert 'data-testid="conflict"' in html and "已被他人更新" in html
    assert "我写的受理意见" in html
    assert f'href="/cases/{case.number}/"' in html
    assert case.steps.filter(action="accept").count() == 1


def test_double_submit_is_done_once(make_case, client_for):
    case = make_case("dispatched")
    seen = case.version
    client = client_for("grid_a")
    assert client.post(act(case, "sign"), {"version": seen}).status_code == 302
    assert client.post(act(case, "sign"), {"version": seen}).status_code == 302
    assert case.steps.filter(action="sign").count() == 1


def test_stale_button_on_get_redirects_with_reason(make_case, client_for):
    case = make_case("handling")
    response = client_for("comm_a").get(act(case, "accept"))
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.number}/"


def test_unknown_action_is_404(make_case, client_for):
    case = make_case("registered")
    assert client_for("comm_a").get(act(case, "link")).status_code == 404


def test_contest_and_decide(make_case, client_for):
    case = make_case("dispatched")
    response = post(
        client_for("grid_a"), case, "contest", {"reason_code": "not_ours", "reason": "不是本网格"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CONTESTED
    assert client_for("grid_a").get(act(case, "decide_contest")).status_code == 403
    response = client_for("comm_a").get(act(case, "decide_contest"))
    assert "不是本网格" in response.content.decode()
    response = post(client_for("comm_a"), case, "decide_contest", {"approve": "yes", "note": "同意"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_extension_request_and_decision(make_case, client_for):
    case = make_case("handling")
    response = post(client_for("grid_a"), case, "request_extension", {"days": 5, "reason": "需协调物业"})
    assert response.status_code == 302
    assert client_for("comm_a").get(act(case, "decide_extension")).status_code == 403
    response = post(client_for("leader"), case, "decide_extension", {"approve": "yes"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.extension_days == 5


def test_merge_whistle_comment(make_case, client_for, world):
    case = make_case("registered")
    into = make_case("handling")
    response = post(client_for("comm_a"), case, "merge", {"into": "GC00000000000"})
    assert response.status_code == 200 and response.context["form"].errors
    response = post(client_for("comm_a"), case, "merge", {"into": into.number.lower(), "note": "重复"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.MERGED and case.merged_into == into

    assert client_for("comm_a").get(act(into, "whistle")).status_code == 403
    response = post(
        client_for("leader"), into, "whistle", {"departments": [world.dept_xinfang.pk], "note": "会商"}
    )
    assert response.status_code == 302
    assert into.assignments.filter(role="whistle", department=world.dept_xinfang).exists()
    assert post(client_for("dept_xinfang"), into, "report_in", {"note": "到"}).status_code == 302

    assert client_for("auditor").get(act(into, "comment")).status_code == 403
    assert post(client_for("grid_a"), into, "comment", {"note": "居民又来电"}).status_code == 302
    assert into.steps.filter(action="comment", note="居民又来电").exists()
