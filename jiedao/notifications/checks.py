from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from jiedao.notifications.sms import get_sms_backend


@register()
def check_sms_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Fail at start-up, not at the first SMS, when JIEDAO_SMS_BACKEND names something unusable."""
    try:
        get_sms_backend()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="notifications.E001")]
    return []
