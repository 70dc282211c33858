"""The case page: scope, escaping, the buttons, the deadline rule, requester privacy, attachments."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from jiedao.audit.models import AuditEvent
from jiedao.cases import services
from jiedao.cases.uploads import check_uploads

pytestmark = pytest.mark.django_db


def detail(case) -> str:
    return reverse("cases:case_detail", args=[case.number])


def png(name: str = "photo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_detail_in_scope_and_404_outside(make_case, client_for):
    case = make_case("handling")
    response = client_for("leader").get(detail(case))
    assert response.status_code == 200
    html = response.content.decode()
    assert case.number in html and case.deadline_rule in html
    assert f"/cases/{case.number}/similar/" in html
    for outsider in ("grid_b", "other_leader"):
        assert client_for(outsider).get(detail(case)).status_code == 404


def test_description_is_escaped(make_case, client_for):
    case = make_case("registered", description="<script>alert('x')</script> 路灯不亮")
    html = client_for("comm_a").get(detail(case)).content.decode()
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html


def test_buttons_follow_the_rules(make_case, client_for):
    case = make_case("registered")
    actions = {t.name for t in client_for("comm_a").get(detail(case)).context["actions"]}
    assert {"accept", "refuse"} <= actions
    assert "sign" not in actions
    grid_a_actions = {t.name for t in client_for("grid_a").get(detail(case)).context["actions"]}
    assert "accept" not in grid_a_actions  # grid workers do not accept
    assert 'data-testid="action-accept"' in client_for("comm_a").get(detail(case)).content.decode()


def test_phone_masked_and_reveal_is_audited(make_case, client_for):
    case = make_case("registered")
    html = client_for("comm_a").get(detail(case)).content.decode()
    assert "13812345678" not in html and "138****5678" in html
    url = reverse("cases:case_reveal", args=[case.number])
    before = AuditEvent.objects.filter(kind="privacy.reveal").count()
    response = client_for("comm_a").post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    event = AuditEvent.objects.filter(kind="privacy.reveal").latest("seq")
    assert AuditEvent.objects.filter(kind="privacy.reveal").count() == before + 1
    assert event.actor is not None and event.actor.username == "comm_a"
    assert event.data["number"] == case.number
    # grid workers may see the case but not reveal the phone; grid_b does not see it at all
    assert client_for("grid_a").post(url).status_code == 403
    assert client_for("grid_b").post(url).status_code in (403, 404)
    assert client_for("comm_a").get(url).status_code == 405
    assert AuditEvent.objects.filter(kind="privacy.reveal").count() == before + 1


def test_attachment_download_is_scoped(make_case, client_for, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = make_case("handling")
    report = b"%PDF-1.4 report"
    pdf = SimpleUploadedFile("report.pdf", report, content_type="application/pdf")
    uploads = check_uploads([png()], [pdf])
    case = services.report(world["grid_a"], case, version=case.version, note="已处理", uploads=uploads)
    photo, document = case.attachments.order_by("kind")[1], case.attachments.order_by("kind")[0]
    assert photo.kind == "photo" and document.kind == "file"
    photo_url = reverse("cases:attachment", args=[case.number, photo.pk])
    doc_url = reverse("cases:attachment", args=[case.number, document.pk])
    html = client_for("leader").get(detail(case)).content.decode()
    assert photo_url in html and doc_url in html
    response = client_for("leader").get(photo_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "attachment" not in response.get("Content-Disposition", "")
    response = client_for("leader").get(doc_url)
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == report
    assert client_for("grid_b").get(photo_url).status_code == 404
    # an attachment of another case is not reachable through this case's number
    other = make_case("registered")
    assert (
        client_for("leader").get(reverse("cases:attachment", args=[other.number, photo.pk])).status_code
        == 404
    )
