"""The projects module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds

register_kinds(
    {
        "projects.create": _("新建重点项目"),
        "projects.change": _("修改重点项目"),
        "projects.investment": _("填报项目月度投资"),
        "projects.milestone": _("项目节点变更"),
        "projects.problem": _("项目问题变更"),
        "projects.note": _("填报项目进展"),
        "projects.attachment": _("项目附件变更"),
        "projects.export": _("导出重点项目台账"),
        "meetings.create": _("新建例会"),
        "meetings.change": _("修改例会"),
        "meetings.decision": _("例会议定事项变更"),
    }
)
