"""`bootstrap_supervisor` creates the first supervisor login once and never touches it again."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PASSWORD_LINE = re.compile(r"Password \(shown once, store it now\): (\S+)")


@pytest.fixture(autouse=True)
def _no_superuser_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DJANGO_SUPERUSER_PASSWORD", "DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL"):
        monkeypatch.delenv(name, raising=False)


def _bootstrap(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_supervisor", *args, stdout=out)
    return out.getvalue()


def test_creates_a_superuser_in_the_supervisors_group_and_prints_the_generated_password_once() -> None:
    # when
    output = _bootstrap()
    # then
    user = User.objects.get(username="admin")
    assert (user.is_superuser, user.is_staff, user.email) == (True, True, "admin@example.com")
    assert list(user.groups.values_list("name", flat=True)) == ["Supervisors"]
    passwords = PASSWORD_LINE.findall(output)
    assert len(passwords) == 1
    assert output.count(passwords[0]) == 1
    assert len(passwords[0]) >= 16
    assert user.check_password(passwords[0])


def test_uses_the_password_from_the_environment_and_does_not_print_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3cret-from-the-vault")
    # when
    output = _bootstrap()
    # then
    assert User.objects.get(username="admin").check_password("s3cret-from-the-vault")
    assert "s3cret-from-the-vault" not in output
    assert not PASSWORD_LINE.search(output)


def test_username_and_email_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "lead")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "lead@example.com")
    _bootstrap()
    assert User.objects.get(username="lead").email == "lead@example.com"


def test_a_second_run_leaves_the_login_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    # given
    first_output = _bootstrap()
    (password,) = PASSWORD_LINE.findall(first_output)
    before = User.objects.values().get(username="admin")
    # when the second run even has another password at hand
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-different-password")
    second_output = _bootstrap()
    # then
    assert "already exists" in second_output
    assert not PASSWORD_LINE.search(second_output)
    assert User.objects.values().get(username="admin") == before
    assert User.objects.get(username="admin").check_password(password)
    assert User.objects.count() == 1
