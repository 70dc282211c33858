"""The people import's forms: the upload (what, where to, which file) and the column mapping screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiedao.core.forms import StyledFormMixin
from jiedao.core.models import OrgUnit, User
from jiedao.core.sheets import SheetFileError
from jiedao.people import importer
from jiedao.people.models import ImportKind
from jiedao.people.services import unit_choices

SUFFIXES = (".xlsx", ".xls", ".csv")
MAX_BYTES = 50 * 1024 * 1024


class UnitChoiceField(forms.ModelChoiceField):
    """Communities (villages) with their grids indented below them."""

    def label_from_instance(self, obj: Any) -> str:
        return f"　{obj.name}" if obj.kind == OrgUnit.Kind.GRID else str(obj.name)


class UploadForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("导入内容"), choices=ImportKind.choices, initial=ImportKind.RESIDENTS
    )
    unit = UnitChoiceField(
        label=gettext_lazy("导入到"),
        queryset=OrgUnit.objects.none(),
        help_text=gettext_lazy("社区（村）或其中的网格；表中“网格”一列可把各行分到该社区的网格。"),
    )
    file = forms.FileField(
        label=gettext_lazy("文件"),
        help_text=gettext_lazy("Excel 工作簿（.xlsx、.xls）或 CSV 文件，不超过 50 MB。"),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = unit_choices(user, "people_import.create")
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units]).order_by("path")
        if len(units) == 1:
            field.initial = units[0].pk

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = str(upload.name or "")
        if Path(name).suffix.lower() not in SUFFIXES:
            raise forms.ValidationError(
                _("只能导入 Excel 工作簿（.xlsx、.xls）或 CSV 文件，“%(name)s”不是。") % {"name": name}
            )
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                _("文件有 %(mb).1f MB，超过了 50 MB。请分成几个文件导入。")
                % {"mb": upload.size / 1024 / 1024}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("文件是空的。"))
        return upload


class MappingForm(forms.Form):
    """One choice per column of the sheet: which field it fills (or none). Pre-filled from the headers."""

    def __init__(
        self, *args: Any, kind: str, headers: list[str], mapping: dict[int, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = headers
        choices = [("", _("（不导入）"))] + [
            (f.name, f"{f.label} *" if f.required else str(f.label)) for f in importer.fields_for(kind)
        ]
        for col, header in enumerate(headers):
            self.fields[f"col_{col}"] = forms.ChoiceField(
                label=header or _("第 %(n)d 列") % {"n": col + 1},
                choices=choices,
                required=False,
                initial=mapping.get(col, ""),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = {col: cleaned.get(f"col_{col}") or "" for col in range(len(self.headers))}
        try:
            self.cleaned_mapping = importer.check_mapping(self.kind, chosen, len(self.headers))
        except SheetFileError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned

    def columns(self) -> list[tuple[int, forms.BoundField]]:
        return [(col, self[f"col_{col}"]) for col in range(len(self.headers))]

    @property
    def required_labels(self) -> list[str]:
        return [str(f.label) for f in importer.fields_for(self.kind) if f.required]
