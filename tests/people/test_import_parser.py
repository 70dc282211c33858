"""The people import reading sheets shaped like the ones communities keep: title rows above a merged two-row
header, full-width digits and letters, identity numbers Excel turned into numbers, dates written every way,
blank rows, CSV in GB18030, ten thousand bad rows; the template; the column mapping's checks."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from stdnum.cn import uscc

from jiedao.core.sheets import SheetFileError
from jiedao.people import importer
from jiedao.people.models import Compound, Resident, Tag
from tests.people.helpers import id_number
from tests.world import World

pytestmark = pytest.mark.django_db

WIDE = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def wide(text: str) -> str:
    return text.translate(WIDE)


def ledger(path: Path, rows: list[list[object]]) -> Path:
    """A 台账 as offices keep it: a merged title, a 填报 line, then a two-row header whose group titles
    (基本信息, 居住信息) are merged across and whose single columns are merged down."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["陇海东路第一社区 居民信息登记台账（2026年11月）"])
    sheet.merge_cells("A1:N1")
    sheet.append(["填报单位：陇海东路第一社区居委会", *[None] * 7, "填报日期：2026.11"])
    groups = ["序号", "基本信息", None, None, "联系方式", "居住信息", None, None, None]
    sheet.append([*groups, "户号", "与户主关系", "人口类型", "迁入时间", "人员类别"])
    sheet.append([None, "姓名\n（必填）", "公民身份号码*", "性别", "手机", "小区", "楼栋", "单元", "房号"])
    sheet.merge_cells("B3:D3")
    sheet.merge_cells("F3:I3")
    for letter in "AJKLMN":
        sheet.merge_cells(f"{letter}3:{letter}4")
    for cells in rows:
        sheet.append(cells)
    workbook.save(path)
    return path


COLUMNS = [
    "no",
    "name",
    "id",
    "sex",
    "phone",
    "compound",
    "building",
    "entrance",
    "room",
    "household",
    "relation",
    "type",
    "moved_in",
    "tags",
]


def row(**values: object) -> list[object]:
    """A ledger row from the columns given by name (the others empty)."""
    unknown = set(values) - set(COLUMNS)
    assert not unknown, unknown
    return [values.get(name) for name in COLUMNS]


A = id_number(date(1953, 2, 12), 123)  # a man born 1953
B = id_number(date(1955, 11, 3), 222)  # a woman
C = id_number(date(1980, 1, 1), 2).replace("X", "x")
WANG = {
    "no": 1,
    "name": "王 秀 英",
    "id": wide(A),
    "sex": "男",
    "phone": "１３８ １２３４ ５６７８",
    "compound": "陇海花园",
    "building": "3",
    "entrance": "1",
    "room": "301",
    "household": "H001",
    "relation": "户主",
    "type": "户籍",
    "moved_in": "1953年2月",
    "tags": "低保，残疾",
}
LI = {
    **WANG,
    "no": 2,
    "name": "李秀兰",
    "id": B,
    "sex": "女",
    "phone": 13912345678.0,
    "building": "3号楼",
    "entrance": "1单元",
    "room": "301室",
    "relation": "妻",
    "type": "常住",
    "moved_in": "2016.05",
    "tags": "空巢",
}
ZHAO = {
    "no": 3,
    "name": "赵敏",
    "id": wide(C),
    "phone": "0371-66881234",
    "compound": "东明路3号院",
    "building": "2栋",
    "room": "102",
    "relation": "户主",
    "type": "流动",
    "moved_in": 43000,
}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    return ledger(
        tmp_path / "台账.xlsx",
        [
            row(**WANG),
            row(),
            row(**LI),
            row(**ZHAO),
            row(),
            row(no=4, name="钱 多多", id=4.10104195302121e17, sex="男"),
            row(no=5, name="孙立", id=id_number(date(1990, 7, 8), 5), moved_in=datetime(2020, 5, 1)),
            row(no=6, name="周强", id=id_number(date(1991, 3, 4), 7), moved_in="2017/6/1"),
            row(no=7),
            row(tags="备注：以上信息已核实"),
        ],
    )


def test_analysis_finds_the_header_below_title_rows_and_through_merged_cells(messy: Path) -> None:
    analysis = importer.analyse(messy)
    assert analysis.header_row == 4
    assert analysis.headers[:5] == ["序号", "姓名 （必填）", "公民身份号码*", "性别", "手机"]
    assert analysis.headers[9:] == ["户号", "与户主关系", "人口类型", "迁入时间", "人员类别"]
    assert analysis.mapping == {
        1: "name",
        2: "id_number",
        3: "sex",
        4: "phone",
        5: "compound",
        6: "building",
        7: "entrance",
        8: "room",
        9: "household",
        10: "relation",
        11: "residence_type",
        12: "moved_in",
        13: "tags",
    }
    assert not analysis.missing
    # Blank rows are skipped, and so is the numbered row with nothing else in it (a template's spare row);
    # the note under the table lies in a mapped column (人员类别) and counts as a row.
    assert analysis.total == 7
    assert analysis.sample[0][:3] == ["1", "王 秀 英", A]  # shown folded to half width


def test_a_real_ledger_imports_with_its_values_normalised(world: World, messy: Path) -> None:
    result = importer.run(messy, unit=world.community_a, actor=world["comm_a"], commit=False)
    by_row: dict[int, list[importer.RowError]] = {}
    for error in result.errors:
        by_row.setdefault(error.row, []).append(error)
    assert set(by_row) == {10, 14}
    assert [e.column for e in by_row[10]] == ["公民身份号码*"] and "存成了数字" in by_row[10][0].message
    assert [e.column for e in by_row[14]] == ["姓名 （必填）", "公民身份号码*", "人员类别"]
    assert "请填写姓名" in by_row[14][0].message
    assert result.created == 5 and result.error_count == 2 and result.total == 7
    assert not Resident.objects.exists()  # a dry run writes nothing

    good = [1, 2, 3, 5, 6]  # 序号 of the good rows
    rows = [r for r in load_rows(messy) if r[0] in good]
    fixed = messy.with_name("fixed.xlsx")
    ledger(fixed, rows)
    result = importer.run(fixed, unit=world.community_a, actor=world["comm_a"], commit=True)
    assert result.ok and result.committed and result.created == 5, result.errors

    wang = Resident.objects.get(name="王秀英")
    assert wang.id_mask == f"{A[:6]}********{A[-4:]}" and wang.phone_mask == "138****5678"
    assert wang.birth_date == date(1953, 2, 12) and wang.sex == "male" and wang.moved_in == date(1953, 2, 1)
    assert wang.address == "陇海花园 3号楼 1单元 301" and wang.name_pinyin.endswith(" wxy")
    assert wang.residence_type == "registered" and wang.relation == "head"
    li = Resident.objects.get(name="李秀兰")
    assert li.phone_mask == "139****5678" and li.moved_in == date(2016, 5, 1) and li.relation == "spouse"
    assert li.dwelling_id == wang.dwelling_id and li.household_id == wang.household_id
    household = wang.household
    assert household is not None
    assert household.head_id == wang.pk and household.number == "H001"
    zhao = Resident.objects.get(name="赵敏")
    assert zhao.id_mask.endswith(C[-4:].upper()) and zhao.residence_type == "floating"
    assert zhao.moved_in == date(2017, 9, 22)  # Excel serial 43000
    assert zhao.address == "东明路3号院 2号楼 102" and zhao.household is not None  # a household per dwelling
    assert Resident.objects.get(name="孙立").moved_in == date(2020, 5, 1)
    assert Resident.objects.get(name="周强").moved_in == date(2017, 6, 1)
    assert sorted(Compound.objects.values_list("name", flat=True)) == ["东明路3号院", "陇海花园"]
    tags = {(t.resident.name, t.tag.code) for t in wang.tags.select_related("tag")}
    assert tags == {("王秀英", "dibao"), ("王秀英", "disabled")}  # 残疾 matches 残疾人
    assert li.tags.get().tag.code == "empty_nest"  # 空巢 matches 空巢老人


def load_rows(path: Path) -> list[list[object]]:
    sheet = load_workbook(path).active
    assert sheet is not None
    return [list(r) for r in sheet.iter_rows(min_row=5, values_only=True) if r[0] is not None]


def test_each_kind_of_bad_value_gets_its_own_sentence(world: World, tmp_path: Path) -> None:
    man = id_number(date(1960, 3, 3), 11)
    rows: list[list[object]] = [
        row(no=1, name="甲", id=man[:-1] + ("0" if man[-1] != "0" else "1")),  # check digit
        row(no=2, name="乙", id=man[:15]),  # the old 15 digits
        row(no=3, name="丙", id=id_number(date(1961, 1, 1), 2), sex="男"),  # even: the number says a woman
        row(no=4, name="丁", id=id_number(date(1962, 1, 1), 3), phone="12345"),
        row(no=5, name="戊", id=id_number(date(1963, 1, 1), 5), relation="外甥"),
        row(no=6, name="己", id=id_number(date(1964, 1, 1), 7), type="常驻"),
        row(no=7, name="庚", id=id_number(date(1965, 1, 1), 9), moved_in="去年"),
        row(no=8, name="辛", id=id_number(date(1966, 1, 1), 1), tags="会员"),
        row(no=9, name="壬", id=id_number(date(1967, 1, 1), 3), building="5号楼"),
        row(no=10, name="癸", id=id_number(date(1968, 1, 1), 5), moved_in="2099-01-01"),
        row(no=11, name="子", id=""),
        row(no=12, name="丑", id=man),
        row(no=13, name="寅", id=man),
    ]
    result = importer.run(ledger(tmp_path / "bad.xlsx", rows), unit=world.community_a, actor=None)
    messages = {e.row - 4: (e.column, e.message) for e in result.errors}
    assert "校验位" in messages[1][1]
    assert "15 位" in messages[2][1]
    assert messages[3] == ("性别", "性别与身份证号不符，请核对身份证号。")
    assert messages[4][0] == "手机" and "11 位" in messages[4][1]
    assert messages[5][0] == "与户主关系" and "外甥" in messages[5][1]
    assert "户籍、常住或流动" in messages[6][1]
    assert "无法识别的日期“去年”" in messages[7][1]
    assert "标签“会员”不存在" in messages[8][1] and "低保" in messages[8][1]
    assert messages[9] == ("小区", "填写了楼栋、单元或房号时，请同时填写小区/楼院。")
    assert "晚于今天" in messages[10][1]
    assert "没有身份证号的行无法导入" in messages[11][1]
    assert 12 not in messages and messages[13] == (
        "公民身份号码*",
        "与第 16 行的身份证号相同，同一人只能出现一次。",
    )
    assert result.error_count == 12 and result.created == 1


def test_ten_thousand_bad_rows_are_all_reported_and_all_in_the_error_workbook(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "bad.xlsx"
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("居民")
    sheet.append(["姓名", "身份证号", "联系电话"])
    for n in range(10_000):
        sheet.append([f"居民{n}", f"41010419700101{n:04d}"[:17], "1380000"])  # 17 digits, 7-digit phone
    workbook.save(path)
    result = importer.run(path, unit=world.community_a, actor=None)
    assert result.total == 10_000 and result.error_count == 10_000
    assert len(result.errors) == importer.ERROR_LIMIT  # the rest are counted, and in the workbook
    content = importer.errors_workbook(result)
    rows = list(load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("姓名", "身份证号", "联系电话", "原表行号", "错误")
    assert len(rows) == 10_001
    assert rows[1][:4] == ("居民0", "41010419700101000", "1380000", 2)
    assert rows[1][4] == "身份证号：身份证号应为 18 位，这里是 17 位。 联系电话：" + PHONE_MESSAGE
    assert rows[-1][0] == "居民9999" and rows[-1][3] == 10_001


PHONE_MESSAGE = "电话号码“1380000”格式不对：手机为 11 位，座机为区号加号码。"


def test_gb18030_csv_with_a_title_row(world: World, tmp_path: Path) -> None:
    path = tmp_path / "居民.csv"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["新郑路社区居民名册"])
    writer.writerow(["名字", "证件号码", "联系方式", "地址"])
    writer.writerow(["刘 洋", id_number(date(1999, 9, 9), 1), "１８６０３７１００００", "新郑路 9 号"])
    path.write_bytes(out.getvalue().encode("gb18030"))
    result = importer.run(path, unit=world.community_b, actor=world["comm_b"], commit=True)
    assert result.created == 1, result.errors
    stored = Resident.objects.get()
    assert stored.name == "刘洋" and stored.address == "新郑路 9 号" and stored.org_unit == world.community_b


def test_a_sheet_without_a_recognisable_header_is_refused_as_a_whole(world: World, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("会议记录\n时间,地点\n2026-11-01,会议室\n", encoding="utf-8")
    with pytest.raises(SheetFileError, match="找不到表头"):
        importer.analyse(path)
    with pytest.raises(SheetFileError, match="找不到表头"):
        importer.run(path, unit=world.community_a, actor=None)


def test_the_mapping_is_checked(tmp_path: Path) -> None:
    assert importer.check_mapping("residents", {"0": "name", "1": "id_number", "2": ""}) == {
        0: "name",
        1: "id_number",
    }
    with pytest.raises(SheetFileError, match="缺少必需的列：身份证号"):
        importer.check_mapping("residents", {0: "name"})
    with pytest.raises(SheetFileError, match="只能对应一列"):
        importer.check_mapping("residents", {0: "name", 1: "id_number", 2: "name"})
    with pytest.raises(SheetFileError, match="无效"):
        importer.check_mapping("residents", {0: "name", 1: "id_number", 2: "salary"})
    with pytest.raises(SheetFileError, match="无效"):
        importer.check_mapping("residents", {0: "name", 9: "id_number"}, width=3)


def test_a_mapping_given_overrides_the_headers(world: World, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    number = id_number(date(1950, 1, 1), 1)
    path.write_text(f"姓名,身份号,手机\n张三,{number},13800000000\n", encoding="utf-8")
    assert importer.analyse(path).missing == [f for f in importer.RESIDENT_FIELDS if f.name == "id_number"]
    with pytest.raises(SheetFileError, match="身份证号"):
        importer.run(path, unit=world.community_a, actor=None)
    result = importer.run(path, unit=world.community_a, actor=None, mapping={0: "name", 1: "id_number"})
    assert result.created == 1 and result.mapping == {0: "name", 1: "id_number"}


def test_the_template_reads_back_and_keeps_id_numbers_as_text(world: World, tmp_path: Path) -> None:
    for kind in ("residents", "organisations"):
        path = tmp_path / f"{kind}.xlsx"
        path.write_bytes(importer.template_bytes(kind))
        analysis = importer.analyse(path, kind)
        assert analysis.header_row == 2 and analysis.total == 0 and not analysis.missing
        fields = [f for f in importer.fields_for(kind) if f.in_template]
        assert sorted(analysis.mapping.values()) == sorted(f.name for f in fields)
    workbook = load_workbook(tmp_path / "residents.xlsx")
    sheet = workbook.worksheets[0]
    assert sheet.cell(row=3, column=2).number_format == "@"  # 身份证号: text, every digit kept
    sheet.append(["张三", id_number(date(1953, 2, 12), 123), "13812345678", "汉族", "户籍"])
    workbook.save(tmp_path / "filled.xlsx")
    result = importer.run(tmp_path / "filled.xlsx", unit=world.grid_a, actor=None, commit=True)
    assert result.created == 1 and Resident.objects.get().org_unit == world.grid_a
    notes = [c.value for c in workbook.worksheets[1]["B"]]
    assert any("低保" in str(n) for n in notes) and Tag.objects.filter(name="低保").exists()


def test_organisations_are_read_with_their_credit_codes_and_kinds(world: World, tmp_path: Path) -> None:
    path = tmp_path / "单位.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["驻区单位统计表"])
    sheet.append(["单位名称", "单位性质", "统一社会信用代码", "地址", "从业人数", "负责人", "办公电话"])
    sheet.append(["郑州市管城区某商贸有限公司", "", COMPANY, "陇海东路 88 号", "12", "王经理", "0371-6688"])
    sheet.append(["陇海社区卫生服务站", "事业单位", "", "陇海东路 90 号", "八", "", ""])
    sheet.append(["某公司", "公司", "91410104MA44A0XX7", "", "", "", ""])
    workbook.save(path)
    result = importer.run(path, unit=world.community_a, actor=None, kind="organisations")
    errors = {e.row: e for e in result.errors}
    assert set(errors) == {4, 5}
    assert errors[4].column == "从业人数" and "整数" in errors[4].message
    assert errors[5].column == "统一社会信用代码" and "无效" in errors[5].message
    assert result.created == 1 and result.error_count == 2


COMPANY = "91410104MA44A0XX7" + uscc.calc_check_digit("91410104MA44A0XX7")


def test_birth_dates_written_every_way_are_checked_against_the_number(world: World, tmp_path: Path) -> None:
    path = tmp_path / "births.csv"
    old = id_number(date(1926, 6, 28), 1)
    rows = [
        ["甲", old, "9676"],  # a serial before 1927, written by a CSV as four digits
        ["乙", id_number(date(1953, 2, 12), 3), "1953"],  # the year alone
        ["丙", id_number(date(1953, 2, 12), 5), "1954"],
        ["丁", id_number(date(1953, 2, 12), 7), "19530212"],
        ["戊", id_number(date(1953, 2, 12), 9), "1953.03"],
        ["己", id_number(date(1953, 2, 12), 11), "2026"],  # a year, and not the number's
    ]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["姓名", "身份证号", "出生日期"])
        writer.writerows(rows)
    result = importer.run(path, unit=world.community_a, actor=None)
    assert {e.row: e.message for e in result.errors} == {
        4: "出生年份 1954 与身份证号中的 1953 不符，请核对身份证号。",
        6: "出生日期 1953-03 与身份证号中的 1953-02 不符，请核对身份证号。",
        7: "出生年份 2026 与身份证号中的 1953 不符，请核对身份证号。",
    }
    assert importer.parse_day("9676", date(2026, 11, 23)) == date(1926, 6, 28)
    assert importer.parse_day("2026", date(2026, 11, 23)) is None


def test_the_integer_table_holds_a_million_numbers_compactly() -> None:
    table = importer._IntTable(capacity=8)  # grows as it fills
    numbers = [41010419500101000 + n * 7919 for n in range(50_000)]
    assert [table.first(k, row) for row, k in enumerate(numbers, start=2)] == list(range(2, 50_002))
    assert table.first(numbers[123], 99_999) == 125 and table.first(numbers[-1], 1) == 50_001
    assert table.count == 50_000 and len(table.keys) == 131_072
    assert table.get(numbers[7]) == 9 and table.get(12345) == 0
    table.set(numbers[7], -5)
    assert table.get(numbers[7]) == -5 and table.count == 50_000
    assert [importer._signed_key(i) for i in (1, 2, -1, -2)] == [2, 4, 3, 5]
    sized = importer._IntTable.for_rows(1_000_000)
    assert len(sized.keys) == 1 << 21 and sized.keys.itemsize * len(sized.keys) * 2 == 32 * 1024 * 1024


def test_names_and_places_are_written_one_way() -> None:
    assert importer.clean_name(" 王 秀 英 ") == "王秀英" and importer.clean_name("王　英") == "王英"
    assert importer.clean_name("John  Smith") == "John Smith"
    assert importer.ethnicity_name("汉") == "汉族" and importer.ethnicity_name("维吾尔") == "维吾尔族"
    assert importer.ethnicity_name("回族") == "回族" and importer.ethnicity_name("穿青人") == "穿青人"
    assert [importer.building_name(b) for b in ("3", "3号", "3栋", "3幢", "03#", "3号楼", "A座")] == [
        *["3号楼"] * 6,
        "A座",
    ]
    assert importer.entrance_name("2") == "2单元" and importer.room_number("301室") == "301"
