"""The supervision module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds
from jiedao.supervision import workflow

register_kinds(
    {
        "supervision.open": _("督办立项"),
        "supervision.edit": _("修改督办事项"),
        "supervision.auto_remind": _("督办自动催办"),
        "supervision.overdue": _("督办事项超期提醒"),
        "supervision.export": _("导出督办事项"),
        "supervision.bulletin_export": _("导出督办通报"),
        "supervision.bulletin_publish": _("发布督办通报"),
        **{f"supervision.{name}": s.label for name, s in workflow.STEPS.items()},
    }
)
