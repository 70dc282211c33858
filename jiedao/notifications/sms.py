"""Pluggable SMS delivery.

`settings.SMS_BACKEND` (environment variable JIEDAO_SMS_BACKEND) names a subclass of `BaseSMSBackend` by
dotted path. A provider's gateway is one more subclass whose `send` raises `SMSError` when the message is
refused.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# A single SMS carries 70 Chinese characters (UCS-2); a long one is split into parts of 67 (each part loses
# three characters to the concatenation header). We never send more than three parts.
SINGLE_SEGMENT_LENGTH = 70
MULTI_SEGMENT_LENGTH = 67
MAX_SEGMENTS = 3
MAX_LENGTH = MULTI_SEGMENT_LENGTH * MAX_SEGMENTS
ELLIPSIS = "…"


class SMSError(Exception):
    """The backend could not send the message."""


class BaseSMSBackend(ABC):
    """Sends one text message. Subclasses raise `SMSError` on failure."""

    @abstractmethod
    def send(self, phone: str, text: str) -> None: ...


class ConsoleSMSBackend(BaseSMSBackend):
    """Writes each message as one line to a stream (standard output by default): for development."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, phone: str, text: str) -> None:
        stream = self.stream or sys.stdout
        try:
            stream.write(f"SMS to {phone}: {_one_line(text)}\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise SMSError(str(exc)) from exc


class FileSMSBackend(BaseSMSBackend):
    """Appends each message as a JSON line to `<SMS_FILE_PATH>/sms.log`, creating the folder."""

    file_name = "sms.log"

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory if directory is not None else settings.SMS_FILE_PATH)

    @property
    def path(self) -> Path:
        return self.directory / self.file_name

    def send(self, phone: str, text: str) -> None:
        line = json.dumps(
            {"time": timezone.now().isoformat(), "phone": phone, "text": text}, ensure_ascii=False
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            raise SMSError(str(exc)) from exc


@dataclass(frozen=True)
class SMSMessage:
    phone: str
    text: str


# Messages sent through MemorySMSBackend, like django.core.mail.outbox. Tests clear it in place.
outbox: list[SMSMessage] = []


class MemorySMSBackend(BaseSMSBackend):
    """Keeps messages in the module-level `outbox` list: for tests."""

    def send(self, phone: str, text: str) -> None:
        outbox.append(SMSMessage(phone=phone, text=text))


def get_sms_backend(path: str | None = None) -> BaseSMSBackend:
    """An instance of the configured backend.

    A bad setting raises ImproperlyConfigured naming the environment variable."""
    dotted = path if path is not None else settings.SMS_BACKEND
    try:
        backend_class = import_string(dotted)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"Environment variable JIEDAO_SMS_BACKEND names {dotted!r}, which cannot be imported: {exc}"
        ) from exc
    if not (isinstance(backend_class, type) and issubclass(backend_class, BaseSMSBackend)):
        raise ImproperlyConfigured(
            f"Environment variable JIEDAO_SMS_BACKEND names {dotted!r}, which is not a subclass of "
            "jiedao.notifications.sms.BaseSMSBackend."
        )
    return backend_class()


def segment_count(text: str) -> int:
    """How many SMS parts `text` takes (0 for an empty text)."""
    if len(text) <= SINGLE_SEGMENT_LENGTH:
        return 1 if text else 0
    return math.ceil(len(text) / MULTI_SEGMENT_LENGTH)


def compose_sms(title: str, link: str = "") -> str:
    """The text of a notification SMS: the title, then the link, at most MAX_SEGMENTS parts long.

    The title is shortened (with an ellipsis) rather than the link, which would break; a link too long to fit
    with at least a few characters of title is left out.
    """
    title = _one_line(title)
    link = link.strip()
    if link and len(link) > MAX_LENGTH - 11:  # leave room for a separator and ten characters of title
        link = ""
    room = MAX_LENGTH - (len(link) + 1 if link else 0)
    if len(title) > room:
        title = title[: room - len(ELLIPSIS)].rstrip() + ELLIPSIS
    return f"{title} {link}" if link else title


def _one_line(text: str) -> str:
    return " ".join(text.split())
