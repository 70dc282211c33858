"""People and places (基础信息): compounds, buildings, entrances and dwellings; households and residents with
their tags; organisations at addresses; care subjects (关爱对象) and the grid workers' visits (走访); imports.

Every row belongs to an org unit (usually a grid, a community when the grid is not known) and carries its
path, so scope is one prefix test (`visible_to`). Identity numbers and phones are stored encrypted
(`jiedao.core.privacy`, the column named by `*_token`), with a keyed hash for exact look-ups (`*_index`) and
the masked form kept beside them (`*_mask`) so that lists never decrypt. Edits carry a `version` for
conflict detection; writes go through `services.py`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.deadlines import DueItemMixin
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet

#: The encryption contexts (associated data) and blind-index contexts of the personal columns.
ID_CONTEXT = "people.resident.id_number"
PHONE_CONTEXT = "people.resident.phone"
ELDERLY_AGE = 65


class Versioned(models.Model):
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


# ---------------------------------------------------------------------------------------------------------
# Places


class CompoundKind(models.TextChoices):
    COMMERCIAL = "commercial", _("商品房小区")
    WORK_UNIT = "work_unit", _("单位家属院")
    RESETTLEMENT = "resettlement", _("安置房小区")
    SELF_BUILT = "self_built", _("自建房/散居楼院")
    OTHER = "other", _("其他")


class Compound(Versioned, ScopedModel):
    """A 小区 or 楼院 (compound), under a grid."""

    scope_label = "place"

    name = models.CharField(_("名称"), max_length=100)
    aliases = models.CharField(_("别名"), max_length=200, blank=True, help_text=_("其他叫法，用逗号分隔。"))
    kind = models.CharField(
        _("类型"), max_length=20, choices=CompoundKind.choices, default=CompoundKind.OTHER
    )
    address = models.CharField(_("标准地址"), max_length=200, blank=True)
    is_old = models.BooleanField(_("老旧小区"), default=False)
    property_company = models.CharField(_("物业公司"), max_length=100, blank=True)
    longitude = models.DecimalField(_("经度"), max_digits=9, decimal_places=6, null=True, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("小区/楼院")
        verbose_name_plural = _("小区/楼院")
        ordering = ["org_path", "name"]
        constraints = [models.UniqueConstraint(fields=["org_unit", "name"], name="compound_name_per_unit")]

    def __str__(self) -> str:
        return self.name


class Structure(models.TextChoices):
    BRICK_CONCRETE = "brick_concrete", _("砖混")
    FRAME = "frame", _("框架")
    SHEAR_WALL = "shear_wall", _("剪力墙/钢混")
    BRICK_WOOD = "brick_wood", _("砖木")
    STEEL = "steel", _("钢结构")
    OTHER = "other", _("其他")


class Building(Versioned, ScopedModel):
    """A 楼栋 of a compound."""

    scope_label = "place"

    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("小区/楼院")
    )
    name = models.CharField(_("楼号"), max_length=40, help_text=_("如 3号楼。"))
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    entrance_count = models.PositiveSmallIntegerField(_("单元数"), null=True, blank=True)
    year_built = models.PositiveSmallIntegerField(_("建成年份"), null=True, blank=True)
    structure = models.CharField(_("结构"), max_length=20, choices=Structure.choices, blank=True)
    is_old = models.BooleanField(_("老旧楼栋"), default=False)
    address = models.CharField(_("标准地址"), max_length=200, blank=True)
    note = models.TextField(_("备注"), blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["compound_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="building_name_per_compound")
        ]

    def __str__(self) -> str:
        return f"{self.compound.name}{self.name}"


class Entrance(ScopedModel):
    """A 单元 (staircase unit) of a building."""

    scope_label = "place"

    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="entrances", verbose_name=_("楼栋")
    )
    name = models.CharField(_("单元"), max_length=20, help_text=_("如 1单元。"))

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["building_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["building", "name"], name="entrance_name_per_building")
        ]

    def __str__(self) -> str:
        return self.name


class DwellingUse(models.TextChoices):
    OWNER = "owner", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    BUSINESS = "business", _("经营")


class Dwelling(Versioned, ScopedModel):
    """A 房屋/户室 (dwelling): building, entrance, room number; its standard address is composed from them."""

    scope_label = "place"

    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="dwellings", verbose_name=_("楼栋")
    )
    entrance = models.ForeignKey(
        Entrance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dwellings",
        verbose_name=_("单元"),
    )
    number = models.CharField(_("户室号"), max_length=20)
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    area = models.DecimalField(_("面积 (平方米)"), max_digits=8, decimal_places=2, null=True, blank=True)
    use = models.CharField(_("用途"), max_length=20, choices=DwellingUse.choices, default=DwellingUse.OWNER)
    address = models.CharField(_("标准地址"), max_length=200)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("房屋")
        verbose_name_plural = _("房屋")
        ordering = ["building_id", "entrance_id", "number"]
        # Two conditional constraints rather than nulls_distinct=False, which SQLite does not enforce.
        constraints = [
            models.UniqueConstraint(
                fields=["building", "entrance", "number"],
                condition=Q(entrance__isnull=False),
                name="dwelling_number_per_entrance",
            ),
            models.UniqueConstraint(
                fields=["building", "number"],
                condition=Q(entrance__isnull=True),
                name="dwelling_number_per_building",
            ),
        ]

    def __str__(self) -> str:
        return self.address


def standard_address(compound: str, building: str = "", entrance: str = "", number: str = "") -> str:
    """陇海花园 3号楼 1单元 301: the parts people write, in order, empty parts left out."""
    return " ".join(part for part in (compound, building, entrance, number) if part)


# ---------------------------------------------------------------------------------------------------------
# Organisations


class OrganisationKind(models.TextChoices):
    INSTITUTION = "institution", _("驻区单位")
    ENTERPRISE = "enterprise", _("企业")
    SOCIAL = "social", _("社会组织")
    INDIVIDUAL = "individual", _("个体工商户")


class Organisation(Versioned, ScopedModel):
    """A 驻区单位, enterprise or social organisation at an address. The credit code (统一社会信用代码) is
    checked with python-stdnum; office phones are the organisation's, not personal data."""

    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("类型"), max_length=20, choices=OrganisationKind.choices)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    compound = models.ForeignKey(
        Compound,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name=_("所在小区/楼院"),
    )
    industry = models.CharField(_("行业"), max_length=60, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=40, blank=True)
    phone = models.CharField(_("办公电话"), max_length=40, blank=True)
    employees = models.PositiveIntegerField(_("从业人数"), null=True, blank=True)
    is_active = models.BooleanField(_("在册"), default=True)
    note = models.TextField(_("备注"), blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("单位组织")
        verbose_name_plural = _("单位组织")
        ordering = ["org_path", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="organisation_credit_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------------------
# Households and residents


class HouseholdKind(models.TextChoices):
    FAMILY = "family", _("家庭户")
    COLLECTIVE = "collective", _("集体户")


class Household(Versioned, ScopedModel):
    """A 户: the people registered or living together, one of them the head (户主)."""

    scope_label = "resident"  # seen and changed with its members

    number = models.CharField(_("户号"), max_length=40, blank=True)
    kind = models.CharField(
        _("户别"), max_length=20, choices=HouseholdKind.choices, default=HouseholdKind.FAMILY
    )
    dwelling = models.ForeignKey(
        Dwelling,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="households",
        verbose_name=_("房屋"),
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    head = models.ForeignKey(
        "Resident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("户主"),
    )
    note = models.TextField(_("备注"), blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "version"])

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["org_path", "address"]

    def __str__(self) -> str:
        return self.address or self.number or f"#{self.pk}"


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    HABITUAL = "habitual", _("常住人口")
    FLOATING = "floating", _("流动人口")


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class ResidentQuerySet(ScopedQuerySet):
    def current(self) -> ResidentQuerySet:
        """Still living here (no moved-out date)."""
        return self.filter(moved_out__isnull=True)

    def aged_at_least(self, years: int, on: date) -> ResidentQuerySet:
        return self.filter(birth_date__lte=years_before(on, years))


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class Resident(Versioned, ScopedModel):
    """A 居民. The identity number and phone are encrypted; `id_index`/`phone_index` find them exactly and
    `id_mask`/`phone_mask` show them. Birth date and sex come from the identity number when there is one."""

    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("所在户"),
    )
    relation = models.CharField(_("与户主关系"), max_length=20, choices=Relation.choices, blank=True)
    name = models.CharField(_("姓名"), max_length=60)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=200, blank=True, editable=False)
    id_token = models.TextField(_("身份证号（密文）"), blank=True, editable=False)
    id_index = models.CharField(_("身份证号索引"), max_length=32, blank=True, editable=False)
    id_mask = models.CharField(_("身份证号"), max_length=20, blank=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=8, choices=Sex.choices, blank=True)
    phone_token = models.TextField(_("联系电话（密文）"), blank=True, editable=False)
    phone_index = models.CharField(_("联系电话索引"), max_length=32, blank=True, editable=False)
    phone_mask = models.CharField(_("联系电话"), max_length=20, blank=True, editable=False)
    residence_type = models.CharField(
        _("人口类型"), max_length=20, choices=ResidenceType.choices, default=ResidenceType.REGISTERED
    )
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)
    dwelling = models.ForeignKey(
        Dwelling,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("现住房屋"),
    )
    address = models.CharField(_("现住址"), max_length=200, blank=True)
    moved_in = models.DateField(_("迁入日期"), null=True, blank=True)
    moved_out = models.DateField(_("迁出日期"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)

    objects = ResidentQuerySet.as_manager()  # type: ignore[misc]  # the scoped manager, with current()
    # The history keeps the masked forms, never the ciphertext: a past row shows what changed, not the value.
    history = HistoricalRecords(
        excluded_fields=["updated_at", "version", "id_token", "id_index", "phone_token", "phone_index"]
    )

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["org_path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["id_index"], condition=~Q(id_index=""), name="resident_id_unique")
        ]
        indexes = [
            models.Index(fields=["org_path", "name"], name="resident_scope_name_idx"),
            models.Index(fields=["phone_index"], name="resident_phone_idx"),
            models.Index(fields=["birth_date"], name="resident_birth_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    @property
    def is_current(self) -> bool:
        return self.moved_out is None


class Tag(models.Model):
    """A label on residents (空巢, 低保, 退役军人 …), configurable by administrators. A tag with `min_age` is
    derived from the birth date (65岁以上老人) and never stored on a resident: it cannot go stale."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    min_age = models.PositiveSmallIntegerField(
        _("按年龄自动"), null=True, blank=True, help_text=_("填写后，凡年满该岁数的居民自动带此标签。")
    )
    care = models.BooleanField(_("关爱类"), default=False, help_text=_("带此标签的居民可列为关爱对象。"))
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("人员标签")
        verbose_name_plural = _("人员标签")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def derived(self) -> bool:
        return self.min_age is not None


class ResidentTag(models.Model):
    """A tag on a resident from `start` to `end` (both optional: open-ended)."""

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="tags", verbose_name=_("居民")
    )
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="+", verbose_name=_("标签"))
    start = models.DateField(_("开始日期"), null=True, blank=True)
    end = models.DateField(_("结束日期"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("居民标签")
        verbose_name_plural = _("居民标签")
        ordering = ["tag__sort_order", "start"]
        indexes = [models.Index(fields=["tag", "resident"], name="resident_tag_idx")]

    def __str__(self) -> str:
        return f"{self.resident} · {self.tag}"

    def active_on(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or self.end >= day)


# ---------------------------------------------------------------------------------------------------------
# Care subjects and visits


class CareSubject(DueItemMixin, Versioned, ScopedModel):
    """A 关爱对象: a resident the grid worker visits at least every `visit_every_days` days. `due_at` is the
    last visit (or `since`) plus that many days: the shared deadline engine warns when it passes."""

    scope_label = "care"

    resident = models.ForeignKey(
        Resident, on_delete=models.PROTECT, related_name="care", verbose_name=_("居民")
    )
    reason = models.CharField(_("关爱原因"), max_length=100)
    visit_every_days = models.PositiveSmallIntegerField(_("走访周期（天）"), default=30)
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("负责网格员"),
    )
    since = models.DateField(_("列入日期"))
    until = models.DateField(_("移出日期"), null=True, blank=True)
    last_visit_at = models.DateField(_("最近走访"), null=True, blank=True)
    warned_at = models.DateTimeField(_("超期提醒时间"), null=True, blank=True, editable=False)
    note = models.TextField(_("备注"), blank=True)

    history = HistoricalRecords(
        excluded_fields=[
            "updated_at",
            "version",
            "due_state",
            "claim_token",
            "claimed_at",
            "done_at",
            "attempts",
            "last_error",
        ]
    )

    class Meta:
        verbose_name = _("关爱对象")
        verbose_name_plural = _("关爱对象")
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["due_state", "due_at"], name="care_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resident} · {self.reason}"

    @property
    def is_active(self) -> bool:
        return self.until is None

    @property
    def visit_by(self) -> date:
        """The last day the next visit is due (the warning comes the morning after)."""
        return (self.last_visit_at or self.since) + timedelta(days=self.visit_every_days)


def visit_photo_path(instance: Visit, filename: str) -> str:
    return f"people/visits/{instance.care_id}/{filename}"


class Visit(ScopedModel):
    """A 走访: who visited whom, when, what was found or done, with a photo."""

    scope_label = "care"

    care = models.ForeignKey(
        CareSubject, on_delete=models.CASCADE, related_name="visits", verbose_name=_("关爱对象")
    )
    visited_on = models.DateField(_("走访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("走访人")
    )
    summary = models.TextField(_("走访情况"))
    photo = models.ImageField(_("照片"), upload_to=visit_photo_path, blank=True)
    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_on", "-id"]
        indexes = [models.Index(fields=["care", "visited_on"], name="visit_care_idx")]

    def __str__(self) -> str:
        return f"{self.care} @ {self.visited_on}"


# ---------------------------------------------------------------------------------------------------------
# Imports


class ImportKind(models.TextChoices):
    RESIDENTS = "residents", _("居民（含户和房屋）")
    ORGANISATIONS = "organisations", _("单位组织")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("待确认列")
    CHECKING = "checking", _("检查中")
    CHECKED = "checked", _("已检查")
    COMMITTING = "committing", _("导入中")
    DONE = "done", _("已导入")
    FAILED = "failed", _("失败")


def import_file_path(instance: PeopleImport, filename: str) -> str:
    return f"people/imports/{instance.token}/{filename}"


class PeopleImport(ScopedModel):
    """One uploaded sheet on its way in: the column mapping, the dry run's counts and errors, then the commit.
    `org_unit` is the community (or grid) the rows go to; the file stays in private media."""

    scope_label = "people_import"

    token = models.CharField(max_length=32, unique=True, editable=False)
    kind = models.CharField(_("导入内容"), max_length=20, choices=ImportKind.choices)
    file = models.FileField(_("文件"), upload_to=import_file_path, max_length=300)
    filename = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    header_row = models.PositiveIntegerField(_("表头所在行"), default=0)
    headers = models.JSONField(_("表头"), default=list)
    mapping = models.JSONField(_("列对应"), default=dict)
    total = models.PositiveIntegerField(_("行数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    counts = models.JSONField(_("统计"), default=dict)
    errors = models.JSONField(_("错误（前若干条）"), default=list)
    error_count = models.PositiveIntegerField(_("错误行数"), default=0)
    message = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("人口导入")
        verbose_name_plural = _("人口导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress(self) -> int:
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def running(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.COMMITTING)


def model_label(obj: Any) -> str:
    return str(obj._meta.verbose_name)
