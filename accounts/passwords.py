"""The portal's own password rule (``AUTH_PASSWORD_VALIDATORS``), beside Django's length,
common-password, all-digits and similarity-to-the-user checks."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = ("lower", "upper", "digit", "other")


def character_classes(password: str) -> set[str]:
    """Which of lower-case letters, upper-case letters, digits and other characters (symbols,
    spaces, Chinese characters) ``password`` uses."""
    found: set[str] = set()
    for char in password:
        if char.islower():
            found.add("lower")
        elif char.isupper():
            found.add("upper")
        elif char.isdigit():
            found.add("digit")
        else:
            found.add("other")
    return found


class CharacterClassesValidator:
    """At least ``min_classes`` (3) of the four kinds of characters: lower-case letters,
    upper-case letters, digits, other characters."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if len(character_classes(password)) < self.min_classes:
            raise ValidationError(
                _(
                    "This password uses too few kinds of characters: use at least %(count)d of "
                    "lower-case letters, upper-case letters, digits and other characters."
                ),
                code="password_too_few_character_classes",
                params={"count": self.min_classes},
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must use at least %(count)d of these: lower-case letters, upper-case "
            "letters, digits, other characters (such as punctuation)."
        ) % {"count": self.min_classes}
