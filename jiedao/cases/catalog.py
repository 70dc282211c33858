"""The default category tree, deadline policies and dispatch table a new office starts from (the demo and the
tests load it; administrators change it afterwards on the catalogue pages or in the admin)."""

from __future__ import annotations

from typing import Any

from jiedao.cases.models import Category, CategoryField, DeadlinePolicy, FieldType, Priority, TimeUnit

# (code, name, parent code, public, hazard, description, keywords)
CATEGORIES: list[tuple[str, str, str | None, bool, bool, str, str]] = [
    ("city", "城市管理", None, True, False, "市容、占道、违建、广告牌等", "城管 市容"),
    ("city-stall", "占道经营", "city", True, False, "流动摊贩、店外经营占用道路", "摊贩 占道"),
    ("city-build", "违法建设", "city", True, False, "私搭乱建、违章加层", "违建 私搭乱建"),
    ("city-ad", "户外广告牌", "city", True, True, "破损、松动、存在坠落风险的广告牌", "广告牌"),
    ("env", "环境卫生", None, True, False, "垃圾、污水、卫生死角", "卫生 垃圾"),
    ("env-garbage", "垃圾清运", "env", True, False, "垃圾堆积未清运", "垃圾"),
    ("env-sewage", "污水外溢", "env", True, False, "下水道堵塞、污水外溢", "污水 下水道"),
    ("infra", "市政设施", None, True, False, "道路、路灯、井盖、积水", "市政"),
    ("infra-light", "路灯损坏", "infra", True, False, "路灯不亮、损坏", "路灯"),
    ("infra-cover", "井盖缺失", "infra", True, True, "井盖缺失、破损", "井盖"),
    ("infra-water", "道路积水", "infra", True, True, "路面积水、下穿通道积水", "积水 内涝"),
    ("property", "物业与住房", None, True, False, "物业服务、老旧小区、供暖", "物业"),
    ("property-service", "物业服务", "property", True, False, "物业不作为、收费纠纷", "物业"),
    ("property-heat", "供暖供气", "property", True, False, "暖气不热、燃气问题", "暖气 供暖"),
    ("dispute", "矛盾纠纷", None, True, False, "邻里、家庭、劳资纠纷调解", "纠纷 调解"),
    ("dispute-neighbour", "邻里纠纷", "dispute", True, False, "噪音、漏水、占用公共空间", "邻里"),
    ("dispute-wage", "劳资纠纷", "dispute", True, False, "拖欠工资", "欠薪"),
    ("safety", "安全隐患", None, True, True, "危房、危树、塌陷、消防通道", "隐患"),
    ("safety-house", "危房", "safety", True, True, "房屋开裂、倾斜", "危房"),
    ("safety-tree", "危树", "safety", True, True, "树木倾斜、枯枝", "危树"),
    ("safety-fire", "消防通道堵塞", "safety", True, True, "楼道堆物、通道占用", "消防"),
    ("petition", "信访事项", None, False, False, "来信来访、网上信访", "信访"),
    ("petition-land", "征收拆迁", "petition", False, False, "征收补偿、安置", "征收 拆迁"),
    ("petition-conduct", "干部作风", "petition", False, False, "工作人员作风、不作为", "作风"),
    ("petition-social", "社会保障", "petition", False, False, "低保、养老、医保", "低保 社保"),
    ("service", "便民服务", None, True, False, "咨询、证明、办事指引", "咨询"),
    ("service-consult", "政策咨询", "service", True, False, "政策、办事流程咨询", "咨询"),
]

FIELDS: list[tuple[str, str, str, str, bool, list[dict[str, str]]]] = [
    (
        "city-stall",
        "goods",
        "经营品类",
        FieldType.SINGLE,
        False,
        [
            {"key": "food", "name": "餐饮小吃"},
            {"key": "fruit", "name": "果蔬"},
            {"key": "other", "name": "其他"},
        ],
    ),
    ("infra-water", "depth_cm", "积水深度（厘米）", FieldType.NUMBER, True, []),
    (
        "infra-water",
        "passable",
        "是否可通行",
        FieldType.SINGLE,
        True,
        [{"key": "yes", "name": "可通行"}, {"key": "no", "name": "不可通行"}],
    ),
    (
        "safety-house",
        "cracks",
        "险情",
        FieldType.MULTI,
        False,
        [
            {"key": "wall", "name": "墙体开裂"},
            {"key": "tilt", "name": "房屋倾斜"},
            {"key": "roof", "name": "屋面漏雨"},
        ],
    ),
    ("dispute-wage", "amount", "拖欠金额（元）", FieldType.NUMBER, False, []),
    ("dispute-wage", "since", "拖欠起始日期", FieldType.DATETIME, False, []),
    ("property-heat", "room", "门牌号", FieldType.STRING, False, []),
]

# (category code or None, priority or "", amount, unit, response hours, remind before hours)
POLICIES: list[tuple[str | None, str, int, str, int, int]] = [
    (None, Priority.NORMAL, 10, TimeUnit.WORKDAYS, 24, 24),
    (None, Priority.URGENT, 3, TimeUnit.DAYS, 12, 12),
    (None, Priority.CRITICAL, 24, TimeUnit.HOURS, 2, 4),
    ("infra-water", "", 12, TimeUnit.HOURS, 1, 3),
    ("infra-cover", "", 24, TimeUnit.HOURS, 2, 4),
    ("safety", "", 3, TimeUnit.DAYS, 4, 12),
    ("service-consult", "", 3, TimeUnit.WORKDAYS, 24, 8),
    ("dispute", "", 15, TimeUnit.DAYS, 24, 48),
]


def ensure_default_catalog() -> dict[str, Category]:
    """Create the default categories, fields and policies where missing (idempotent)."""
    by_code: dict[str, Category] = {c.code: c for c in Category.objects.all()}
    for order, (code, name, parent, public, hazard, description, keywords) in enumerate(CATEGORIES):
        if code in by_code:
            continue
        by_code[code] = Category.objects.create(
            code=code,
            name=name,
            parent=by_code[parent] if parent else None,
            is_public=public,
            is_hazard=hazard,
            description=description,
            keywords=keywords,
            sort_order=order,
        )
    for order, (cat, code, label, datatype, required, choices) in enumerate(FIELDS):
        CategoryField.objects.get_or_create(
            category=by_code[cat],
            code=code,
            defaults={
                "label": label,
                "datatype": datatype,
                "required": required,
                "choices": choices,
                "sort_order": order,
            },
        )
    for cat_code, priority, amount, unit, response, remind in POLICIES:
        defaults: dict[str, Any] = {
            "amount": amount,
            "unit": unit,
            "response_hours": response,
            "remind_before_hours": remind,
        }
        DeadlinePolicy.objects.get_or_create(
            category=by_code[cat_code] if cat_code else None, priority=priority, defaults=defaults
        )
    return by_code
