from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from .catalog import MAX_CATALOG_BYTES
from .models import VERSION_PATTERN

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def version_field(
    *, label: StrOrPromise, help_text: StrOrPromise, required: bool = True
) -> forms.CharField:
    """A framework version typed in a form: at most 32 characters of ``VERSION_PATTERN``."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=32,
        validators=[
            RegexValidator(
                VERSION_PATTERN,
                _("Use letters, digits, dots and dashes only, starting with a letter or digit."),
            )
        ],
        help_text=help_text,
    )


class CatalogUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Catalog file (YAML)"),
        help_text=_("The format is described in docs/catalog-format.md; at most 2 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,text/yaml"}),
    )
    publish = forms.BooleanField(
        label=_("Publish at once (the version can then never change)"), required=False
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CATALOG_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB."))
        return upload


class NewDraftForm(forms.Form):
    version = version_field(label=_("New version"), help_text=_("For example 2025.1"))
