"""Forms of the expropriation pages: they parse and check input; the services decide and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from jiedao.cases.forms import MultipleFileField
from jiedao.cases.uploads import MAX_FILES, check_uploads
from jiedao.core.models import Membership, OrgUnit, User
from jiedao.relocation.models import (
    STAGE_ORDER,
    Attitude,
    DocumentKind,
    ExpropriationHousehold,
    ExpropriationProject,
    Stage,
    Team,
    stage_index,
)
from jiedao.relocation.services import today


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj}（{obj.username}）"


class UsersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj}（{obj.username}）"


def staff_in_scope(actor: User) -> QuerySet[User]:
    """Active staff the actor may see (people attached to units in the actor's scope)."""
    memberships = Membership.objects.visible_to(actor, "membership.view").filter(is_active=True)
    return User.objects.filter(is_active=True, memberships__in=memberships).distinct().order_by("username")


def project_people(project: ExpropriationProject) -> QuerySet[User]:
    return (
        User.objects.filter(
            Q(pk=project.leader_id)
            | Q(led_expropriation_teams__project=project)
            | Q(expropriation_teams__project=project)
        )
        .filter(is_active=True)
        .distinct()
        .order_by("username")
    )


class ProjectForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = ExpropriationProject
        fields = [
            "name",
            "org_unit",
            "leader",
            "start_date",
            "target_date",
            "target_signed",
            "target_vacated",
            "description",
        ]
        widgets = {
            "start_date": DateInput(),
            "target_date": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = OrgUnit.objects.visible_to(actor, "relocation.manage").filter(
            is_active=True, kind__in=["subdistrict", "community", "village"]
        )
        self.fields["org_unit"] = forms.ModelChoiceField(
            queryset=units.order_by("path"), label=_("所在单元"), disabled=self.instance.pk is not None
        )
        self.fields["leader"] = UserChoiceField(queryset=staff_in_scope(actor), label=_("分包领导"))
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            self.fields["start_date"].initial = today()
        _style(self)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("组名"), max_length=60)
    leader = UserChoiceField(queryset=User.objects.none(), label=_("组长"))
    members = UsersChoiceField(
        queryset=User.objects.none(),
        label=_("组员"),
        required=False,
        help_text=_("按住 Ctrl（手机上直接点选）可多选。"),
    )
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=999, initial=0)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = staff_in_scope(actor)
        self.fields["leader"].queryset = people  # type: ignore[attr-defined]
        self.fields["members"].queryset = people  # type: ignore[attr-defined]
        self.fields["members"].widget.attrs["size"] = "10"
        _style(self)


class DocumentKindForm(forms.Form):
    name = forms.CharField(label=_("材料名称"), max_length=60)
    required_stage = forms.ChoiceField(
        label=_("何时必备"),
        choices=[("", _("非必备"))] + [(s.value, s.label) for s in Stage if s != Stage.SURVEY],
        required=False,
        help_text=_("进入该环节前必须已上传。"),
    )
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=999, initial=0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class HouseholdForm(forms.Form):
    number = forms.CharField(label=_("户号"), max_length=30)
    owner_name = forms.CharField(label=_("产权人"), max_length=60)
    phone = forms.CharField(
        label=_("联系电话"),
        max_length=20,
        required=False,
        help_text=_("保存后只显示掩码；修改时留空表示不变。"),
    )
    address = forms.CharField(label=_("房屋坐落"), max_length=200, required=False)
    area = forms.DecimalField(
        label=_("面积（平方米）"), max_digits=10, decimal_places=2, min_value=0, required=False
    )
    valuation = forms.DecimalField(
        label=_("评估金额（元）"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), label=_("工作组"), required=False)
    staff = UserChoiceField(queryset=User.objects.none(), label=_("包户人"), required=False)
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        project: ExpropriationProject,
        household: ExpropriationHousehold | None = None,
        manager: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(project=project)  # type: ignore[attr-defined]
        self.fields["staff"].queryset = project_people(project)  # type: ignore[attr-defined]
        if household is not None:
            self.fields["number"].disabled = True
            if not manager:
                self.fields["team"].disabled = True
                self.fields["staff"].disabled = True
        _style(self)


class AdvanceForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    on = forms.DateField(label=_("日期"), widget=DateInput(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class BackForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    to_stage = forms.ChoiceField(label=_("退回到"), choices=[])
    reason = forms.CharField(label=_("原因"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, stage: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        earlier = STAGE_ORDER[: stage_index(stage)]
        choices = [(s, Stage(s).label) for s in reversed(earlier)]
        self.fields["to_stage"].choices = choices  # type: ignore[attr-defined]
        _style(self)


class VisitForm(forms.Form):
    visited_on = forms.DateField(label=_("走访日期"), widget=DateInput())
    attitude = forms.ChoiceField(label=_("态度"), choices=Attitude.choices, widget=forms.RadioSelect)
    talk = forms.CharField(label=_("谈话内容"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    demands = forms.CharField(
        label=_("诉求"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    next_step = forms.CharField(label=_("下一步"), max_length=1000, required=False)
    remind_on = forms.DateField(
        label=_("下次走访（定时闹钟）"),
        widget=DateInput(),
        required=False,
        help_text=_("填了就在那天早上 8:30 提醒包户人。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visited_on"].initial = today()
        _style(self)


class ReminderForm(forms.Form):
    due_on = forms.DateField(label=_("提醒日期"), widget=DateInput())
    note = forms.CharField(label=_("事由"), max_length=200, required=False)
    assignee = UserChoiceField(
        queryset=User.objects.none(), label=_("提醒谁"), required=False, help_text=_("默认提醒包户人。")
    )

    def __init__(self, *args: Any, project: ExpropriationProject, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = project_people(project)  # type: ignore[attr-defined]
        _style(self)


class UploadForm(forms.Form):
    kind = forms.ModelChoiceField(queryset=DocumentKind.objects.none(), label=_("材料项"))
    upload = MultipleFileField(label=_("文件"))

    def __init__(self, *args: Any, project: ExpropriationProject, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].queryset = DocumentKind.objects.filter(project=project)  # type: ignore[attr-defined]
        self.fields["upload"].help_text = _(
            "PDF、Word、Excel 或图片，可多选，最多 %(n)s 个，每个不超过 20 MB。"
        ) % {"n": MAX_FILES}
        self.uploads: list[Any] = []
        _style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        files = data.get("upload") or []
        if not files:
            self.add_error("upload", _("请选择要上传的文件。"))
            return data
        try:
            self.uploads = check_uploads([], files)
        except forms.ValidationError as exc:
            self.add_error("upload", exc)
        return data


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("被征收户清单"), help_text=_("Excel 工作簿（.xlsx、.xls）或 CSV，可用模板整理。")
    )
    check_only = forms.BooleanField(label=_("只检查，不导入"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.xls,.xlsm,.ods,.csv"
        _style(self)
