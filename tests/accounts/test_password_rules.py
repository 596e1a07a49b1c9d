"""Password rules for new passwords: 12 characters, three kinds of characters, not common, not
all digits, not like the username; in both languages, on the pages that set a password."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from accounts.passwords import CharacterClassesValidator, character_classes
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _refusals(password: str, user: User | None = None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return [e.code or "" for e in error.error_list]
    return []


def test_a_strong_password_passes() -> None:
    assert _refusals("Evaluation-Office-2026") == []
    assert _refusals("政务云评估Office2026") == []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short-Pw1!", "password_too_short"),
        ("alllowercaseletters", "password_too_few_character_classes"),
        ("lowercase-and-symbols", "password_too_few_character_classes"),
        ("839201746502837", "password_entirely_numeric"),
        ("Password1234", "password_too_common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, code: str) -> None:
    assert code in _refusals(password)


def test_a_password_like_the_username_is_refused(vendor: User) -> None:
    vendor.username = "Zhang-Wei-Vendor-01"
    assert "password_too_similar" in _refusals("Zhang-Wei-Vendor-01", vendor)


def test_three_of_four_kinds_of_characters_are_enough() -> None:
    validator = CharacterClassesValidator(min_classes=3)
    assert character_classes("aB3!") == {"lower", "upper", "digit", "other"}
    assert character_classes("评估") == {"other"}
    for password in ("abcDEF123456", "abcdef-12345", "ABCDEF-12345", "abcDEF-ghijk"):
        validator.validate(password)
    with pytest.raises(ValidationError):
        validator.validate("abcdefGHIJKL")


def test_the_rules_are_explained_in_english_and_chinese() -> None:
    with translation.override("en"):
        english = " ".join(password_validators_help_texts())
    assert "at least 12 characters" in english
    assert "at least 3 of these: lower-case letters, upper-case letters, digits" in english
    with translation.override("zh-hans"):
        chinese = " ".join(password_validators_help_texts())
    assert "12" in chinese and chinese != english


def test_the_admin_site_refuses_a_weak_password_for_a_new_account(
    security_admin: User, office: object
) -> None:
    client = client_for(security_admin)
    client.cookies["django_language"] = "en"
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new_assessor",
            "password1": "weakpassword",
            "password2": "weakpassword",
            "usable_password": "true",
            "role": "assessor",
        },
    )

    assert response.status_code == 200
    assert "uses too few kinds of characters" in response.content.decode()
    assert not User.objects.filter(username="new_assessor").exists()


def test_existing_passwords_still_sign_in(vendor: User) -> None:
    # The rules apply when a password is set, not to those already set.
    from tests.factories import PASSWORD

    client = client_for(None)
    response = client.post(
        reverse("accounts:login"), {"username": vendor.username, "password": PASSWORD}
    )
    assert response.status_code == 302
