"""Open311 GeoReport v2: discovery, the service list and definitions, service requests (read, and create
with an api_key), tokens. JSON or XML by the extension. Only public categories and non-confidential cases are
ever listed; requesters' names and phones never go out."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from jiedao.audit.services import client_ip
from jiedao.cases import services
from jiedao.cases.models import OPEN_STATUSES, Case, Category, CategoryField, Channel, Open311Client
from jiedao.cases.open311 import render
from jiedao.cases.open311.geo import unit_at
from jiedao.cases.public import public_categories, publicly_listed
from jiedao.cases.public_forms import category_fields as fields_of
from jiedao.core.privacy import normalise_phone, valid_phone

MAX_REQUESTS = 1000
DEFAULT_DAYS = 90


def _categories() -> QuerySet[Category]:
    has_fields = CategoryField.objects.filter(Q(category=OuterRef("pk")) | Q(category=OuterRef("parent_id")))
    return public_categories().annotate(has_fields=Exists(has_fields))


@require_GET
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    changeset = Category.history.order_by("-history_date").values_list("history_date", flat=True).first()
    stamp = render.iso(changeset) or render.iso(timezone.now())
    base = request.build_absolute_uri(reverse("open311:discovery", kwargs={"fmt": fmt})).rsplit("/", 1)[0]
    data = {
        "changeset": stamp,
        "contact": _("街道办事处 接诉即办"),
        "key_service": _("请联系街道办事处申请开放接口密钥（api_key）。"),
        "endpoints": [
            {
                "specification": render.SPEC_URL,
                "url": base,
                "changeset": stamp,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.respond(fmt, "discovery", data)


@require_GET
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    data = [render.service(c, bool(getattr(c, "has_fields", False))) for c in _categories()]
    return render.respond(fmt, "services", data)


@require_GET
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    category = public_categories().filter(code=code).first()
    if category is None:
        return render.error_response(fmt, 404, _("没有这个服务类别：%(code)s") % {"code": code})
    return render.respond(fmt, "service_definition", render.service_definition(category, fields_of(category)))


def _cases() -> QuerySet[Case]:
    return publicly_listed().select_related("category", "lead_unit", "lead_department", "merged_into")


def _parse_when(text: str) -> datetime | None:
    text = text.strip()
    try:
        value = parse_datetime(text)
        if value is None:
            day = parse_date(text)
            value = datetime(day.year, day.month, day.day) if day else None
    except ValueError:
        return None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _request_list(request: HttpRequest, fmt: str) -> HttpResponse:
    qs = _cases()
    params = request.GET
    ids = [i.strip() for i in params.get("service_request_id", "").split(",") if i.strip()]
    if ids:  # the other parameters are ignored (spec)
        qs = qs.filter(number__in=ids[:MAX_REQUESTS])
    else:
        codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
        if codes:
            qs = qs.filter(category__code__in=codes)
        start = end = None
        for name in ("start_date", "end_date"):
            if params.get(name):
                value = _parse_when(params[name])
                if value is None:
                    return render.error_response(
                        fmt,
                        400,
                        _("%(name)s 不是有效的日期时间（如 2026-11-01T00:00:00+08:00）。") % {"name": name},
                    )
                if name == "start_date":
                    start = value
                else:
                    end = value
        if start is None and end is None:
            start = timezone.now() - timedelta(days=DEFAULT_DAYS)
        if start is not None:
            qs = qs.filter(received_at__gte=start)
        if end is not None:
            qs = qs.filter(received_at__lte=end)
        statuses = {s.strip() for s in params.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            return render.error_response(fmt, 400, _("status 只能是 open 或 closed。"))
        if statuses == {"open"}:
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif statuses == {"closed"}:
            qs = qs.exclude(status__in=OPEN_STATUSES)
    data = [render.service_request(c) for c in qs.order_by("-received_at", "-id")[:MAX_REQUESTS]]
    return render.respond(fmt, "service_requests", data)


def _client(request: HttpRequest) -> Open311Client:
    key = request.POST.get("api_key", "")
    if not key:
        raise PermissionDenied(_("缺少 api_key。"))
    client = (
        Open311Client.objects.select_related("org_unit")
        .filter(key_hash=hashlib.sha256(key.encode()).hexdigest(), is_active=True)
        .first()
    )
    if client is None:
        raise PermissionDenied(_("api_key 无效或已停用。"))
    return client


def _attributes(request: HttpRequest) -> dict[str, Any]:
    """attribute[code]=value; a multivaluelist as attribute[code][]=a&attribute[code][]=b."""
    values: dict[str, Any] = {}
    for name in request.POST:
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute[") : name.index("]")]
            items = request.POST.getlist(name)
            values[code] = items if name.endswith("[]") or len(items) > 1 else items[0]
    return values


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None  # not NaN or infinite


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    try:
        client = _client(request)
    except PermissionDenied as exc:
        return render.error_response(fmt, 403, str(exc))
    post = request.POST
    code = post.get("service_code", "").strip()
    if not code:
        return render.error_response(fmt, 400, _("缺少 service_code。"))
    category = public_categories().filter(code=code).first()
    if category is None:
        return render.error_response(fmt, 400, _("没有这个服务类别：%(code)s") % {"code": code})
    lat, lon = _float(post.get("lat", "")), _float(post.get("long", ""))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return render.error_response(fmt, 400, _("请提供有效的 lat 和 long（WGS84 经纬度）。"))
    unit = unit_at(lon, lat, client.org_unit)
    if unit is None:
        return render.error_response(fmt, 400, _("该位置不在本接口可受理的区域内。"))
    phone = normalise_phone(post.get("phone", ""))
    if phone and not valid_phone(phone):
        return render.error_response(fmt, 400, _("phone 不是有效的手机号或固定电话。"))
    name = " ".join(p for p in (post.get("last_name", "").strip(), post.get("first_name", "").strip()) if p)
    description = post.get("description", "").strip()
    media_url = post.get("media_url", "").strip()
    if media_url.startswith(("http://", "https://")):
        description = f"{description}\n{_('附图：')}{media_url[:500]}"
    try:
        case = services.create_case(
            services.PUBLIC,
            channel=Channel.API,
            category=category,
            org_unit=unit,
            description=description,
            extra=_attributes(request),
            address=post.get("address_string", "").strip(),
            longitude=lon,
            latitude=lat,
            requester_name=name,
            requester_phone=phone,
            anonymous=not phone,
            submit_ip=client_ip(request),
        )
    except ValidationError as exc:
        return render.error_response(fmt, 400, " ".join(exc.messages))
    notice = _("已收到，编号 %(number)s，将由 %(unit)s 受理。") % {"number": case.number, "unit": unit.name}
    data = [{"service_request_id": case.number, "service_notice": notice, "account_id": None}]
    return render.respond(fmt, "service_requests", data)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    """GET: the request list (filters per spec). POST: create one (form-encoded, with api_key); an API for
    machines, so no CSRF token, but the key, the category, the place and every field are checked."""
    if request.method == "POST":
        return _create(request, fmt)
    return _request_list(request, fmt)


@require_GET
def request_detail(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    case = _cases().filter(number=number).first()
    if case is None:
        return render.error_response(
            fmt, 404, _("没有找到编号为 %(number)s 的服务请求。") % {"number": number}
        )
    return render.respond(fmt, "service_requests", [render.service_request(case)])


@require_GET
def token(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """We give the request id at once; the token is that id, so a client holding it can look it up here."""
    case = publicly_listed().filter(number=token).only("number").first()
    if case is None:
        return render.error_response(fmt, 404, _("没有找到这个 token。"))
    return render.respond(fmt, "service_requests", [{"service_request_id": case.number, "token": token}])
