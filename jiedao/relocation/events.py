"""The expropriation module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds

register_kinds(
    {
        "relocation.project": _("新建或修改征收项目"),
        "relocation.team": _("修改征收工作组"),
        "relocation.checklist": _("修改征收材料清单"),
        "relocation.household": _("新建或修改被征收户"),
        "relocation.stage": _("征收环节推进"),
        "relocation.stage_back": _("征收环节回退"),
        "relocation.visit": _("记录征收日志"),
        "relocation.reminder": _("设置定时闹钟"),
        "relocation.reminder_close": _("关闭定时闹钟"),
        "relocation.document": _("上传征收材料"),
        "relocation.document_delete": _("删除征收材料"),
        "relocation.reveal": _("查看被征收户电话"),
        "relocation.import": _("导入被征收户"),
        "relocation.export": _("导出被征收户"),
    }
)
