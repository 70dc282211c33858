"""The client address behind reverse proxies: X-Forwarded-For counts only when proxies are trusted."""

from __future__ import annotations

from django.test import RequestFactory, override_settings

from jiedao.audit.services import client_ip


def _request(forwarded: str = "") -> object:
    extra = {"REMOTE_ADDR": "127.0.0.1"}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_ip(_request("1.2.3.4")) == "127.0.0.1"  # type: ignore[arg-type]


@override_settings(TRUSTED_PROXIES=1)
def test_behind_one_proxy_the_last_forwarded_address_is_the_client() -> None:
    # A client may forge the first entries; the proxy appends the address it really saw.
    assert client_ip(_request("9.9.9.9, 203.0.113.7")) == "203.0.113.7"  # type: ignore[arg-type]
    assert client_ip(_request()) == "127.0.0.1"  # type: ignore[arg-type]
