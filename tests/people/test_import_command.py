"""`manage.py import_people`: a dry run by default, counts and the first 20 errors by row on stdout, exit code
1 (and nothing written, --commit or not) when any row has an error."""

from __future__ import annotations

import csv
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jiedao.audit.models import AuditEvent
from jiedao.people.models import Resident
from tests.people.helpers import id_number
from tests.world import World

pytestmark = pytest.mark.django_db


def roster(path: Path, count: int, bad: int = 0) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "身份证号", "手机"])
        for n in range(count):
            writer.writerow([f"居民{n}", id_number(date(1950, 1, 1), n + 1), ""])
        for n in range(bad):
            writer.writerow([f"错{n}", f"4101041950{n:04d}", "123"])
    return path


def run(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("import_people", *args, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_without_commit_it_only_checks(world: World, tmp_path: Path) -> None:
    output, failed = run(str(roster(tmp_path / "r.csv", 3)), "--community", world.community_a.code)
    assert failed is None
    assert "r.csv → 陇海东路第一社区：3 行，新增 3，更新 0，未变 0，错误 0。" in output
    assert "未写入任何数据；加 --commit 导入" in output
    assert not Resident.objects.exists()


def test_commit_writes_and_a_second_run_changes_nothing(world: World, tmp_path: Path) -> None:
    path = roster(tmp_path / "r.csv", 3)
    output, failed = run(str(path), "--community", world.grid_a.code, "--commit")
    assert failed is None and "已导入" in output
    assert Resident.objects.filter(org_unit=world.grid_a).count() == 3
    event = AuditEvent.objects.get(kind="people.import")
    assert event.actor is None and event.data["by"] == "command line"
    output, failed = run(str(path), "--community", world.grid_a.code, "--commit")
    assert failed is None and "新增 0，更新 0，未变 3，错误 0" in output


def test_errors_exit_with_1_list_the_first_20_and_write_nothing(world: World, tmp_path: Path) -> None:
    path = roster(tmp_path / "bad.csv", 5, bad=25)
    output, failed = run(str(path), "--community", world.community_a.code, "--commit")
    assert failed is not None and failed.returncode == 1
    assert str(failed) == "有 25 行错误，未写入任何数据。"
    lines = output.splitlines()
    assert lines[0] == "bad.csv → 陇海东路第一社区：30 行，新增 5，更新 0，未变 0，错误 25。"
    assert lines[1] == "第 7 行 身份证号：身份证号应为 18 位，这里是 14 位。"
    assert lines[2].startswith("第 7 行 手机：电话号码“123”格式不对")
    assert len([line for line in lines if line.startswith("第 ")]) == 20
    assert lines[-1] == "……（只列出前 20 条错误）"
    assert not Resident.objects.exists()


def test_a_bad_community_or_file_is_refused(world: World, tmp_path: Path) -> None:
    path = roster(tmp_path / "r.csv", 1)
    _output, failed = run(str(path), "--community", "999")
    assert failed is not None and "没有编号为 999 的社区、村或网格" in str(failed)
    _output, failed = run(str(path), "--community", world.subdistrict.code)
    assert failed is not None and "社区、村或网格" in str(failed)
    _output, failed = run(str(tmp_path / "missing.csv"), "--community", world.community_a.code)
    assert failed is not None and "找不到文件" in str(failed)
    text = tmp_path / "notes.csv"
    text.write_text("随便写写\n", encoding="utf-8")
    _output, failed = run(str(text), "--community", world.community_a.code)
    assert failed is not None and "找不到表头" in str(failed)
    with pytest.raises(CommandError):
        call_command("import_people", str(path))  # --community is required
