"""The people import's pages: upload (kinds of file, size, scope of the target unit), the mapping screen and
its correction, the dry run and the commit through the task worker (the test settings' immediate backend),
the progress partial, the error workbook, the templates; personas out of scope are refused."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from jiedao.audit.models import AuditEvent
from jiedao.people import forms_import, tasks
from jiedao.people.models import ImportStatus, PeopleImport, Resident
from tests.people.helpers import id_number
from tests.world import World

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def workbook(rows: Sequence[Sequence[object]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["陇海东路第一社区居民台账"])
    sheet.append(header or ["姓名", "身份证号", "联系电话", "小区", "楼栋", "房号", "户号", "与户主关系"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD: list[list[object]] = [
    ["张大山", id_number(date(1950, 3, 1), 11), "13800000001", "陇海花园", "3", "301", "H1", "户主"],
    ["李小梅", id_number(date(1952, 4, 2), 22), "", "陇海花园", "3", "301", "H1", "配偶"],
]


def upload(
    client: Client, unit_pk: int, content: bytes, name: str = "台账.xlsx", kind: str = "residents"
) -> Any:
    return client.post(
        reverse("people:import_upload"),
        {"kind": kind, "unit": unit_pk, "file": SimpleUploadedFile(name, content, content_type=XLSX)},
    )


def only_import() -> PeopleImport:
    return PeopleImport.objects.get()


@pytest.fixture
def worker(django_capture_on_commit_callbacks: Callable[..., Any]) -> Callable[..., Any]:
    """Run what a request enqueues "on commit" (the task worker; the test's transaction never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_upload_check_and_commit(
    world: World, client_for: Callable[[str], Client], worker: Callable[..., Any]
) -> None:
    client = client_for("comm_a")
    assert client.get(reverse("people:import_list")).status_code == 200
    response = upload(client, world.community_a.pk, workbook(GOOD))
    imp = only_import()
    assert response.status_code == 302 and response["Location"] == reverse(
        "people:import_detail", args=[imp.token]
    )
    assert imp.status == ImportStatus.UPLOADED and imp.header_row == 2 and imp.created_by == world["comm_a"]
    assert imp.mapping == {"0": "name", "1": "id_number", "2": "phone", "3": "compound", "4": "building"} | {
        "5": "room",
        "6": "household",
        "7": "relation",
    }
    assert str(imp.file.name).endswith("/upload.xlsx") and imp.filename == "台账.xlsx"

    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="import-mapping"' in page and "张大山" in page  # the sample rows
    assert 'value="id_number" selected' in page and "身份证号 *" in page  # pre-filled, required marked

    mapping = {f"col_{col}": name for col, name in imp.mapping.items()}
    with worker():
        response = client.post(reverse("people:import_check", args=[imp.token]), mapping)
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.status == ImportStatus.CHECKED and imp.error_count == 0 and imp.total == 2
    assert imp.counts["created"] == 2 and not Resident.objects.exists()
    page = client.get(reverse("people:import_detail", args=[imp.token])).content.decode()
    assert 'data-testid="import-confirm"' in page and "将新增" in page

    with worker():
        assert client.post(reverse("people:import_commit", args=[imp.token])).status_code == 302
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE and imp.finished_at is not None
    assert Resident.objects.count() == 2
    event = AuditEvent.objects.get(kind="people.import")
    assert event.object_id == str(imp.pk) and event.actor == world["comm_a"]

    # A second 确认导入 (a double click, a second tab) does nothing twice.
    with worker():
        response = client.post(reverse("people:import_commit", args=[imp.token]), follow=True)
    assert "没有再次导入" in response.content.decode()
    assert Resident.objects.count() == 2 and AuditEvent.objects.filter(kind="people.import").count() == 1
    listing = client.get(reverse("people:import_list")).content.decode()
    assert "台账.xlsx" in listing and "新增 2" in listing


def test_the_mapping_screen_corrects_a_column_the_headers_did_not_name(
    world: World, client_for: Callable[[str], Client], worker: Callable[..., Any]
) -> None:
    client = client_for("comm_a")
    rows = [["张大山", id_number(date(1950, 3, 1), 11), "3号楼"]]
    upload(client, world.community_a.pk, workbook(rows, header=["姓名", "身份号", "楼号"]))
    imp = only_import()
    assert imp.mapping == {"0": "name", "2": "building"}  # 身份号 is no name the import knows
    page = client.get(reverse("people:import_detail", args=[imp.token])).content.decode()
    assert "身份号" in page
    unchanged = {"col_0": "name", "col_1": "", "col_2": "building"}
    response = client.post(reverse("people:import_check", args=[imp.token]), unchanged)
    assert response.status_code == 200 and "缺少必需的列：身份证号。" in response.content.decode()
    imp.refresh_from_db()
    assert imp.status == ImportStatus.UPLOADED
    twice = {"col_0": "name", "col_1": "name", "col_2": ""}
    response = client.post(reverse("people:import_check", args=[imp.token]), twice)
    assert "只能对应一列" in response.content.decode()
    corrected = {"col_0": "name", "col_1": "id_number", "col_2": ""}  # and 楼号 not imported after all
    with worker():
        client.post(reverse("people:import_check", args=[imp.token]), corrected)
    imp.refresh_from_db()
    assert imp.mapping == {"0": "name", "1": "id_number"} and imp.status == ImportStatus.CHECKED
    assert imp.counts["created"] == 1 and imp.error_count == 0


def test_errors_are_listed_and_downloadable_and_block_the_commit(
    world: World, client_for: Callable[[str], Client], worker: Callable[..., Any]
) -> None:
    client = client_for("comm_a")
    rows: list[list[object]] = [
        *GOOD,
        ["王五", 4.10104195302121e17, "", "", "", "", "", ""],
        ["", "", "12345", "", "", "", "", ""],
    ]
    upload(client, world.community_a.pk, workbook(rows), name="有错.xlsx")
    imp = only_import()
    with worker():
        client.post(
            reverse("people:import_check", args=[imp.token]), {f"col_{c}": n for c, n in imp.mapping.items()}
        )
    imp.refresh_from_db()
    assert imp.status == ImportStatus.CHECKED and imp.error_count == 2 and imp.counts["created"] == 2
    assert [(e["row"], e["column"]) for e in imp.errors] == [
        (5, "身份证号"),
        (6, "姓名"),
        (6, "身份证号"),
        (6, "联系电话"),
    ]
    page = client.get(reverse("people:import_detail", args=[imp.token])).content.decode()
    assert "存成了数字" in page and 'data-testid="import-confirm"' not in page
    response = client.get(reverse("people:import_errors", args=[imp.token]))
    assert (
        response.status_code == 200
        and "%E6%9C%89%E9%94%99-%E9%94%99%E8%AF%AF%E8%A1%8C.xlsx" in response["Content-Disposition"]
    )
    sheet = load_workbook(io.BytesIO(response.getvalue())).worksheets[0]
    rows_out = list(sheet.iter_rows(values_only=True))
    assert rows_out[0][-2:] == ("原表行号", "错误") and [r[-2] for r in rows_out[1:]] == [5, 6]
    assert "存成了数字" in str(rows_out[1][-1])
    with worker():
        client.post(reverse("people:import_commit", args=[imp.token]))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.CHECKED and not Resident.objects.exists()


def test_upload_refuses_other_files_with_a_sentence(
    world: World, client_for: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for("comm_a")
    response = upload(client, world.community_a.pk, b"hello", name="名单.docx")
    assert "只能导入 Excel 工作簿（.xlsx、.xls）或 CSV 文件" in response.content.decode()
    response = upload(client, world.community_a.pk, b"PK\x03\x04 broken", name="坏.xlsx")
    assert "无法读取该文件" in response.content.decode()
    response = upload(client, world.community_a.pk, "会议记录\n时间,地点\n".encode(), name="记录.csv")
    assert "找不到表头" in response.content.decode()
    monkeypatch.setattr(forms_import, "MAX_BYTES", 1000)
    response = upload(client, world.community_a.pk, workbook(GOOD))
    assert "超过了 50 MB" in response.content.decode()
    assert not PeopleImport.objects.exists()


def test_a_community_out_of_scope_cannot_be_the_target(
    world: World, client_for: Callable[[str], Client]
) -> None:
    client = client_for("comm_b")
    response = upload(client, world.community_a.pk, workbook(GOOD))
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    assert not PeopleImport.objects.exists()
    page = client.get(reverse("people:import_upload")).content.decode()
    assert world.community_b.name in page and world.community_a.name not in page


@pytest.mark.parametrize("persona", ["grid_a", "leader", "auditor"])
def test_roles_without_the_import_action_are_refused(
    world: World, client_for: Callable[[str], Client], persona: str
) -> None:
    client = client_for(persona)
    assert client.get(reverse("people:import_upload")).status_code == 403
    assert upload(client, world.grid_a.pk, workbook(GOOD)).status_code == 403
    assert client.get(reverse("people:import_template", args=["residents"])).status_code == 403
    assert client.get(reverse("people:import_list")).status_code == 403
    assert not PeopleImport.objects.exists()


def test_someone_elses_import_is_not_found(world: World, client_for: Callable[[str], Client]) -> None:
    upload(client_for("comm_a"), world.community_a.pk, workbook(GOOD))
    imp = only_import()
    other = client_for("comm_b")
    for name in ("import_detail", "import_progress", "import_errors"):
        assert other.get(reverse(f"people:{name}", args=[imp.token])).status_code == 404, name
    for name in ("import_check", "import_commit"):
        assert other.post(reverse(f"people:{name}", args=[imp.token]), {"col_0": "name"}).status_code == 404
    assert imp.token not in other.get(reverse("people:import_list")).content.decode()
    anonymous = Client().get(reverse("people:import_detail", args=[imp.token]))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    imp.refresh_from_db()
    assert imp.status == ImportStatus.UPLOADED


def test_the_progress_partial_polls_while_running_and_reloads_when_done(
    world: World, client_for: Callable[[str], Client]
) -> None:
    client = client_for("comm_a")
    upload(client, world.community_a.pk, workbook(GOOD))
    imp = only_import()
    PeopleImport.objects.filter(pk=imp.pk).update(status=ImportStatus.CHECKING, done=500, total=2000)
    url = reverse("people:import_progress", args=[imp.token])
    response = client.get(url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body and "500 / 2000" in body and 'style="width: 25%"' in body
    assert "HX-Refresh" not in response
    page = client.get(reverse("people:import_detail", args=[imp.token])).content.decode()
    assert 'data-testid="import-progress"' in page and "正在检查" in page
    PeopleImport.objects.filter(pk=imp.pk).update(status=ImportStatus.CHECKED)
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true" and "every 1s" not in response.content.decode()
    assert client.get(url).status_code == 302  # without htmx: the page itself


def test_a_step_claimed_twice_runs_once(world: World, client_for: Callable[[str], Client]) -> None:
    upload(client_for("comm_a"), world.community_a.pk, workbook(GOOD))
    imp = only_import()
    PeopleImport.objects.filter(pk=imp.pk).update(status=ImportStatus.COMMITTING)
    assert not tasks.start_check(imp, {0: "name", 1: "id_number"})
    assert not tasks.start_commit(imp)
    assert tasks.commit_import.call(imp.pk) == {
        "created": 2,
        "errors": 0,
        "places": {"compound": 1, "building": 1, "dwelling": 1, "household": 1},
        "total": 2,
        "unchanged": 0,
        "updated": 0,
    }
    assert tasks.commit_import.call(imp.pk) == {"skipped": True}
    assert Resident.objects.count() == 2


def test_templates_download(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("comm_a")
    for kind in ("residents", "organisations"):
        response = client.get(reverse("people:import_template", args=[kind]))
        assert response.status_code == 200 and response["Content-Type"] == XLSX
        assert load_workbook(io.BytesIO(response.content)).worksheets[0]["A2"].value == (
            "姓名*" if kind == "residents" else "名称*"
        )
    assert client.get(reverse("people:import_template", args=["cases"])).status_code == 404


def test_a_step_that_fails_says_so_on_the_page(world: World, client_for: Callable[[str], Client]) -> None:
    client = client_for("comm_a")
    upload(client, world.community_a.pk, workbook(GOOD))
    imp = only_import()
    Path(imp.file.path).write_bytes(b"not a workbook any more")
    assert tasks.start_check(imp, {0: "name", 1: "id_number"}) is True
    with pytest.raises(Exception, match="无法读取该文件"):
        tasks.check_import.call(imp.pk)
    imp.refresh_from_db()
    assert imp.status == ImportStatus.FAILED and "无法读取该文件" in imp.message
    page = client.get(reverse("people:import_detail", args=[imp.token])).content.decode()
    assert "无法读取该文件" in page and 'data-testid="import-remap"' in page


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_where_the_page_reads_it(tx_world: World) -> None:
    imp = PeopleImport.objects.create(
        token="a" * 32,
        kind="residents",
        org_unit=tx_world.community_a,
        file="people/imports/x/upload.csv",
        filename="x.csv",
        created_by=tx_world["comm_a"],
        status=ImportStatus.CHECKING,
    )
    progress = tasks.Progress(imp.pk)
    progress(10, 100)
    imp.refresh_from_db()
    assert (imp.done, imp.total, imp.progress) == (10, 100, 10)
    progress(20, 100)  # sooner than PROGRESS_SECONDS after the last: not written
    imp.refresh_from_db()
    assert imp.done == 10
    progress(100, 100)  # the end always is
    imp.refresh_from_db()
    assert imp.done == 100
