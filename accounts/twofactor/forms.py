from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """One field for either kind of code: six digits from the app, or a recovery code."""

    code = forms.CharField(
        label=_("Sign-in code"),
        max_length=32,
        strip=True,
        error_messages={"required": _("Type the code.")},
    )
