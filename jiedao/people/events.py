"""The people module's audit event kinds."""

from django.utils.translation import gettext_lazy as _

from jiedao.audit.kinds import register_kinds

register_kinds(
    {
        "people.create": _("新建人口房屋记录"),
        "people.change": _("修改人口房屋记录"),
        "people.delete": _("删除人口房屋记录"),
        "people.reveal": _("查看完整身份证号/电话"),
        "people.export": _("导出人口房屋台账"),
        "people.import": _("导入人口房屋台账"),
        "people.tag": _("修改居民标签"),
        "people.care": _("关爱对象变更"),
        "people.visit": _("记录走访"),
        "people.care_overdue": _("关爱对象超期未走访"),
        "people.rekey": _("更换个人信息加密密钥"),
    }
)
