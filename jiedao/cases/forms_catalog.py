"""Forms of the catalogue pages (categories and their fields, deadline policies, the dispatch table). They
parse input only; the changes go through `catalog_services`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiedao.cases.catalog_services import choices_text, parse_choices
from jiedao.cases.models import Category, CategoryField, DeadlinePolicy, FieldType
from jiedao.core.forms import StyledFormMixin
from jiedao.core.models import Department, OrgUnit


class CategoryForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = [
            "code",
            "name",
            "parent",
            "description",
            "keywords",
            "is_public",
            "is_hazard",
            "is_active",
            "sort_order",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = Category.objects.select_related("parent").order_by("sort_order", "code")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        parent_field = self.fields["parent"]
        assert isinstance(parent_field, forms.ModelChoiceField)
        parent_field.queryset = parents
        parent_field.empty_label = _("（顶级类别）")
        self.fields["sort_order"].required = False

    def clean_sort_order(self) -> int:
        return int(self.cleaned_data.get("sort_order") or 0)

    def validate_unique(self) -> None:
        """The service checks the code and reports it on the field."""


class FieldForm(StyledFormMixin, forms.ModelForm):
    choices_lines = forms.CharField(
        label=_("选项"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("单选/多选字段每行一个选项，写成“代码=名称”，如 fruit=果蔬。"),
    )

    class Meta:
        model = CategoryField
        fields = ["code", "label", "datatype", "required", "help_text", "sort_order"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["choices_lines"] = choices_text(self.instance.choices)
        self.fields["sort_order"].required = False

    def clean_sort_order(self) -> int:
        return int(self.cleaned_data.get("sort_order") or 0)

    def clean_choices_lines(self) -> list[dict[str, str]]:
        return parse_choices(self.cleaned_data.get("choices_lines") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice_type = cleaned.get("datatype") in (FieldType.SINGLE, FieldType.MULTI)
        if choice_type and not cleaned.get("choices_lines") and "choices_lines" not in self.errors:
            self.add_error("choices_lines", _("单选和多选字段须至少有一个选项。"))
        return cleaned

    def validate_unique(self) -> None:
        """The service checks the code within the category."""


class PolicyForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = DeadlinePolicy
        fields = ["category", "priority", "amount", "unit", "response_hours", "remind_before_hours"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        category.queryset = Category.objects.select_related("parent").order_by("sort_order", "code")
        category.empty_label = _("（默认：所有类别）")
        self.fields["priority"].help_text = _("不选则适用于该类别的所有紧急程度。")
        self.fields["amount"].widget.attrs["min"] = 1

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount < 1:
            raise ValidationError(_("时限须大于 0。"))
        return int(amount)

    def validate_unique(self) -> None:
        """The service checks category × priority."""


def _unit_choices(user: Any) -> Any:
    return (
        OrgUnit.objects.visible_to(user)
        .filter(is_active=True)
        .exclude(kind=OrgUnit.Kind.DISTRICT)
        .order_by("path")
    )


def _department_choices(user: Any) -> Any:
    return (
        Department.objects.visible_to(user, "department.view")
        .filter(is_active=True)
        .select_related("org_unit")
        .order_by("org_path", "sort_order")
    )


class RuleChangeForm(StyledFormMixin, forms.Form):
    """A new version of a rule: only the target and the note change."""

    target_unit = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(), required=False, label=_("承办单位"), empty_label=_("（不选）")
    )
    target_department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("承办科室"), empty_label=_("（不选）")
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_querysets(user)

    def set_querysets(self, user: Any) -> None:
        unit = self.fields["target_unit"]
        department = self.fields["target_department"]
        assert isinstance(unit, forms.ModelChoiceField) and isinstance(department, forms.ModelChoiceField)
        unit.queryset = _unit_choices(user)
        department.queryset = _department_choices(user)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("target_unit")) == bool(cleaned.get("target_department")):
            self.add_error(None, _("请在承办单位和承办科室中选择且只选择一个。"))
        return cleaned


class RuleForm(RuleChangeForm):
    """A new row of the dispatch table."""

    category = forms.ModelChoiceField(
        queryset=Category.objects.none(),
        label=_("类别"),
        help_text=_("规则对该类别及其下级类别都适用，具体类别的规则优先。"),
    )
    area = forms.ModelChoiceField(
        queryset=OrgUnit.objects.none(),
        label=_("区域"),
        help_text=_("发生在该单元（含下级）的工单按此规则派遣，范围小的规则优先。"),
    )
    field_order = ["category", "area", "target_unit", "target_department", "note"]

    def set_querysets(self, user: Any) -> None:
        super().set_querysets(user)
        category = self.fields["category"]
        area = self.fields["area"]
        assert isinstance(category, forms.ModelChoiceField) and isinstance(area, forms.ModelChoiceField)
        category.queryset = (
            Category.objects.filter(is_active=True).select_related("parent").order_by("sort_order")
        )
        area.queryset = _unit_choices(user)
