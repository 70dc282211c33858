from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import defaults

from jiedao.core import services, worklist
from jiedao.core.forms import OrgUnitCreateForm, OrgUnitForm, OrgUnitMoveForm
from jiedao.core.models import ContactCommunity, Department, Membership, OrgUnit, User
from jiedao.core.permissions import can, require, scope_paths
from jiedao.core.services import EDITABLE_FIELDS


def _actor(request: HttpRequest) -> User:
    """The signed-in user acting on this request (views calling this are behind login_required)."""
    assert isinstance(request.user, User)
    return request.user


def visible_unit_or_404(request: HttpRequest, code: str) -> OrgUnit:
    """The unit, if the user may see it; out-of-scope units are answered like missing ones."""
    return get_object_or_404(OrgUnit.objects.visible_to(request.user), code=code)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404: JSON under /api/ (clients parse it), the friendly page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("未找到。")}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("您没有执行该操作的权限。")}, status=403)
    return defaults.permission_denied(request, exception)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    items = worklist.items_for(request.user)
    paths = scope_paths(request.user, "org.view")
    roots = OrgUnit.objects.get_root_nodes() if paths is None else OrgUnit.objects.filter(path__in=paths)
    return render(request, "core/home.html", {"items": items, "scope_roots": list(roots)})


def _build_tree(units: list[OrgUnit]) -> list[dict[str, Any]]:
    """Nest a path-ordered list of units (any subset of the tree) into roots with children."""
    nodes: dict[str, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for unit in units:
        node = {"unit": unit, "children": []}
        nodes[unit.path] = node
        parent_path = unit.path[: -OrgUnit.steplen]
        parent = nodes.get(parent_path)
        (parent["children"] if parent else roots).append(node)

    def order(siblings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        siblings.sort(key=lambda n: (n["unit"].sort_order, n["unit"].code))
        for n in siblings:
            order(n["children"])
        return siblings

    return order(roots)


@login_required
def org_tree(request: HttpRequest) -> HttpResponse:
    units = list(OrgUnit.objects.visible_to(request.user).order_by("path"))
    staff_counts = dict(
        Membership.objects.visible_to(request.user, "membership.view")
        .filter(is_active=True)
        .values_list("org_unit")
        .annotate(n=Count("id"))
    )
    for unit in units:
        unit.staff_count = staff_counts.get(unit.pk, 0)
    q = request.GET.get("q", "").strip()
    matches: set[str] = set()
    if q:
        matches = {u.path for u in units if q in u.name or q in u.short_name or u.code.startswith(q)}
    return render(
        request,
        "core/org_tree.html",
        {
            "tree": _build_tree(units),
            "unit_count": len(units),
            "q": q,
            "matches": matches,
            "open_paths": {a for m in matches for a in OrgUnit.path_lineage(m, include_self=False)},
            "can_create": can(request.user, "org.create"),
        },
    )


@login_required
def org_unit(request: HttpRequest, code: str) -> HttpResponse:
    unit = visible_unit_or_404(request, code)
    user = request.user
    children = list(
        OrgUnit.objects.visible_to(user)
        .filter(path__startswith=unit.path, depth=unit.depth + 1)
        .order_by("sort_order", "code")
    )
    ancestors = [a for a in OrgUnit.objects.get_ancestors(unit) if can(user, "org.view", a)]
    staff = (
        Membership.objects.visible_to(user, "membership.view")
        .filter(org_unit=unit, is_active=True)
        .select_related("user", "department")
        .order_by("role", "user__username")
    )
    departments = (
        Department.objects.visible_to(user, "department.view")
        .filter(org_unit=unit, is_active=True)
        .annotate(staff_count=Count("memberships", filter=Q(memberships__is_active=True)))
        .order_by("sort_order", "name")
    )
    contacts = (
        ContactCommunity.objects.visible_to(user, "department.view")
        .filter(org_path__startswith=unit.path)
        .select_related("leader", "org_unit")
        .order_by("org_path")
    )
    features = [
        {
            "type": "Feature",
            "geometry": c.boundary,
            "properties": {
                "name": c.display_name,
                "code": c.code,
                "url": f"/org/{c.code}/",
                "level": "child",
            },
        }
        for c in children
        if c.boundary
    ]
    if unit.boundary:
        features.insert(
            0,
            {
                "type": "Feature",
                "geometry": unit.boundary,
                "properties": {"name": unit.display_name, "code": unit.code, "level": "self"},
            },
        )
    return render(
        request,
        "core/org_unit.html",
        {
            "unit": unit,
            "ancestors": ancestors,
            "children": children,
            "staff": staff,
            "departments": departments,
            "contacts": contacts,
            "geojson": {"type": "FeatureCollection", "features": features},
            "child_population": sum(c.population or 0 for c in children),
            "can_change": can(user, "org.change", unit),
            "can_create": can(user, "org.create", unit) and bool(unit.allowed_child_kinds()),
            "can_move": can(user, "org.move", unit) and unit.depth > 1,
            "can_history": can(user, "history.view", unit),
        },
    )


def _submit(
    request: HttpRequest, form: forms.BaseForm, action: Callable[[], OrgUnit], success: str
) -> HttpResponse | None:
    """Run a service for a valid form: a refusal (validation, conflict) lands on the form; success redirects
    to the unit's page with `success` (a message with a %(name)s placeholder)."""
    try:
        unit = action()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    messages.success(request, success % {"name": unit.name})
    return redirect("core:org_unit", code=unit.code)


@login_required
def org_unit_edit(request: HttpRequest, code: str) -> HttpResponse:
    unit = visible_unit_or_404(request, code)
    require(request.user, "org.change", unit)
    form = OrgUnitForm(request.POST or None, instance=OrgUnit.objects.get(pk=unit.pk))
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS}
        version = form.cleaned_data["version"]
        done = _submit(
            request,
            form,
            lambda: services.update_unit(_actor(request), unit, version=version, **data),
            _("已保存“%(name)s”。"),
        )
        if done:
            return done
    return render(request, "core/org_unit_form.html", {"unit": unit, "form": form, "mode": "edit"})


@login_required
def org_unit_add(request: HttpRequest, code: str) -> HttpResponse:
    parent = visible_unit_or_404(request, code)
    require(request.user, "org.create", parent)
    if not parent.allowed_child_kinds():
        messages.error(request, _("网格下不能再设立下级单元。"))
        return redirect("core:org_unit", code=parent.code)
    form = OrgUnitCreateForm(request.POST or None, parent=parent, instance=OrgUnit())
    if request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS}
        kind = form.cleaned_data["kind"]
        done = _submit(
            request,
            form,
            lambda: services.create_unit(_actor(request), parent, kind=kind, **data),
            _("已新建“%(name)s”。"),
        )
        if done:
            return done
    return render(request, "core/org_unit_form.html", {"unit": parent, "form": form, "mode": "add"})


@login_required
def org_unit_move(request: HttpRequest, code: str) -> HttpResponse:
    unit = visible_unit_or_404(request, code)
    require(request.user, "org.move", unit)
    candidates = OrgUnit.objects.visible_to(request.user, "org.move")
    form = OrgUnitMoveForm(request.POST or None, unit=unit, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        new_parent = form.cleaned_data["new_parent"]
        done = _submit(
            request,
            form,
            lambda: services.move_unit(_actor(request), unit, new_parent),
            _("已将“%(name)s”移到新的上级单元下。"),
        )
        if done:
            return done
    return render(request, "core/org_unit_move.html", {"unit": unit, "form": form})
