"""The inbox pages: own notifications only, marking read, the badge, and no open redirects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from jiedao.notifications.models import Notification
from jiedao.notifications.services import notify
from tests.world import World

ClientFor = Callable[[str], Client]
HTMX = {"HX-Request": "true"}


def _one(world: World, username: str, title: str, url: str = "") -> Notification:
    (notification,) = notify([world[username]], title=title, body=f"{title}的内容", url=url)
    return notification


def _is_read(notification: Notification) -> bool:
    notification.refresh_from_db()
    return notification.read_at is not None


# --- login ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("notifications:inbox", [], "get"),
        ("notifications:badge", [], "get"),
        ("notifications:open", [1], "get"),
        ("notifications:mark_read", [1], "post"),
        ("notifications:mark_all_read", [], "post"),
    ],
)
def test_anonymous_is_sent_to_login(world: World, name: str, args: list[Any], method: str) -> None:
    url = reverse(name, args=args)
    response = getattr(Client(), method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_htmx_badge_poll_redirects_the_whole_page(world: World) -> None:
    headers = {**HTMX, "HX-Current-URL": "http://testserver/cases/"}
    response = Client().get(reverse("notifications:badge"), headers=headers)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/cases/"
    assert b"<form" not in response.content


# --- the list ---------------------------------------------------------------------------------------------


def test_inbox_shows_only_own_notifications(world: World, client_for: ClientFor) -> None:
    _one(world, "grid_a", "赵强的工单提醒")
    _one(world, "grid_b", "孙丽的工单提醒")

    response = client_for("grid_a").get(reverse("notifications:inbox"))

    assert response.status_code == 200
    content = response.content.decode()
    assert "赵强的工单提醒" in content
    assert "赵强的工单提醒的内容" in content
    assert "孙丽的工单提醒" not in content


def test_unread_filter(world: World, client_for: ClientFor) -> None:
    read = _one(world, "grid_a", "已经看过的")
    _one(world, "grid_a", "还没看的")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)

    content = client_for("grid_a").get(reverse("notifications:inbox"), {"filter": "unread"}).content.decode()

    assert "还没看的" in content
    assert "已经看过的" not in content


def test_empty_inbox_shows_a_friendly_card(world: World, client_for: ClientFor) -> None:
    _one(world, "grid_b", "别人的")
    response = client_for("grid_a").get(reverse("notifications:inbox"))
    assert "暂无通知" in response.content.decode()


def test_inbox_is_paginated_and_its_query_count_does_not_grow(world: World, client_for: ClientFor) -> None:
    client = client_for("grid_a")
    notify([world["grid_a"]], title="第一批", actor=world["leader"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notifications:inbox")).status_code == 200
        return len(captured)

    few = queries()
    for i in range(24):
        notify([world["grid_a"]], title=f"通知{i:02d}", actor=world["comm_a"])
    assert queries() == few

    page_two = client.get(reverse("notifications:inbox"), {"page": 2}).content.decode()
    assert page_two.count('class="list-group-item') == 5
    assert "第一批" in page_two  # the oldest comes last


# --- opening an item --------------------------------------------------------------------------------------


def test_opening_marks_read_and_follows_a_site_path(world: World, client_for: ClientFor) -> None:
    notification = _one(world, "grid_a", "去看工单", url="/cases/12/?tab=timeline")

    response = client_for("grid_a").get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/cases/12/?tab=timeline"
    assert _is_read(notification)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example/path",
        "javascript:alert(1)",
        "cases/1/",
        "",
    ],
)
def test_opening_never_leaves_the_site(world: World, client_for: ClientFor, url: str) -> None:
    notification = _one(world, "grid_a", "可疑链接", url=url)

    response = client_for("grid_a").get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    assert _is_read(notification)


def test_cannot_open_someone_elses_notification(world: World, client_for: ClientFor) -> None:
    notification = _one(world, "grid_a", "赵强的", url="/cases/1/")
    response = client_for("grid_b").get(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 404
    assert not _is_read(notification)


# --- marking read -----------------------------------------------------------------------------------------


def test_mark_read(world: World, client_for: ClientFor) -> None:
    notification = _one(world, "grid_a", "标记我")
    client = client_for("grid_a")

    assert client.get(reverse("notifications:mark_read", args=[notification.pk])).status_code == 405
    assert not _is_read(notification)

    response = client.post(reverse("notifications:mark_read", args=[notification.pk]), {"filter": "unread"})
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox") + "?filter=unread"
    assert _is_read(notification)


def test_another_persona_cannot_mark_my_notification_read(world: World, client_for: ClientFor) -> None:
    notification = _one(world, "grid_a", "赵强的")
    response = client_for("grid_b").post(reverse("notifications:mark_read", args=[notification.pk]))
    assert response.status_code == 404
    assert not _is_read(notification)


def test_mark_read_with_htmx_returns_the_item_and_the_new_badge(world: World, client_for: ClientFor) -> None:
    notification = _one(world, "grid_a", "第一条")
    _one(world, "grid_a", "第二条")

    response = client_for("grid_a").post(
        reverse("notifications:mark_read", args=[notification.pk]), headers=HTMX
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="notification-{notification.pk}"' in content
    assert "第一条" in content and "第二条" not in content
    assert reverse("notifications:mark_read", args=[notification.pk]) not in content  # no button once read
    assert 'id="inbox-badge" hx-swap-oob="true"' in content
    assert ">1<" in content
    assert "<html" not in content


def test_mark_all_read_touches_only_my_notifications(world: World, client_for: ClientFor) -> None:
    mine = [_one(world, "grid_a", f"我的{i}") for i in range(3)]
    theirs = _one(world, "grid_b", "别人的")

    response = client_for("grid_a").post(reverse("notifications:mark_all_read"))

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:inbox")
    assert all(_is_read(n) for n in mine)
    assert not _is_read(theirs)


def test_mark_all_read_with_htmx_returns_the_list_partial(world: World, client_for: ClientFor) -> None:
    _one(world, "grid_a", "我的")

    response = client_for("grid_a").post(
        reverse("notifications:mark_all_read"), {"filter": "unread"}, headers=HTMX
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="inbox-list">')
    assert "暂无通知" in content  # nothing unread remains
    assert 'id="inbox-badge" hx-swap-oob="true"' in content
    assert "badge-pill" not in content
    assert "<html" not in content


# --- the badge --------------------------------------------------------------------------------------------


def test_badge_shows_the_unread_count(world: World, client_for: ClientFor) -> None:
    client = client_for("grid_a")
    empty = client.get(reverse("notifications:badge"))
    assert empty.status_code == 200
    assert "badge-pill" not in empty.content.decode()

    _one(world, "grid_a", "一")
    _one(world, "grid_a", "二")
    _one(world, "grid_b", "别人的")
    content = client.get(reverse("notifications:badge")).content.decode()
    assert content.startswith('<span id="inbox-badge">')
    assert ">2<" in content
    assert "2 条未读通知" in content
    assert "<html" not in content


def test_badge_caps_large_counts(world: World, client_for: ClientFor) -> None:
    for i in range(100):
        notify([world["grid_a"]], title=f"通知{i}")
    content = client_for("grid_a").get(reverse("notifications:badge")).content.decode()
    assert ">99+<" in content
