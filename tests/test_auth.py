from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.test import Client, override_settings
from django.urls import reverse

from tests.world import PASSWORD, World

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(world: World) -> None:
    response = Client().get(reverse("login"))
    page = response.content.decode()
    assert response.status_code == 200 and "工作人员登录" in page and 'lang="zh-hans"' in page


def test_login_and_logout(world: World) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "grid_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_gets_clear_message(world: World) -> None:
    response = Client().post(reverse("login"), {"username": "grid_a", "password": "wrong"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="login-error"' in page and "区分大小写" in page


def test_lockout_after_repeated_failures(world: World) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "grid_b", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "grid_b", "password": PASSWORD})
    assert response.status_code == 429
    assert 'data-testid="locked-out"' in response.content.decode()
    # the right password does not get through while locked, and other accounts are unaffected
    assert client.get(reverse("home")).status_code == 302
    assert Client().post(reverse("login"), {"username": "grid_a", "password": PASSWORD}).status_code == 302


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_passwords_are_hashed_with_argon2(world: World) -> None:
    user = world["volunteer"]
    user.set_password("a-new-long-passphrase")
    user.save()
    assert identify_hasher(user.password).algorithm == "argon2"
    from jiedao import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_password_change(world: World) -> None:
    client = Client()
    client.force_login(world["comm_b"])
    url = reverse("password_change")
    response = client.post(url, {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    response = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "lanterns-over-the-river",
            "new_password2": "lanterns-over-the-river",
        },
    )
    assert response.status_code == 302
    world["comm_b"].refresh_from_db()
    assert world["comm_b"].check_password("lanterns-over-the-river")
