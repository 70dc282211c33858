"""The cases module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds
from jiedao.cases import workflow

register_kinds(
    {
        "case.create": _("登记工单"),
        "case.reopen": _("工单重办"),
        "case.link": _("关联工单"),
        "case.remind": _("工单催办"),
        "case.overdue": _("工单超期升级"),
        "case.response_overdue": _("工单响应超时"),
        "case.petition_accept_overdue": _("信访受理告知逾期"),
        "case.review_overdue": _("复查复核答复逾期"),
        "case.import": _("导入转办工单"),
        "case.export": _("导出工单"),
        "case.catalog": _("修改工单目录"),
        "case.public_view": _("公众查询工单"),
        "case.measures_refresh": _("更新三率统计"),
        "open311.client_create": _("新建开放接口客户端"),
        **{f"case.{name}": t.label for name, t in workflow.TRANSITIONS.items()},
    }
)
