"""The catalogue pages under /cases/catalog/: the category tree with extra fields and deadline policies, the
dispatch table (派单目录) with its version history, and the deadline policies. Everyone on the staff reads
them; administrators change them through `catalog_services`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiedao.cases import catalog_services
from jiedao.cases.forms_catalog import CategoryForm, FieldForm, PolicyForm, RuleChangeForm, RuleForm
from jiedao.cases.models import Category, CategoryField, DeadlinePolicy, DispatchRule
from jiedao.core.models import User
from jiedao.core.permissions import can, require


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _submit(request: HttpRequest, form: forms.BaseForm, action: Callable[[], Any], success: str) -> bool:
    """Run a service for a valid form; a refusal lands on the form (field or top), nothing typed is lost."""
    try:
        action()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return False
    messages.success(request, success)
    return True


def _form_page(
    request: HttpRequest, form: forms.BaseForm, title: str, back: str, **extra: Any
) -> HttpResponse:
    return render(request, "cases/catalog_form.html", {"form": form, "title": title, "back": back, **extra})


# ---------------------------------------------------------------------------------------------------------
# Categories


@login_required
def category_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "category.view")
    categories = list(
        Category.objects.select_related("parent")
        .prefetch_related(
            Prefetch("fields", queryset=CategoryField.objects.order_by("sort_order", "code")),
            Prefetch("policies", queryset=DeadlinePolicy.objects.order_by("priority")),
        )
        .order_by("sort_order", "code")
    )
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    tree = [{"category": root, "children": children.get(root.pk, [])} for root in children.get(None, [])]
    return render(
        request,
        "cases/catalog_categories.html",
        {
            "tree": tree,
            "count": len(categories),
            "defaults": DeadlinePolicy.objects.filter(category__isnull=True).order_by("priority"),
            "can_change": can(request.user, "category.change"),
        },
    )


def _category_values(form: forms.BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in CategoryForm.Meta.fields}


@login_required
def category_add(request: HttpRequest) -> HttpResponse:
    require(request.user, "category.change")
    initial = {}
    parent_code = request.GET.get("parent", "")
    if parent_code:
        initial["parent"] = Category.objects.filter(code=parent_code).first()
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = _category_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_category(_actor(request), None, **values),
            _("已新增类别“%(name)s”。") % {"name": values["name"]},
        ):
            return redirect("cases:category_list")
    return _form_page(request, form, _("新增工单类别"), "cases:category_list")


@login_required
def category_edit(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, "category.change")
    category = get_object_or_404(Category, code=code)
    form = CategoryForm(request.POST or None, instance=Category.objects.get(pk=category.pk))
    if request.method == "POST" and form.is_valid():
        values = _category_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_category(_actor(request), category, **values),
            _("已保存类别“%(name)s”。") % {"name": values["name"]},
        ):
            return redirect("cases:category_list")
    return _form_page(request, form, _("编辑类别“%(name)s”") % {"name": category.name}, "cases:category_list")


def _field_values(form: forms.BaseForm) -> dict[str, Any]:
    values = {name: form.cleaned_data[name] for name in FieldForm.Meta.fields}
    values["choices"] = form.cleaned_data["choices_lines"]
    return values


@login_required
def field_add(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, "category.change")
    category = get_object_or_404(Category, code=code)
    form = FieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = _field_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_field(_actor(request), category, None, **values),
            _("已为“%(category)s”新增字段“%(label)s”。")
            % {"category": category.name, "label": values["label"]},
        ):
            return redirect("cases:category_list")
    title = _("为“%(name)s”新增附加字段") % {"name": category.name}
    return _form_page(request, form, title, "cases:category_list")


@login_required
def field_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "category.change")
    field = get_object_or_404(CategoryField.objects.select_related("category"), pk=pk)
    form = FieldForm(request.POST or None, instance=CategoryField.objects.get(pk=field.pk))
    if request.method == "POST" and form.is_valid():
        values = _field_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_field(_actor(request), field.category, field, **values),
            _("已保存字段“%(label)s”。") % {"label": values["label"]},
        ):
            return redirect("cases:category_list")
    title = _("编辑“%(category)s”的字段“%(label)s”") % {"category": field.category.name, "label": field.label}
    return _form_page(request, form, title, "cases:category_list")


# ---------------------------------------------------------------------------------------------------------
# Deadline policies


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "category.view")
    policies = DeadlinePolicy.objects.select_related("category", "category__parent").order_by(
        "category__sort_order", "category__code", "priority"
    )
    return render(
        request,
        "cases/catalog_policies.html",
        {"policies": policies, "can_change": can(request.user, "category.change")},
    )


def _policy_values(form: forms.BaseForm) -> dict[str, Any]:
    return {name: form.cleaned_data[name] for name in PolicyForm.Meta.fields}


@login_required
def policy_add(request: HttpRequest) -> HttpResponse:
    require(request.user, "category.change")
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = _policy_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_policy(_actor(request), None, **values),
            _("已新增办理时限。"),
        ):
            return redirect("cases:policy_list")
    return _form_page(request, form, _("新增办理时限"), "cases:policy_list")


@login_required
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, "category.change")
    policy = get_object_or_404(DeadlinePolicy, pk=pk)
    form = PolicyForm(request.POST or None, instance=DeadlinePolicy.objects.get(pk=policy.pk))
    if request.method == "POST" and form.is_valid():
        values = _policy_values(form)
        if _submit(
            request,
            form,
            lambda: catalog_services.save_policy(_actor(request), policy, **values),
            _("已保存办理时限。"),
        ):
            return redirect("cases:policy_list")
    return _form_page(request, form, _("编辑办理时限"), "cases:policy_list")


# ---------------------------------------------------------------------------------------------------------
# The dispatch table


@login_required
def dispatch_table(request: HttpRequest) -> HttpResponse:
    require(request.user, "dispatch.view")
    rows = DispatchRule.objects.visible_to(request.user).select_related(
        "category", "category__parent", "org_unit", "target_unit", "target_department", "created_by"
    )
    category_code = request.GET.get("category", "").strip()
    category = Category.objects.filter(code=category_code).first() if category_code else None
    if category is not None:
        rows = rows.filter(category=category)
    current = rows.filter(valid_to__isnull=True).order_by("category__sort_order", "org_path")
    history = rows.filter(valid_to__isnull=False).order_by("-valid_to", "-id")[:200]
    return render(
        request,
        "cases/catalog_dispatch.html",
        {
            "current": current,
            "history": history,
            "category": category,
            "categories": Category.objects.filter(is_active=True).order_by("sort_order"),
            "can_change": can(request.user, "dispatch.change"),
        },
    )


@login_required
def rule_add(request: HttpRequest) -> HttpResponse:
    require(request.user, "dispatch.change")
    form = RuleForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _submit(
            request,
            form,
            lambda: catalog_services.add_rule(
                _actor(request),
                category=data["category"],
                area=data["area"],
                target_unit=data["target_unit"],
                target_department=data["target_department"],
                note=data["note"],
            ),
            _("已新增派单规则。"),
        ):
            return redirect("cases:dispatch_table")
    return _form_page(request, form, _("新增派单规则"), "cases:dispatch_table")


def _changeable_rule(request: HttpRequest, pk: int) -> DispatchRule:
    """A current rule the user may change; others answer 404 (their existence is not revealed)."""
    return get_object_or_404(
        DispatchRule.objects.visible_to(request.user, "change")
        .filter(valid_to__isnull=True)
        .select_related("category", "org_unit", "target_unit", "target_department"),
        pk=pk,
    )


@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _changeable_rule(request, pk)
    initial = {
        "target_unit": rule.target_unit,
        "target_department": rule.target_department,
        "note": rule.note,
    }
    form = RuleChangeForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _submit(
            request,
            form,
            lambda: catalog_services.change_rule(
                _actor(request),
                rule,
                target_unit=data["target_unit"],
                target_department=data["target_department"],
                note=data["note"],
            ),
            _("已修改派单规则（第 %(v)s 版起生效）。") % {"v": rule.version + 1},
        ):
            return redirect("cases:dispatch_table")
    title = _("修改派单规则：%(cat)s · %(area)s") % {"cat": rule.category.name, "area": rule.org_unit.name}
    return _form_page(request, form, title, "cases:dispatch_table", rule=rule)


@login_required
@require_POST
def rule_retire(request: HttpRequest, pk: int) -> HttpResponse:
    rule = _changeable_rule(request, pk)
    try:
        catalog_services.retire_rule(_actor(request), rule)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("已停用派单规则：%(cat)s · %(area)s") % {"cat": rule.category.name, "area": rule.org_unit.name},
        )
    return redirect("cases:dispatch_table")


urlpatterns = [
    path("catalog/categories/", category_list, name="category_list"),
    path("catalog/categories/add/", category_add, name="category_add"),
    path("catalog/categories/<slug:code>/edit/", category_edit, name="category_edit"),
    path("catalog/categories/<slug:code>/fields/add/", field_add, name="field_add"),
    path("catalog/fields/<int:pk>/edit/", field_edit, name="field_edit"),
    path("catalog/deadlines/", policy_list, name="policy_list"),
    path("catalog/deadlines/add/", policy_add, name="policy_add"),
    path("catalog/deadlines/<int:pk>/edit/", policy_edit, name="policy_edit"),
    path("catalog/dispatch/", dispatch_table, name="dispatch_table"),
    path("catalog/dispatch/add/", rule_add, name="rule_add"),
    path("catalog/dispatch/<int:pk>/edit/", rule_edit, name="rule_edit"),
    path("catalog/dispatch/<int:pk>/retire/", rule_retire, name="rule_retire"),
]
