"""Notifying users: the in-app inbox, and delivery by e-mail and SMS once the caller's transaction commits.

Other modules call `notify` inside their own transaction. The inbox rows are part of that transaction; e-mail
and SMS go out only after it commits (nothing is sent if it rolls back), and a failing mail server or SMS
gateway is recorded as a failed `Delivery` without ever raising into the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from jiedao.core.models import User
from jiedao.core.privacy import mask_phone
from jiedao.notifications.models import Delivery, Notification
from jiedao.notifications.sms import compose_sms, get_sms_backend

logger = logging.getLogger(__name__)

INBOX = "inbox"
EMAIL = Delivery.Channel.EMAIL.value
SMS = Delivery.Channel.SMS.value
CHANNELS = frozenset({INBOX, EMAIL, SMS})

_TITLE_LENGTH = Notification._meta.get_field("title").max_length or 200
_URL_LENGTH = Notification._meta.get_field("url").max_length or 300
_KIND_LENGTH = Notification._meta.get_field("kind").max_length or 40
_ERROR_LENGTH = 2000


def notify(
    recipients: Iterable[User],
    *,
    title: str,
    body: str = "",
    url: str = "",
    kind: str = "",
    channels: Iterable[str] = (INBOX,),
    actor: User | None = None,
) -> list[Notification]:
    """Put a notification in each recipient's inbox; with "email"/"sms" in `channels`, also send it there
    after the current transaction commits.

    The inbox row is always written (it is what the deliveries are recorded against). Recipients are
    deduplicated and inactive users skipped. `url` should be a site path ("/cases/12/"); the inbox only
    follows paths. Returns the created notifications.
    """
    wanted = set(channels)
    unknown = wanted - CHANNELS
    if unknown:
        raise ValueError(f"Unknown notification channel(s): {', '.join(sorted(unknown))}")
    title = " ".join(title.split())
    if not title:
        raise ValueError("A notification needs a title.")
    if len(url) > _URL_LENGTH:
        raise ValueError(f"A notification URL may be at most {_URL_LENGTH} characters long.")
    if len(kind) > _KIND_LENGTH:
        raise ValueError(f"A notification kind may be at most {_KIND_LENGTH} characters long.")
    if len(title) > _TITLE_LENGTH:
        title = title[: _TITLE_LENGTH - 1] + "…"

    users = _unique_active(recipients)
    if not users:
        return []
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    rows = [
        Notification(recipient=user, title=title, body=body, url=url, kind=kind, actor_id=actor_id)
        for user in users
    ]
    with transaction.atomic(savepoint=False):  # no savepoint: a failure here fails the caller's transaction
        created = Notification.objects.bulk_create(rows)
        external = tuple(channel for channel in (EMAIL, SMS) if channel in wanted)
        if external:
            transaction.on_commit(partial(deliver, created, external), robust=True)
    return created


def _unique_active(recipients: Iterable[User]) -> list[User]:
    seen: set[Any] = set()
    users: list[User] = []
    for user in recipients:
        if user is None or user.pk is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        users.append(user)
    return users


def deliver(notifications: Sequence[Notification], channels: Iterable[str]) -> list[Delivery]:
    """Send `notifications` by e-mail and/or SMS and record one Delivery per notification and channel.

    Runs after commit. Never raises: failures become failed deliveries and log entries.
    """
    wanted = set(channels)
    deliveries: list[Delivery] = []
    try:
        if EMAIL in wanted:
            deliveries += _deliver_email(notifications)
        if SMS in wanted:
            deliveries += _deliver_sms(notifications)
    except Exception:  # a bug here must not reach the caller, whose transaction has committed
        logger.exception("Delivering notifications failed")
    try:
        Delivery.objects.bulk_create(deliveries)
    except DatabaseError:
        logger.exception("Could not record %d notification deliveries", len(deliveries))
    return deliveries


def absolute_link(url: str) -> str:
    """`url` as a link usable outside the site (e-mail, SMS), or "" when it cannot be made absolute.

    Site paths are joined to settings.SITE_URL (environment variable JIEDAO_SITE_URL) when that is set.
    """
    url = url.strip()
    if url.startswith(("https://", "http://")):
        return url
    site = str(getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if site and is_local_path(url):
        return site + url
    return ""


def is_local_path(url: str) -> bool:
    """True for a path on this site ("/cases/12/"), False for anything that could lead elsewhere."""
    return (
        url.startswith("/")
        and not url.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(url, allowed_hosts=set(), require_https=False)
    )


def _sent(notification: Notification, channel: str, address: str) -> Delivery:
    return Delivery(notification=notification, channel=channel, address=address, status=Delivery.Status.SENT)


def _failed(notification: Notification, channel: str, address: str, exc: BaseException) -> Delivery:
    logger.warning("Notification %s: %s delivery failed: %s", notification.pk, channel, exc)
    return Delivery(
        notification=notification,
        channel=channel,
        address=address,
        status=Delivery.Status.FAILED,
        error=f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH],
    )


def _email_body(notification: Notification) -> str:
    link = absolute_link(notification.url)
    if not link:
        return notification.body
    line = _("查看详情：%(link)s") % {"link": link}
    return f"{notification.body}\n\n{line}" if notification.body else line


def _deliver_email(notifications: Sequence[Notification]) -> list[Delivery]:
    rows: list[Delivery] = []
    targets: list[tuple[Notification, str]] = []
    for notification in notifications:
        address = (notification.recipient.email or "").strip()
        if address:
            targets.append((notification, address))
        else:
            rows.append(Delivery(notification=notification, channel=EMAIL, status=Delivery.Status.SKIPPED))
    if not targets:
        return rows
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception as exc:
        return rows + [_failed(notification, EMAIL, address, exc) for notification, address in targets]
    try:
        for notification, address in targets:
            message = EmailMessage(
                subject=notification.title,
                body=_email_body(notification),
                to=[address],
                connection=connection,
            )
            try:
                if message.send() != 1:
                    raise RuntimeError(_("邮件服务器未接收该邮件"))
            except Exception as exc:
                rows.append(_failed(notification, EMAIL, address, exc))
            else:
                rows.append(_sent(notification, EMAIL, address))
    finally:
        try:
            connection.close()
        except Exception:
            logger.exception("Closing the e-mail connection failed")
    return rows


def _deliver_sms(notifications: Sequence[Notification]) -> list[Delivery]:
    rows: list[Delivery] = []
    targets: list[tuple[Notification, str]] = []
    for notification in notifications:
        phone = (notification.recipient.mobile or "").strip()
        if phone:
            targets.append((notification, phone))
        else:
            rows.append(Delivery(notification=notification, channel=SMS, status=Delivery.Status.SKIPPED))
    if not targets:
        return rows
    try:
        backend = get_sms_backend()
    except Exception as exc:
        return rows + [_failed(notification, SMS, mask_phone(phone), exc) for notification, phone in targets]
    for notification, phone in targets:
        text = compose_sms(notification.title, absolute_link(notification.url))
        try:
            backend.send(phone, text)
        except Exception as exc:
            rows.append(_failed(notification, SMS, mask_phone(phone), exc))
        else:
            rows.append(_sent(notification, SMS, mask_phone(phone)))
    return rows


def unread_count(user: Any) -> int:
    """Unread notifications of `user` (0 for an anonymous user).

    One query, answered from the (recipient, read_at) index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.for_recipient(user).unread().count()


def mark_read(user: User, notification: Notification) -> bool:
    """Mark one of the user's own notifications read; True if it was unread.

    Someone else's notification raises PermissionDenied (views look it up in the user's inbox: 404)."""
    if notification.recipient_id != user.pk:
        raise PermissionDenied
    if notification.read_at is not None:
        return False
    now = timezone.now()
    changed = Notification.objects.filter(pk=notification.pk, recipient=user, read_at__isnull=True).update(
        read_at=now
    )
    if changed:
        notification.read_at = now
    else:  # read meanwhile in another tab
        notification.refresh_from_db(fields=["read_at"])
    return bool(changed)


def mark_all_read(user: User) -> int:
    """Mark all of the user's unread notifications read; returns how many were unread."""
    return Notification.objects.for_recipient(user).unread().update(read_at=timezone.now())
