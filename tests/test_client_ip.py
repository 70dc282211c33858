"""The client address behind reverse proxies: X-Forwarded-For counts only when proxies are trusted."""

from __future__ import annotations

from django.http import HttpRequest
from django.test import RequestFactory, override_settings

from jiedao.audit.services import client_ip


def _request(forwarded: str = "") -> HttpRequest:
    request = RequestFactory().get("/")
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip(_request("1.2.3.4")) == "127.0.0.1"


@override_settings(TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_last_forwarded_address_is_the_client() -> None:
    # A client may forge the first entries; the proxy appends the address it really saw.
    assert client_ip(_request("9.9.9.9, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(_request()) == "127.0.0.1"
