"""The patrol module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds

register_kinds(
    {
        "patrol.point_create": _("新建隐患点"),
        "patrol.point_change": _("修改隐患点"),
        "patrol.point_import": _("导入隐患点"),
        "patrol.point_export": _("导出隐患点"),
        "patrol.declare": _("发布应急事件"),
        "patrol.check": _("应急排查点位"),
        "patrol.record": _("记录应急处置"),
        "patrol.close": _("结束应急事件"),
        "patrol.plan": _("巡查计划变更"),
        "patrol.patrol": _("记录巡查"),
        "patrol.overdue": _("巡查超期"),
    }
)
