from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.utils.translation import gettext_lazy as _

from jiedao.core.models import OrgUnit
from jiedao.core.services import EDITABLE_FIELDS


def _validate_polygon(value: Any) -> None:
    """A GeoJSON Polygon or MultiPolygon with closed rings of [lon, lat] in WGS84 range."""
    if value in (None, ""):
        return
    if not isinstance(value, dict) or value.get("type") not in {"Polygon", "MultiPolygon"}:
        raise forms.ValidationError(_("边界必须是 GeoJSON 的 Polygon 或 MultiPolygon。"))
    polygons = [value.get("coordinates")] if value["type"] == "Polygon" else value.get("coordinates")
    if not isinstance(polygons, list) or not polygons:
        raise forms.ValidationError(_("边界缺少坐标。"))
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise forms.ValidationError(_("边界缺少坐标。"))
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise forms.ValidationError(_("每个边界环至少需要 4 个点（首尾相同）。"))
            for point in ring:
                if (
                    not isinstance(point, list)
                    or len(point) < 2
                    or not all(isinstance(c, int | float) for c in point[:2])
                    or not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90)
                ):
                    raise forms.ValidationError(
                        _("坐标须为 [经度, 纬度]（WGS84），经度 -180～180，纬度 -90～90。")
                    )
            if ring[0] != ring[-1]:
                raise forms.ValidationError(_("边界环未闭合：首点与末点必须相同。"))


class GeoJSONField(forms.JSONField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "class": "form-control font-monospace"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                raise forms.ValidationError(_("边界不是有效的 JSON。")) from None
            if isinstance(parsed, dict) and parsed.get("type") == "Feature":
                parsed = parsed.get("geometry")
            return parsed
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        _validate_polygon(value)


class StyledFormMixin(forms.BaseForm):
    """Give every widget Tabler's classes so templates stay plain."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid"


class OrgUnitForm(StyledFormMixin, forms.ModelForm):
    boundary = GeoJSONField(
        label=_("边界 (GeoJSON)"),
        required=False,
        help_text=_("Polygon 或 MultiPolygon，坐标为 WGS84 [经度, 纬度]。"),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = OrgUnit
        fields = list(EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(_("统计代码只能由数字组成。"))
        clash = OrgUnit.objects.filter(code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("统计代码 %(code)s 已被其他单元使用。") % {"code": code})
        return code


class OrgUnitCreateForm(OrgUnitForm):
    kind = forms.ChoiceField(label=_("层级"), choices=())

    class Meta(OrgUnitForm.Meta):
        fields = ["kind", *OrgUnitForm.Meta.fields]

    def __init__(self, *args: Any, parent: OrgUnit, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].required = False
        kinds = parent.allowed_child_kinds()
        kind_field = self.fields["kind"]
        assert isinstance(kind_field, forms.ChoiceField)
        kind_field.choices = [(k, OrgUnit.Kind(k).label) for k in kinds]
        self.fields["kind"].widget.attrs["class"] = "form-select"


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name}（{obj.get_kind_display()} {obj.code}）"


class OrgUnitMoveForm(StyledFormMixin, forms.Form):
    new_parent = UnitChoiceField(label=_("新的上级单元"), queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, unit: OrgUnit, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed_parent_kinds = [
            k for k, children in OrgUnit.ALLOWED_CHILDREN.items() if unit.kind in children
        ]
        field = self.fields["new_parent"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = candidates.filter(kind__in=allowed_parent_kinds).exclude(path__startswith=unit.path)


class StyledPasswordChangeForm(StyledFormMixin, PasswordChangeForm):
    pass
