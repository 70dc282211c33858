"""The .xlsx export: the list's filters over the same scoped cases, masked phones, an audit event."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from jiedao.audit.models import AuditEvent
from jiedao.cases.models import Case

pytestmark = pytest.mark.django_db

EXPORT = "/cases/export.xlsx"


def rows(response) -> list[tuple]:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_export_matches_filters_masks_phone_and_is_audited(make_case, client_for):
    handling = make_case("handling")
    make_case("registered")
    before = AuditEvent.objects.filter(kind="case.export").count()
    data = rows(client_for("leader").get(EXPORT, {"status": "handling"}))
    header, body = data[0], data[1:]
    assert header[0] == "编号" and "联系电话" in header
    assert [r[0] for r in body] == [handling.number]
    phone = body[0][header.index("联系电话")]
    assert phone == "138****5678"
    assert body[0][header.index("状态")] == "处置中"
    event = AuditEvent.objects.filter(kind="case.export").latest("seq")
    assert AuditEvent.objects.filter(kind="case.export").count() == before + 1
    assert event.data["filters"] == {"status": ["handling"]}
    assert event.data["count"] == 1 and event.data["revealed"] is False


def test_reveal_needs_the_permission(make_case, client_for):
    make_case("handling")
    header, *body = rows(client_for("comm_a").get(EXPORT, {"reveal": "1"}))
    assert body[0][header.index("联系电话")] == "13812345678"
    assert AuditEvent.objects.filter(kind="case.export").latest("seq").data["revealed"] is True
    header, *body = rows(client_for("grid_a").get(EXPORT, {"reveal": "1"}))  # grid workers may not reveal
    assert body[0][header.index("联系电话")] == "138****5678"


def test_export_is_scoped(make_case, client_for):
    case = make_case("handling")
    assert len(rows(client_for("grid_b").get(EXPORT))) == 1  # the header only
    assert case.number not in {r[0] for r in rows(client_for("other_leader").get(EXPORT))}
    assert client_for("volunteer").get(EXPORT).status_code == 403


def test_formula_text_stays_text(make_case, client_for):
    case = make_case("handling", description='=HYPERLINK("http://x") 占道')
    Case.objects.filter(pk=case.pk).update(title="=1+1")
    response = client_for("leader").get(EXPORT)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    title = sheet.cell(row=2, column=2)
    assert title.value == "=1+1" and title.data_type == "s"  # not a formula


def test_list_links_to_export_with_same_query(make_case, client_for):
    make_case("handling")
    html = client_for("leader").get(reverse("cases:case_list"), {"light": "green"}).content.decode()
    assert f"{EXPORT}?light=green" in html
