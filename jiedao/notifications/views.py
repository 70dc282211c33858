"""The inbox: list, open (mark read and follow the link), mark read, mark all read, and the header badge."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from jiedao.core.models import User
from jiedao.notifications import services
from jiedao.notifications.models import Notification

PAGE_SIZE = 20
FILTERS = ("all", "unread")

View = Callable[..., HttpResponseBase]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def login_required(view: View) -> View:
    """Like Django's, but an htmx request (the badge poll after the session ended) sends the whole page to
    the login screen instead of swapping the login page into a fragment."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        htmx: HtmxDetails | None = getattr(request, "htmx", None)
        if htmx:
            current = htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(redirect_to_login(current, settings.LOGIN_URL).url)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)

    return wrapper


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # guaranteed by login_required
    return user


def _filter(value: str | None) -> str:
    return value if value in FILTERS else "all"


def _page(request: HttpRequest, user: User, show: str, number: str | None) -> Page:
    notifications = Notification.objects.for_recipient(user).select_related("actor")
    if show == "unread":
        notifications = notifications.unread()
    return Paginator(notifications, PAGE_SIZE).get_page(number)


def _inbox_url(show: str) -> str:
    url = reverse("notifications:inbox")
    return f"{url}?filter=unread" if show == "unread" else url


def _badge_html(count: int, *, oob: bool = False) -> str:
    return render_to_string("notifications/_badge.html", {"count": count, "oob": oob})


@never_cache
@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    show = _filter(request.GET.get("filter"))
    context = {
        "page": _page(request, user, show, request.GET.get("page")),
        "show": show,
        "unread": services.unread_count(user),
    }
    return render(request, "notifications/inbox.html", context)


@require_GET
@login_required
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark the notification read and go to its link; links that are not paths on this site are not
    followed (the inbox is shown instead)."""
    user = _user(request)
    notification = get_object_or_404(Notification.objects.for_recipient(user), pk=pk)
    services.mark_read(user, notification)
    if notification.url and services.is_local_path(notification.url):
        return redirect(notification.url)
    return redirect("notifications:inbox")


@require_POST
@login_required
def mark_read(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    notification = get_object_or_404(Notification.objects.for_recipient(user), pk=pk)
    services.mark_read(user, notification)
    if request.htmx:
        item = render_to_string("notifications/_item.html", {"n": notification}, request=request)
        return HttpResponse(item + _badge_html(services.unread_count(user), oob=True))
    return redirect(_inbox_url(_filter(request.POST.get("filter"))))


@require_POST
@login_required
def mark_all_read(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    count = services.mark_all_read(user)
    show = _filter(request.POST.get("filter"))
    if request.htmx:
        page = _page(request, user, show, request.POST.get("page"))
        html = render_to_string("notifications/_list.html", {"page": page, "show": show}, request=request)
        return HttpResponse(html + _badge_html(services.unread_count(user), oob=True))
    if count:
        text = ngettext("已将 %(count)d 条通知标为已读。", "已将 %(count)d 条通知标为已读。", count)
        messages.success(request, text % {"count": count})
    return redirect(_inbox_url(show))


@never_cache
@require_GET
@login_required
def badge(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_badge_html(services.unread_count(_user(request))))
