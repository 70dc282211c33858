"""The notification service: inbox rows, delivery after commit, SMS backends."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import RequestFactory

from jiedao.core.models import User
from jiedao.notifications import sms
from jiedao.notifications.checks import check_sms_backend
from jiedao.notifications.context_processors import inbox
from jiedao.notifications.models import Delivery, Notification
from jiedao.notifications.services import (
    absolute_link,
    mark_all_read,
    mark_read,
    notify,
    unread_count,
)
from tests.world import World

Capture = Callable[..., Any]


class FailingSMSBackend(sms.BaseSMSBackend):
    def send(self, phone: str, text: str) -> None:
        raise sms.SMSError("gateway down")


class FailingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        raise ConnectionRefusedError("mail server down")


class NotABackend:
    pass


@pytest.fixture(autouse=True)
def empty_sms_outbox() -> Iterator[None]:
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def _with_mobile(user: User, mobile: str) -> User:
    user.mobile = mobile
    user.save(update_fields=["mobile"])
    return user


# --- inbox rows -------------------------------------------------------------------------------------------


def test_notify_creates_one_inbox_row_per_distinct_active_recipient(world: World) -> None:
    grid_a, grid_b, volunteer = world["grid_a"], world["grid_b"], world["volunteer"]
    volunteer.is_active = False
    volunteer.save(update_fields=["is_active"])

    created = notify(
        [grid_a, grid_b, grid_a, volunteer],
        title="新工单派到本网格",
        body="请在24小时内处置",
        url="/cases/12/",
        kind="case.assigned",
        actor=world["leader"],
    )

    assert [n.recipient for n in created] == [grid_a, grid_b]
    rows = Notification.objects.filter(title="新工单派到本网格")
    assert rows.count() == 2
    row = rows.get(recipient=grid_a)
    assert (row.body, row.url, row.kind, row.actor, row.read_at) == (
        "请在24小时内处置",
        "/cases/12/",
        "case.assigned",
        world["leader"],
        None,
    )
    assert not Notification.objects.filter(recipient=volunteer).exists()
    assert not Delivery.objects.exists()
    assert mail.outbox == []


def test_notify_inbox_only_sends_nothing_outside(
    world: World, django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify([_with_mobile(world["grid_a"], "13800001111")], title="只在站内")
    assert callbacks == []
    assert mail.outbox == [] and sms.outbox == []


def test_notify_rejects_unknown_channel_and_empty_title(world: World) -> None:
    with pytest.raises(ValueError, match="wechat"):
        notify([world["grid_a"]], title="x", channels=("inbox", "wechat"))
    with pytest.raises(ValueError):
        notify([world["grid_a"]], title="   ")
    assert not Notification.objects.filter(recipient=world["grid_a"]).exists()


def test_notify_with_no_recipients_returns_empty_list(world: World) -> None:
    assert notify([], title="无人接收", channels=("inbox", "email")) == []


def test_long_title_is_shortened_to_fit(world: World) -> None:
    (created,) = notify([world["grid_a"]], title="长" * 300)
    created.refresh_from_db()
    assert len(created.title) == 200 and created.title.endswith("…")


# --- delivery after commit --------------------------------------------------------------------------------


def test_email_and_sms_are_sent_only_after_commit(tx_world: World) -> None:
    grid_a = _with_mobile(tx_world["grid_a"], "13800001111")
    grid_b = tx_world["grid_b"]  # no mobile: the SMS is skipped

    with transaction.atomic():
        notify([grid_a, grid_b], title="暴雨预警", body="请巡查积水点", channels=("inbox", "email", "sms"))
        assert mail.outbox == []
        assert sms.outbox == []
        assert not Delivery.objects.exists()

    assert sorted(m.to[0] for m in mail.outbox) == ["grid_a@example.org", "grid_b@example.org"]
    assert {m.subject for m in mail.outbox} == {"暴雨预警"}
    assert mail.outbox[0].body == "请巡查积水点"
    assert sms.outbox == [sms.SMSMessage(phone="13800001111", text="暴雨预警")]
    statuses = sorted(
        (d.notification.recipient.username, d.channel, d.status, d.address)
        for d in Delivery.objects.select_related("notification__recipient")
    )
    assert statuses == [
        ("grid_a", "email", "sent", "grid_a@example.org"),
        ("grid_a", "sms", "sent", "138****1111"),
        ("grid_b", "email", "sent", "grid_b@example.org"),
        ("grid_b", "sms", "skipped", ""),
    ]


def test_nothing_is_sent_when_the_transaction_rolls_back(tx_world: World) -> None:
    grid_a = _with_mobile(tx_world["grid_a"], "13800001111")

    with pytest.raises(RuntimeError), transaction.atomic():
        notify([grid_a], title="撤回的通知", channels=("email", "sms"))
        raise RuntimeError("the caller's work failed")

    assert mail.outbox == [] and sms.outbox == []
    assert not Notification.objects.filter(title="撤回的通知").exists()
    assert not Delivery.objects.exists()


def test_failing_sms_backend_records_failed_delivery_without_raising(
    world: World, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.SMS_BACKEND = "tests.test_notifications.FailingSMSBackend"
    grid_a = _with_mobile(world["grid_a"], "13800001111")

    with django_capture_on_commit_callbacks(execute=True):
        (created,) = notify([grid_a], title="短信失败", channels=("email", "sms"))

    failed = Delivery.objects.get(notification=created, channel="sms")
    assert failed.status == Delivery.Status.FAILED
    assert "gateway down" in failed.error
    assert failed.address == "138****1111"
    # The other channel is unaffected.
    assert Delivery.objects.get(notification=created, channel="email").status == Delivery.Status.SENT
    assert len(mail.outbox) == 1


def test_failing_mail_server_records_failed_delivery_and_sms_still_goes(
    world: World, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.EMAIL_BACKEND = "tests.test_notifications.FailingEmailBackend"
    grid_a = _with_mobile(world["grid_a"], "13800001111")

    with django_capture_on_commit_callbacks(execute=True):
        (created,) = notify([grid_a], title="邮件失败", channels=("email", "sms"))

    failed = Delivery.objects.get(notification=created, channel="email")
    assert failed.status == Delivery.Status.FAILED
    assert "mail server down" in failed.error
    assert Delivery.objects.get(notification=created, channel="sms").status == Delivery.Status.SENT
    assert len(sms.outbox) == 1


def test_misconfigured_sms_backend_fails_the_delivery_not_the_caller(
    world: World, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.SMS_BACKEND = "jiedao.notifications.sms.NoSuchBackend"
    grid_a = _with_mobile(world["grid_a"], "13800001111")

    with django_capture_on_commit_callbacks(execute=True):
        (created,) = notify([grid_a], title="配置错误", channels=("sms",))

    failed = Delivery.objects.get(notification=created)
    assert failed.status == Delivery.Status.FAILED
    assert "JIEDAO_SMS_BACKEND" in failed.error


def test_email_and_sms_carry_an_absolute_link_when_site_url_is_set(
    world: World, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.SITE_URL = "https://jiedao.example.gov.cn/"
    grid_a = _with_mobile(world["grid_a"], "13800001111")

    with django_capture_on_commit_callbacks(execute=True):
        notify([grid_a], title="工单待核查", body="请核查", url="/cases/7/", channels=("email", "sms"))

    assert mail.outbox[0].body == "请核查\n\n查看详情：https://jiedao.example.gov.cn/cases/7/"
    assert sms.outbox[0].text == "工单待核查 https://jiedao.example.gov.cn/cases/7/"


def test_relative_link_is_left_out_of_email_and_sms_without_site_url(
    world: World, settings: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    settings.SITE_URL = ""
    grid_a = _with_mobile(world["grid_a"], "13800001111")

    with django_capture_on_commit_callbacks(execute=True):
        notify([grid_a], title="工单待核查", body="请核查", url="/cases/7/", channels=("email", "sms"))

    assert mail.outbox[0].body == "请核查"
    assert sms.outbox[0].text == "工单待核查"


@pytest.mark.parametrize(
    ("url", "site", "expected"),
    [
        ("/cases/1/", "https://a.example", "https://a.example/cases/1/"),
        ("https://gov.example/x", "", "https://gov.example/x"),
        ("//evil.example/x", "https://a.example", ""),
        ("/\\evil.example/x", "https://a.example", ""),
        ("javascript:alert(1)", "https://a.example", ""),
        ("cases/1/", "https://a.example", ""),
    ],
)
def test_absolute_link(settings: Any, url: str, site: str, expected: str) -> None:
    settings.SITE_URL = site
    assert absolute_link(url) == expected


# --- reading ----------------------------------------------------------------------------------------------


def test_unread_count_is_one_query_and_zero_for_anonymous(
    world: World, django_assert_num_queries: Capture
) -> None:
    from django.contrib.auth.models import AnonymousUser

    grid_a = world["grid_a"]
    notify([grid_a], title="一")
    notify([grid_a], title="二")
    notify([world["grid_b"]], title="别人的")
    with django_assert_num_queries(1):
        assert unread_count(grid_a) == 2
    with django_assert_num_queries(0):
        assert unread_count(AnonymousUser()) == 0


def test_mark_read_and_mark_all_read(world: World) -> None:
    grid_a, grid_b = world["grid_a"], world["grid_b"]
    first, *_ = (notify([grid_a], title=t)[0] for t in ("一", "二", "三"))
    (others,) = notify([grid_b], title="别人的")

    assert mark_read(grid_a, first) is True
    assert first.read_at is not None
    assert mark_read(grid_a, first) is False
    assert unread_count(grid_a) == 2

    assert mark_all_read(grid_a) == 2
    assert mark_all_read(grid_a) == 0
    assert unread_count(grid_a) == 0
    others.refresh_from_db()
    assert others.read_at is None


def test_mark_read_refuses_someone_elses_notification(world: World) -> None:
    (mine,) = notify([world["grid_a"]], title="赵强的")
    with pytest.raises(PermissionDenied):
        mark_read(world["grid_b"], mine)
    mine.refresh_from_db()
    assert mine.read_at is None


def test_context_processor(world: World, django_assert_num_queries: Capture) -> None:
    from django.contrib.auth.models import AnonymousUser

    notify([world["grid_a"]], title="一")
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with django_assert_num_queries(0):
        assert inbox(request) == {"unread_notifications": 0}
    request.user = world["grid_a"]
    with django_assert_num_queries(1):
        assert inbox(request) == {"unread_notifications": 1}


# --- SMS backends -----------------------------------------------------------------------------------------


def test_bad_sms_backend_path_names_the_environment_variable(settings: Any) -> None:
    settings.SMS_BACKEND = "jiedao.notifications.sms.NoSuchBackend"
    with pytest.raises(ImproperlyConfigured, match="JIEDAO_SMS_BACKEND"):
        sms.get_sms_backend()
    settings.SMS_BACKEND = "no_such_module.Backend"
    with pytest.raises(ImproperlyConfigured, match="JIEDAO_SMS_BACKEND"):
        sms.get_sms_backend()


def test_sms_backend_must_be_a_backend_class(settings: Any) -> None:
    settings.SMS_BACKEND = "tests.test_notifications.NotABackend"
    with pytest.raises(ImproperlyConfigured, match=r"JIEDAO_SMS_BACKEND.*BaseSMSBackend"):
        sms.get_sms_backend()


def test_system_check_reports_a_bad_sms_backend(settings: Any) -> None:
    settings.SMS_BACKEND = "jiedao.notifications.sms.ConsoleSMSBackend"
    assert check_sms_backend() == []
    settings.SMS_BACKEND = "nowhere.Backend"
    (error,) = check_sms_backend()
    assert error.id == "notifications.E001"
    assert "JIEDAO_SMS_BACKEND" in error.msg


def test_get_sms_backend_loads_the_configured_class(settings: Any) -> None:
    settings.SMS_BACKEND = "jiedao.notifications.sms.FileSMSBackend"
    assert isinstance(sms.get_sms_backend(), sms.FileSMSBackend)


def test_file_backend_appends_json_lines_and_creates_the_folder(settings: Any, tmp_path: Path) -> None:
    settings.SMS_FILE_PATH = tmp_path / "sms" / "out"
    settings.SMS_BACKEND = "jiedao.notifications.sms.FileSMSBackend"
    backend = sms.get_sms_backend()
    backend.send("13800001111", "第一条")
    backend.send("13900002222", "第二条\n两行")

    lines = (tmp_path / "sms" / "out" / "sms.log").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["phone"], r["text"]) for r in records] == [
        ("13800001111", "第一条"),
        ("13900002222", "第二条\n两行"),
    ]
    assert all(r["time"] for r in records)


def test_file_backend_raises_sms_error_when_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(sms.SMSError):
        sms.FileSMSBackend(blocker / "sub").send("13800001111", "写不进去")


def test_console_backend_writes_one_line() -> None:
    stream = io.StringIO()
    sms.ConsoleSMSBackend(stream=stream).send("13800001111", "暴雨\n预警")
    assert stream.getvalue() == "SMS to 13800001111: 暴雨 预警\n"


def test_console_backend_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    sms.ConsoleSMSBackend().send("13800001111", "你好")
    assert capsys.readouterr().out == "SMS to 13800001111: 你好\n"


def test_memory_backend_collects_messages() -> None:
    sms.MemorySMSBackend().send("13800001111", "测试")
    assert sms.outbox == [sms.SMSMessage("13800001111", "测试")]


# --- SMS text ---------------------------------------------------------------------------------------------


def test_short_sms_is_title_and_link() -> None:
    text = sms.compose_sms("  工单\n待核查 ", "https://a.example/cases/1/")
    assert text == "工单 待核查 https://a.example/cases/1/"
    assert sms.segment_count(text) == 1


def test_long_title_is_cut_to_three_segments_keeping_the_link() -> None:
    link = "https://a.example/cases/123456/"
    text = sms.compose_sms("长" * 500, link)
    assert len(text) == sms.MAX_LENGTH
    assert sms.segment_count(text) == sms.MAX_SEGMENTS
    assert text.endswith("… " + link)


def test_overlong_link_is_dropped() -> None:
    text = sms.compose_sms("标题", "https://a.example/" + "x" * 300)
    assert text == "标题"


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3)]
)
def test_segment_count(length: int, segments: int) -> None:
    assert sms.segment_count("字" * length) == segments
