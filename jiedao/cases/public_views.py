"""The residents' portal: no account. Submit a request (rate-limited per phone and per address, one case per
idempotency key), see its number once, track it by number and the last four digits of the phone, rate it.

Nothing personal is shown here: no requester names or phones, no staff names, no internal notes — only
statuses, public step labels with dates, deadlines and, after closure, the reply."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiedao.audit.services import client_ip, record_event
from jiedao.cases import services
from jiedao.cases.models import DONE_STATUSES, Case, Channel, Rating, Status
from jiedao.cases.public import check_submission
from jiedao.cases.public_forms import RateForm, SubmitForm, TrackForm
from jiedao.cases.uploads import check_uploads

SUBMITTED_KEY = "s"
PROVEN_KEY = "p"
SESSION_MAX = 20
TRACK_LIMIT = 20
TRACK_WINDOW_SECONDS = 600
#: The numbers this browser submitted ("s") or proved with the phone's last four digits ("p") live in one
#: signed, HttpOnly cookie rather than in the session: the portal then writes no session row (a database
#: write and commit per submission) and reads none on the next page.
COOKIE = "portal_cases"
COOKIE_SALT = "jiedao.cases.portal"


def _numbers(request: HttpRequest) -> dict[str, list[str]]:
    cached = getattr(request, "_portal_numbers", None)
    if cached is not None:
        return cast(dict[str, list[str]], cached)
    numbers: dict[str, list[str]] = {}
    raw = request.COOKIES.get(COOKIE)
    if raw:
        try:
            loaded = signing.loads(raw, salt=COOKIE_SALT, max_age=settings.SESSION_COOKIE_AGE)
        except signing.BadSignature:
            loaded = None
        if isinstance(loaded, dict):
            numbers = {
                k: [str(n) for n in v][-SESSION_MAX:] for k, v in loaded.items() if isinstance(v, list)
            }
    request._portal_numbers = numbers  # type: ignore[attr-defined]
    return numbers


def _remember(request: HttpRequest, response: HttpResponse, number: str, *keys: str) -> None:
    numbers = _numbers(request)
    for key in keys:
        numbers[key] = [*(n for n in numbers.get(key, []) if n != number), number][-SESSION_MAX:]
    response.set_cookie(
        COOKIE,
        signing.dumps(numbers, salt=COOKIE_SALT, compress=True),
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _known(request: HttpRequest, key: str, number: str) -> bool:
    return number in _numbers(request).get(key, [])


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/portal/home.html")


@require_GET
def category_fields(request: HttpRequest) -> HttpResponse:
    """The extra fields of the chosen category (htmx swaps them into the form)."""
    form = SubmitForm(initial={"category": request.GET.get("category", "")})
    return render(request, "cases/portal/_extra_fields.html", {"form": form})


@require_GET
def places(request: HttpRequest) -> HttpResponse:
    """The next level of the place picker (htmx swaps it into the form): `?subdistrict=` answers the
    communities/villages of that sub-district (and an empty grid list), `?community=` the grids of that
    community/village. Only public, active units right under the chosen one."""
    if "community" in request.GET:
        form = SubmitForm(initial={"community": request.GET.get("community", "")})
        form.offer_places(community=False)
        return render(request, "cases/portal/_place_grid.html", {"form": form})
    form = SubmitForm(initial={"subdistrict": request.GET.get("subdistrict", "")})
    form.offer_places()
    return render(request, "cases/portal/_place_lower.html", {"form": form})


@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    photo_errors: list[str] = []
    status = 200
    if request.method == "POST":
        form = SubmitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            ip = client_ip(request)
            phone = "" if data["anonymous"] else data["phone"]
            check = check_submission(hashlib.sha256(data["key"].encode()).hexdigest(), phone, ip)
            already = (
                Case.objects.filter(pk=check.made_id).only("number", "anonymous", "phone_last4").first()
                if check.made_id is not None
                else None
            )
            if already is not None:  # a double tap: the first submit made the case
                return _submitted(request, already)
            limit = check.over_limit
            if data["website"]:
                form.add_error(None, _("提交未成功，请稍后再试。"))
                status = 400
            elif limit == "phone":
                form.add_error(
                    None, _("这个电话号码在一小时内提交的诉求已达上限，请稍后再提交，或拨打热线反映。")
                )
                status = 429
            elif limit == "ip":
                form.add_error(
                    None, _("您所在网络一小时内提交的诉求已达上限，请稍后再提交，或拨打热线反映。")
                )
                status = 429
            else:
                try:
                    uploads = check_uploads(request.FILES.getlist("photos"))
                except ValidationError as exc:
                    photo_errors = exc.messages
                    status = 400
                else:
                    category = form.chosen_category
                    assert category is not None  # a valid form has one
                    try:
                        case = services.create_case(
                            services.PUBLIC,
                            channel=Channel.ONLINE,
                            category=category,
                            org_unit=data["place"],
                            description=data["description"],
                            extra=form.extra_values(),
                            address=data["address"],
                            longitude=data["longitude"],
                            latitude=data["latitude"],
                            requester_name="" if data["anonymous"] else data["name"],
                            requester_phone=phone,
                            anonymous=data["anonymous"],
                            uploads=uploads,
                            idempotency_key=data["key"],
                            submit_ip=ip,
                            leaf_fields=form.catalog.fields.get(category.code, []),
                        )
                    except ValidationError as exc:
                        form.add_error(None, exc)
                        status = 400
                    else:
                        return _submitted(request, case)
        else:
            status = 400
        if request.FILES.getlist("photos") and not photo_errors and form.errors:
            photo_errors = [_("为安全起见，已选择的照片需要重新选择。")]
    else:
        form = SubmitForm(
            initial={name: request.GET.get(name, "") for name in ("category", "subdistrict", "community")}
        )
    form.offer_places()
    return render(
        request, "cases/portal/submit.html", {"form": form, "photo_errors": photo_errors}, status=status
    )


def _submitted(request: HttpRequest, case: Case) -> HttpResponse:
    response = redirect("portal:submitted", number=case.number)
    proven = not case.anonymous and bool(case.phone_last4)
    _remember(request, response, case.number, SUBMITTED_KEY, *([PROVEN_KEY] if proven else []))
    return response


@require_GET
def submitted(request: HttpRequest, number: str) -> HttpResponse:
    """The case number, shown only to the browser session that submitted it."""
    if not _known(request, SUBMITTED_KEY, number):
        raise Http404
    case = Case.objects.filter(number=number).only("number", "anonymous").first()
    if case is None:
        raise Http404
    return render(
        request, "cases/portal/submitted.html", {"number": case.number, "anonymous": case.anonymous}
    )


def _track_allowed(request: HttpRequest) -> bool:
    """Count this attempt against the address's allowance (TRACK_LIMIT per TRACK_WINDOW_SECONDS)."""
    key = f"portal:track:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=TRACK_WINDOW_SECONDS)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=TRACK_WINDOW_SECONDS)
        attempts = 1
    return attempts <= TRACK_LIMIT


def _matches(case: Case | None, last4: str) -> bool:
    if case is None or case.anonymous or len(case.phone_last4) != 4:
        return False
    return hmac.compare_digest(case.phone_last4.encode(), last4.encode())


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Number + last four digits; a wrong number and wrong digits get the same answer."""
    status = 200
    if request.method == "POST":
        form = TrackForm(request.POST)
        if not _track_allowed(request):
            form.is_valid()
            form.add_error(None, _("查询次数过多，请 10 分钟后再试。"))
            status = 429
        elif form.is_valid():
            number, last4 = form.cleaned_data["number"], form.cleaned_data["last4"]
            case = Case.objects.filter(number=number).only("number", "anonymous", "phone_last4").first()
            if _matches(case, last4):
                assert case is not None
                record_event("case.public_view", obj=case, data={"number": case.number}, request=request)
                response = redirect("portal:case", number=case.number)
                _remember(request, response, case.number, PROVEN_KEY)
                return response
            form.add_error(None, _("没有找到与该编号和电话后四位相符的诉求，请核对后再试。"))
            status = 400
        else:
            status = 400
    else:
        form = TrackForm(initial={"number": request.GET.get("number", "")})
    return render(request, "cases/portal/track.html", {"form": form}, status=status)


def _proven_case(request: HttpRequest, number: str) -> Case:
    if not _known(request, PROVEN_KEY, number):
        raise Http404
    case = (
        Case.objects.select_related("category", "merged_into").filter(number=number, anonymous=False).first()
    )
    if case is None:
        raise Http404
    return case


def _case_context(case: Case, rate_form: RateForm | None = None) -> dict[str, Any]:
    closed = case.status in DONE_STATUSES
    context: dict[str, Any] = {
        "case": case,
        "status_label": case.get_status_display(),
        "confidential": case.confidential,
        "closed": closed,
        "can_rate": case.status == Status.CLOSED,
        "reopened": case.is_open and case.rating == Rating.UNSATISFIED and case.reopen_count > 0,
        "merged_into": case.merged_into if case.status == Status.MERGED else None,
        "rate_form": rate_form or RateForm(initial={"version": case.version}),
    }
    if not case.confidential:
        context["steps"] = list(
            case.steps.filter(public=True).order_by("created_at", "id").only("action", "created_at")
        )
        context["outcome_label"] = case.get_outcome_display() if closed else ""
        context["reply"] = case.reply if closed or case.status == Status.NOT_ACCEPTED else ""
    return context


@require_GET
def case_status(request: HttpRequest, number: str) -> HttpResponse:
    """The tracked case, for a session that proved the number and the phone's last four digits."""
    try:
        case = _proven_case(request, number)
    except Http404:
        return redirect(f"{reverse('portal:track')}?{urlencode({'number': number})}")
    return render(request, "cases/portal/case.html", _case_context(case))


@require_POST
def rate(request: HttpRequest, number: str) -> HttpResponse:
    case = _proven_case(request, number)
    if case.status != Status.CLOSED:
        messages.error(request, _("该诉求当前不能评价。"))
        return redirect("portal:case", number=case.number)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            case = services.rate(
                services.PUBLIC,
                case,
                version=form.cleaned_data["version"],
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
        except services.ConflictError:
            messages.error(request, _("该诉求的状态刚刚有了变化，请查看最新情况后再评价。"))
            return redirect("portal:case", number=case.number)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if case.rating == Rating.UNSATISFIED:
                messages.warning(request, _("已收到您的评价。您的诉求已重新交办，将再次办理并答复您。"))
            else:
                messages.success(request, _("感谢您的评价！"))
            return redirect("portal:case", number=case.number)
    return render(request, "cases/portal/case.html", _case_context(case, form), status=400)
