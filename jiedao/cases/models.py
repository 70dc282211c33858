"""Cases (工单): residents' requests, complaints, petitions (信访), disputes and hazards, in one closed loop.

The states and the transitions between them are declared in `workflow.py`; every change goes through
`services.py`. A case is scoped by its location (`org_unit`, copied `org_path`), so the community and grid
where
it happened, the sub-district above them and the district see it; confidential cases need a further action.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from jiedao.core.history import HistoricalRecords
from jiedao.core.models.deadlines import DueItemMixin
from jiedao.core.models.fastinsert import FastInsertModel
from jiedao.core.models.scope import ScopedModel, ScopedQuerySet, under_path
from jiedao.core.privacy import mask_phone


class Channel(models.TextChoices):
    GRID = "grid", _("网格员上报")
    ONLINE = "online", _("居民网上")
    PHONE = "phone", _("电话")
    LETTER = "letter", _("来信")
    VISIT = "visit", _("来访")
    HOTLINE = "hotline", _("上级交办/12345转办")
    PATROL = "patrol", _("巡查发现")
    API = "api", _("开放接口")


class Priority(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")
    CRITICAL = "critical", _("特急")


class PetitionType(models.TextChoices):
    SUGGESTION = "suggestion", _("建议意见")
    ACCUSATION = "accusation", _("检举控告")
    CLAIM = "claim", _("申诉求决")


class Outcome(models.TextChoices):
    RESOLVED = "resolved", _("已解决")
    PARTIAL = "partial", _("部分解决")
    EXPLAINED = "explained", _("已解释")
    LEGAL = "legal", _("转法定途径")
    NOT_OURS = "not_ours", _("非本单位职责")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")


class Status(models.TextChoices):
    REGISTERED = "registered", _("待受理")
    ACCEPTED = "accepted", _("待派遣")
    NOT_ACCEPTED = "not_accepted", _("不予受理")
    DISPATCHED = "dispatched", _("待签收")
    CONTESTED = "contested", _("退单审核")
    HANDLING = "handling", _("处置中")
    REPORTED = "reported", _("待核查")
    VERIFIED = "verified", _("待结案")
    CLOSED = "closed", _("已结案")
    RATED = "rated", _("已评价")
    MERGED = "merged", _("已合并")
    ESCALATED = "escalated", _("已升级")
    UNDER_REVIEW = "under_review", _("复查复核中")


OPEN_STATUSES = frozenset(
    {
        Status.REGISTERED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.CONTESTED,
        Status.HANDLING,
        Status.REPORTED,
        Status.VERIFIED,
        Status.ESCALATED,
        Status.UNDER_REVIEW,
    }
)
DONE_STATUSES = frozenset({Status.CLOSED, Status.RATED})


class Light(models.TextChoices):
    GREEN = "green", _("绿灯")
    YELLOW = "yellow", _("黄灯")
    RED = "red", _("红灯")
    NONE = "none", _("无时限")


# ---------------------------------------------------------------------------------------------------------
# Catalogue: categories with their extra fields, deadline policies, the dispatch table


class Category(models.Model):
    """A node of the configurable category tree (城市管理 › 占道经营 …). Cases are filed under leaves."""

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级"),
    )
    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    keywords = models.CharField(
        _("关键词"), max_length=300, blank=True, help_text=_("以空格分隔，用于开放接口检索。")
    )
    is_public = models.BooleanField(_("居民可选"), default=True, help_text=_("在居民端和开放接口中提供。"))
    is_hazard = models.BooleanField(_("隐患类"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("工单类别")
        verbose_name_plural = _("工单类别")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.parent.name} › {self.name}" if self.parent_id and self.parent else self.name

    def lineage(self) -> list[Category]:
        """This category and its ancestors, nearest first."""
        chain: list[Category] = []
        node: Category | None = self
        while node is not None and len(chain) < 10:
            chain.append(node)
            node = node.parent
        return chain


class FieldType(models.TextChoices):
    """The Open311 service-definition datatypes."""

    STRING = "string", _("文本")
    TEXT = "text", _("多行文本")
    NUMBER = "number", _("数字")
    DATETIME = "datetime", _("日期")
    SINGLE = "singlevaluelist", _("单选")
    MULTI = "multivaluelist", _("多选")


class CategoryField(models.Model):
    """An extra field a category asks for (an Open311 attribute)."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="fields", verbose_name=_("类别")
    )
    code = models.SlugField(_("代码"), max_length=40)
    label = models.CharField(_("名称"), max_length=60)
    datatype = models.CharField(_("类型"), max_length=20, choices=FieldType.choices, default=FieldType.STRING)
    required = models.BooleanField(_("必填"), default=False)
    help_text = models.CharField(_("说明"), max_length=200, blank=True)
    choices = models.JSONField(
        _("选项"), default=list, blank=True, help_text=_('单选/多选的选项：[{"key": "a", "name": "甲"}]')
    )
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("类别附加字段")
        verbose_name_plural = _("类别附加字段")
        ordering = ["category", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="category_field_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.category.name}: {self.label}"


class TimeUnit(models.TextChoices):
    # A context of their own: "日" is also the calendar's Sunday, "工作日" a kind of day there.
    HOURS = "hours", pgettext_lazy("时限单位", "小时")
    DAYS = "days", pgettext_lazy("时限单位", "日")
    WORKDAYS = "workdays", pgettext_lazy("时限单位", "工作日")


class DeadlinePolicy(models.Model):
    """How long a case of a category and priority may take; the most specific policy wins (category, then
    its ancestors, then the default with no category; a priority-specific row before an any-priority one)."""

    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("类别"),
    )
    priority = models.CharField(_("紧急程度"), max_length=16, choices=Priority.choices, blank=True)
    amount = models.PositiveIntegerField(_("时限"))
    unit = models.CharField(_("单位"), max_length=10, choices=TimeUnit.choices, default=TimeUnit.WORKDAYS)
    response_hours = models.PositiveIntegerField(_("响应时限（小时）"), default=24)
    remind_before_hours = models.PositiveIntegerField(_("提前催办（小时）"), default=24)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("办理时限")
        verbose_name_plural = _("办理时限")
        ordering = ["category__code", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["category", "priority"], name="deadline_policy_unique"),
        ]

    def __str__(self) -> str:
        category = self.category or _("默认")
        return f"{category} {self.get_priority_display() or ''} {self.amount}{self.get_unit_display()}"


class DispatchRule(ScopedModel):
    """One row of the dispatch table (派单目录): cases of `category` located under `org_unit` go to
    `target_unit` (a community, grid or the sub-district) or `target_department`. Versioned: a change closes
    the row (`valid_to`) and adds a new one with the next version, so every case keeps the rule it was
    routed by.
    """

    scope_label = "dispatch"

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="rules", verbose_name=_("类别")
    )
    target_unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("承办单位"),
    )
    target_department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("承办科室"),
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    valid_from = models.DateTimeField(_("生效时间"), auto_now_add=True)
    valid_to = models.DateTimeField(_("失效时间"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单目录")
        ordering = ["category__code", "org_path", "-version"]
        indexes = [models.Index(fields=["category", "valid_to"], name="dispatch_rule_current_idx")]

    def __str__(self) -> str:
        target = self.target_department or self.target_unit
        return f"{self.category} @ {self.org_unit} → {target} (v{self.version})"


# ---------------------------------------------------------------------------------------------------------
# The case


class CaseQuerySet(ScopedQuerySet):
    def visible_to(self, user: Any, action: str = "view") -> CaseQuerySet:
        """Scope by location; confidential cases also need "case.view_confidential" there."""
        from jiedao.core.permissions import scope_paths

        qs = super().visible_to(user, action)
        paths = scope_paths(user, "case.view_confidential")
        if paths is None:
            return qs
        if not paths:
            return qs.filter(confidential=False)
        allowed = models.Q()
        for path in paths:
            allowed |= under_path("org_path", path, qs.db)
        return qs.filter(models.Q(confidential=False) | allowed)

    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Case(FastInsertModel, ScopedModel):
    """A case (工单). `org_unit` is where it happened (a grid, community or the sub-district)."""

    scope_label = "case"

    number = models.CharField(_("编号"), max_length=20, unique=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("类别"),
        db_index=False,
    )
    priority = models.CharField(
        _("紧急程度"), max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    confidential = models.BooleanField(_("保密"), default=False)
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("内容"))
    extra = models.JSONField(_("附加信息"), default=dict, blank=True)

    address = models.CharField(_("地址"), max_length=200, blank=True)
    longitude = models.FloatField(_("经度"), null=True, blank=True)
    latitude = models.FloatField(_("纬度"), null=True, blank=True)

    anonymous = models.BooleanField(_("匿名"), default=False)
    requester_name = models.CharField(_("诉求人"), max_length=60, blank=True)
    requester_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    phone_last4 = models.CharField(_("电话后四位"), max_length=4, blank=True, editable=False)

    petition_type = models.CharField(_("信访类型"), max_length=16, choices=PetitionType.choices, blank=True)
    review_level = models.PositiveSmallIntegerField(
        _("复查复核"), default=0, help_text=_("0 初次办理，1 已复查，2 已复核")
    )
    same_facts_as = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("同一事实的信访件"),
    )
    accused_unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("被检举控告单位"),
    )
    accused_department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("被检举控告科室"),
    )
    leader_in_charge = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases_in_charge",
        verbose_name=_("包案领导"),
        db_index=False,
    )

    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.REGISTERED)
    lead_unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("主办单位"),
        db_index=False,
    )
    lead_department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("主办科室"),
        db_index=False,
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cases_handled",
        verbose_name=_("经办人"),
        db_index=False,
    )
    dispatch_rule = models.ForeignKey(
        DispatchRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("派单依据"),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_cases",
        verbose_name=_("并入"),
    )

    outcome = models.CharField(_("办理结果"), max_length=16, choices=Outcome.choices, blank=True)
    reply = models.TextField(_("答复意见"), blank=True)
    rating = models.CharField(_("评价"), max_length=16, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("重办次数"), default=0)
    escalated = models.BooleanField(_("已升级"), default=False)

    # Clock: the current deadline, when it turns yellow, and the rule that produced it (shown to people).
    due_at = models.DateTimeField(_("办理时限"), null=True, blank=True)
    warn_at = models.DateTimeField(_("黄灯时间"), null=True, blank=True)
    deadline_rule = models.CharField(_("时限依据"), max_length=300, blank=True)
    response_due_at = models.DateTimeField(_("响应时限"), null=True, blank=True)
    extension_days = models.PositiveSmallIntegerField(_("延期天数"), default=0)

    received_at = models.DateTimeField(_("收到时间"), db_index=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    responded_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    reported_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)

    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    submit_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    objects = CaseQuerySet.as_manager()  # type: ignore[misc]  # the scoped manager, with confidentiality
    # The history is read per case (by id, in date order); the other columns' indexes only slowed each save.
    history = HistoricalRecords(
        excluded_fields=["updated_at", "version"],
        no_db_index=[
            *(
                "org_unit",
                "category",
                "same_facts_as",
                "accused_unit",
                "accused_department",
                "leader_in_charge",
            ),
            *("lead_unit", "lead_department", "handler", "dispatch_rule", "merged_into", "created_by"),
            *("org_path", "number", "received_at", "idempotency_key"),
        ],
    )

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-received_at", "-id"]
        # The five (foreign key, …) indexes below also answer their key alone, so those keys have no index of
        # their own (db_index=False): every index is one more write on each save.
        indexes = [
            models.Index(fields=["org_path", "received_at"], name="case_scope_received_idx"),
            models.Index(fields=["status", "org_path"], name="case_status_scope_idx"),
            models.Index(fields=["lead_unit", "status"], name="case_lead_unit_idx"),
            models.Index(fields=["lead_department", "status"], name="case_lead_dept_idx"),
            models.Index(fields=["handler", "status"], name="case_handler_idx"),
            models.Index(fields=["leader_in_charge", "status"], name="case_leader_idx"),
            models.Index(fields=["category", "received_at"], name="case_category_idx"),
            models.Index(fields=["due_at"], name="case_due_idx"),
            models.Index(fields=["dispatched_at"], name="case_dispatched_idx"),
            models.Index(fields=["closed_at"], name="case_closed_idx"),
            models.Index(fields=["rated_at"], name="case_rated_idx"),
            models.Index(fields=["requester_phone", "received_at"], name="case_phone_idx"),
            models.Index(fields=["submit_ip", "received_at"], name="case_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.phone_last4 = (self.requester_phone or "")[-4:]
        super().save(*args, **kwargs)

    @property
    def is_petition(self) -> bool:
        return bool(self.petition_type)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.requester_phone)

    def light(self, now: Any = None) -> str:
        from jiedao.cases.clock import light_of

        return light_of(self, now)


class Assignment(models.Model):
    """Who works on a case: the lead unit, co-handlers (协办) and departments called by a whistle (吹哨)."""

    class Role(models.TextChoices):
        LEAD = "lead", _("主办")
        CO = "co", _("协办")
        WHISTLE = "whistle", _("吹哨报到")

    class State(models.TextChoices):
        ACTIVE = "active", _("办理中")
        PENDING = "pending", _("待报到")
        CONFIRMED = "confirmed", _("已报到")
        ENDED = "ended", _("已结束")

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("工单")
    )
    role = models.CharField(_("角色"), max_length=10, choices=Role.choices)
    unit = models.ForeignKey(
        "core.OrgUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("单位"),
    )
    department = models.ForeignKey(
        "core.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("科室"),
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.ACTIVE)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("报到时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("承办")
        verbose_name_plural = _("承办")
        ordering = ["case", "role", "id"]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.department or self.unit}"

    @property
    def target_name(self) -> str:
        return str(self.department or self.unit or "")


class Step(FastInsertModel):
    """One entry of a case's timeline: who did what, when, with a note and files. `public` entries are shown
    on the public tracking page (without names of staff)."""

    case = models.ForeignKey(  # indexed by case_step_idx (case, created_at)
        Case, on_delete=models.CASCADE, related_name="steps", verbose_name=_("工单"), db_index=False
    )
    action = models.CharField(_("操作"), max_length=32)
    from_status = models.CharField(_("原状态"), max_length=16, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=80, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(_("公开"), default=True)
    created_at = models.DateTimeField(_("时间"), db_index=True)

    class Meta:
        verbose_name = _("办理过程")
        verbose_name_plural = _("办理过程")
        ordering = ["case", "created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_step_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"

    @property
    def label(self) -> str:
        from jiedao.cases.workflow import action_label

        return action_label(self.action)


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"cases/{instance.case.received_at:%Y/%m}/{instance.case.number}/{filename}"


class Attachment(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("照片")
        FILE = "file", _("文件")

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("工单")
    )
    step = models.ForeignKey(
        Step, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    file = models.FileField(_("文件"), upload_to=attachment_path, max_length=300)
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"))
    content_type = models.CharField(max_length=100)
    public = models.BooleanField(_("公开"), default=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["case", "id"]

    def __str__(self) -> str:
        return self.name


class Request(models.Model):
    """A request that someone else decides: 退单 (contest an assignment) or 延期 (extension)."""

    class Kind(models.TextChoices):
        CONTEST = "contest", _("退单")
        EXTENSION = "extension", _("延期")

    class Decision(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("同意")
        REFUSED = "refused", _("不同意")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="requests", verbose_name=_("工单"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    reason_code = models.CharField(_("理由类别"), max_length=32, blank=True)
    reason = models.TextField(_("理由"))
    days = models.PositiveSmallIntegerField(_("申请天数"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("申请人"),
    )
    requested_at = models.DateTimeField(_("申请时间"))
    decision = models.CharField(
        _("审核结果"), max_length=10, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        verbose_name = _("申请")
        verbose_name_plural = _("申请")
        ordering = ["case", "-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=models.Q(decision="pending"),
                name="one_pending_request_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.case_id}"


class Clock(DueItemMixin, models.Model):
    """A timed action on a case, run by the shared deadline engine: 催办 before the deadline, escalation when
    it is missed, and the statutory steps of a petition. Cancelled (due_state=cancelled) when the case moves
    on.
    """

    class Kind(models.TextChoices):
        REMIND = "remind", _("到期前催办")
        OVERDUE = "overdue", _("超期升级")
        RESPONSE = "response", _("响应超时")
        PETITION_ACCEPT = "petition_accept", _("信访受理告知期限")
        REVIEW_ANSWER = "review_answer", _("复查复核答复期限")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clocks", verbose_name=_("工单"))
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    deadline = models.DateTimeField(_("对应时限"))

    class Meta:
        verbose_name = _("工单计时")
        verbose_name_plural = _("工单计时")
        ordering = ["due_at"]
        indexes = [
            models.Index(fields=["due_state", "due_at"], name="case_clock_due_idx"),
            models.Index(fields=["case", "due_state"], name="case_clock_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} @ {self.due_at}"

    @property
    def scope_path(self) -> str:
        return self.case.org_path


class NumberCounter(models.Model):
    """Daily sequence for readable case numbers (GC2026112200015); advanced by a conditional update."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("编号计数")
        verbose_name_plural = _("编号计数")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Open311Client(models.Model):
    """A system allowed to POST requests through Open311 with its api_key (stored as a SHA-256 hash)."""

    name = models.CharField(_("名称"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(_("密钥前缀"), max_length=8, editable=False)
    org_unit = models.ForeignKey(
        "core.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("可提交的区域")
    )
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("开放接口客户端")
        verbose_name_plural = _("开放接口客户端")

    def __str__(self) -> str:
        return self.name


class MonthlyFigure(models.Model):
    """The 三率 rollup: one month's counts for the cases placed in one community (or village, or directly at a
    sub-district) and handled by one lead department (or by the community: `department` null). Recomputed from
    the cases by `measures.refresh_month` (the worker keeps the current and last month fresh); the measures
    page reads these rows, so it costs the same at a million cases as at a thousand. Scoped like cases, by the
    community's path."""

    scope_label = "case"

    month = models.DateField(_("月份"))
    org_path = models.CharField(_("社区路径"), max_length=255, db_index=True)
    department = models.ForeignKey(
        "core.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    dispatched = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    unresponded = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    partial = models.PositiveIntegerField(default=0)
    explained = models.PositiveIntegerField(default=0)
    legal = models.PositiveIntegerField(default=0)
    not_ours = models.PositiveIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    good = models.PositiveIntegerField(default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("三率月度汇总")
        verbose_name_plural = _("三率月度汇总")
        ordering = ["month", "org_path"]
        indexes = [models.Index(fields=["month", "org_path"], name="monthly_figure_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.org_path} {self.department_id or '-'}"

    @property
    def scope_path(self) -> str:
        return self.org_path


class MonthlyFigureRun(models.Model):
    """When a month's rollup was last recomputed (a month without cases still has its run)."""

    month = models.DateField(_("月份"), primary_key=True)
    computed_at = models.DateTimeField(_("汇总时间"))
    seconds = models.FloatField(_("用时（秒）"), default=0)

    class Meta:
        verbose_name = _("三率汇总记录")
        verbose_name_plural = _("三率汇总记录")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} @ {self.computed_at}"


class RollupRefresh(DueItemMixin, models.Model):
    """A scheduled recomputation of the 三率 rollup, run by the shared deadline engine (so several workers
    never recompute the same month at once); each run schedules the next one."""

    months = models.PositiveSmallIntegerField(_("月数"), default=2, help_text=_("重算最近几个月（含本月）。"))

    class Meta:
        verbose_name = _("三率汇总任务")
        verbose_name_plural = _("三率汇总任务")
        indexes = [models.Index(fields=["due_state", "due_at"], name="rollup_refresh_due_idx")]

    def __str__(self) -> str:
        return f"{self.months} @ {self.due_at}"
