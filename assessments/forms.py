"""Forms of the admin's pages: they parse input; the rules live in ``services`` and the models.

A service's ValidationError is put back on the form with ``add_service_error`` so that the page
shows it beside the field it is about.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from indicators.models import Framework, Indicator

from .models import Campaign


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Attaches a service's error to the form: to a field when the form has it, else to the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            target = name if name in form.fields else None
            for item in errors:
                form.add_error(target, item)
    else:
        form.add_error(None, error)


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    """The form's choice field ``name``, typed as one, to set choices known only per request."""
    field = form.fields[name]
    # ``fields`` is typed as holding any Field; the form class declares this one a choice field.
    assert isinstance(field, forms.ChoiceField)
    return field


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class FrameworkChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Framework) -> str:
        return f"{obj.name_zh} · {obj.version} ({obj.get_kind_display()})"


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    framework = FrameworkChoiceField(
        label=_("Framework version"),
        queryset=Framework.objects.filter(state=Framework.State.PUBLISHED).order_by(
            "kind", "code", "-created_at"
        ),
        empty_label=None,
        help_text=_("Only published versions can be used; they never change."),
    )
    opens_on = forms.DateField(label=_("Submissions open on"), widget=DateInput())
    closes_on = forms.DateField(label=_("Submissions close on"), widget=DateInput())
    reference_date = forms.DateField(
        label=_("Reference date"),
        required=False,
        widget=DateInput(),
        help_text=_("Evidence must still be valid on this date. Empty: the closing date."),
    )
    assessors_per_assessment = forms.IntegerField(
        label=_("Assessors per cloud"), initial=2, min_value=1, max_value=5
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["year"].initial = datetime.date.today().year


class AddCloudsForm(forms.Form):
    """Clouds not yet in the campaign, offered in groups (one per province)."""

    clouds = forms.MultipleChoiceField(
        label=_("Clouds"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    def __init__(
        self, *args: Any, groups: list[tuple[str, list[tuple[int, str]]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "clouds").choices = groups
        self.fields["clouds"].error_messages["required"] = _("Choose at least one cloud.")

    def cleaned_ids(self) -> list[int]:
        return [int(pk) for pk in self.cleaned_data["clouds"]]


class AssignForm(forms.Form):
    assessor = forms.ChoiceField(label=_("Assessor"), choices=())

    def __init__(
        self, *args: Any, choices: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "assessor").choices = choices


class SettleForm(forms.Form):
    """The lead's rating of one indicator where the assessors disagree."""

    # Which of the two is asked depends on the indicator; the other is removed.
    rating = forms.TypedChoiceField(
        label=_("Settled rating"), coerce=int, empty_value=None, choices=()
    )
    met = forms.TypedChoiceField(
        label=_("Settled decision"),
        coerce=lambda v: v == "yes",
        empty_value=None,
        choices=[("", "—"), ("yes", _("Met")), ("no", _("Not met"))],
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for the settled rating.")},
    )

    def __init__(
        self,
        *args: Any,
        indicator: Indicator,
        rating_choices: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        # One form per indicator on the page: the prefix keeps their fields apart.
        kwargs.setdefault("prefix", f"settle-{indicator.pk}")
        super().__init__(*args, **kwargs)
        self.indicator = indicator
        _choice_field(self, "rating").choices = [("", "—"), *rating_choices]
        del self.fields["met" if not indicator.is_mandatory else "rating"]
        decision = self.fields["met" if indicator.is_mandatory else "rating"]
        decision.required = True
        decision.error_messages["required"] = _("Choose the settled rating.")


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment for the vendor"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the assessment goes back to the vendor.")},
    )


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=Campaign.State.choices)
