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

from accounts.models import Organisation
from indicators.models import Framework, Indicator

from .models import Campaign, Cloud
from .services import CloudFacts


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
    scoring_due_on = forms.DateField(
        label=_("Scoring due on"),
        required=False,
        widget=DateInput(),
        help_text=_("The assessors' deadline: on or after the day submissions close."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["year"].initial = datetime.date.today().year


class CampaignEditForm(CampaignForm):
    """The campaign's name, dates and number of assessors; its framework and year stay."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["framework"]
        del self.fields["year"]


class ReasonForm(forms.Form):
    """A reason for an operation on an assessment (exclusion, removal of an assessor)."""

    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give the reason.")},
    )


class ReopenForm(ReasonForm):
    due_on = forms.DateField(
        label=_("New deadline"),
        widget=DateInput(),
        error_messages={"required": _("Give the vendor a new deadline.")},
    )


class ReplaceAssessorForm(ReasonForm):
    """Remove an assessor, or replace them: the replacement is optional."""

    replacement = forms.ChoiceField(label=_("Replacement"), choices=(), required=False)

    def __init__(
        self, *args: Any, choices: list[tuple[str, list[tuple[str, str]]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "replacement").choices = choices


class AddCloudsForm(forms.Form):
    """Clouds not yet in the campaign, offered in groups (one per province)."""

    clouds = forms.MultipleChoiceField(
        label=_("Clouds"), widget=forms.CheckboxSelectMultiple, choices=()
    )
    # Once the review has started, the late clouds' vendors need a deadline of their own.
    due_on = forms.DateField(
        label=_("Self-assessment deadline of the clouds added"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self,
        *args: Any,
        groups: list[tuple[str, list[tuple[int, str]]]],
        late: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choice_field(self, "clouds").choices = groups
        self.fields["clouds"].error_messages["required"] = _("Choose at least one cloud.")
        self.fields["due_on"].required = late
        self.fields["due_on"].error_messages["required"] = _(
            "The review has started: give the vendors of the clouds you add a deadline for "
            "their self-assessment."
        )

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
    due_on = forms.DateField(
        label=_("New deadline for the vendor"),
        required=False,
        widget=DateInput(),
        help_text=_("Required when the vendor's deadline has passed."),
    )


class StateForm(forms.Form):
    state = forms.ChoiceField(choices=Campaign.State.choices)


# ----------------------------------------------------------------------------------------------
# Clouds


class _OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        if obj.division_code:
            return f"{obj.name} · {obj.division_code}"
        return obj.name


class _VendorChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class CloudForm(forms.Form):
    """A cloud's facts, its owner (existing, or created in place) and its vendors."""

    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    level = forms.ChoiceField(
        label=_("Level"),
        choices=Cloud.Level.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "A provincial cloud's owner has a province-level code (xx0000), a municipal "
            "cloud's a prefecture-level one (xxxx00)."
        ),
    )
    owner = _OrganisationChoiceField(
        label=_("Owner"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.GOVERNMENT).order_by(
            "division_code", "name"
        ),
        required=False,
        empty_label=_("— choose, or create a new owner below —"),
    )
    new_owner_name = forms.CharField(label=_("New owner: name"), max_length=200, required=False)
    new_owner_division_code = forms.CharField(
        label=_("New owner: administrative-division code"),
        max_length=6,
        required=False,
        help_text=_("Six digits, GB/T 2260, checked against the published table."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "pattern": "[0-9]{6}"}),
    )
    vendors = _VendorChoiceField(
        label=_("Vendors"),
        queryset=Organisation.objects.filter(kind=Organisation.Kind.VENDOR).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    new_vendor_names = forms.CharField(
        label=_("New vendor organisations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One name a line; an existing vendor of that name is used."),
    )
    on_extranet = forms.BooleanField(label=_("Government extranet zone (政务外网)"), required=False)
    on_internet = forms.BooleanField(label=_("Internet zone"), required=False)

    def facts(self) -> CloudFacts:
        """The cleaned data as the services take it."""
        data = self.cleaned_data
        return CloudFacts(
            name=data["name"].strip(),
            name_en=data["name_en"].strip(),
            level=data["level"],
            owner=data["owner"],
            new_owner_name=data["new_owner_name"].strip(),
            new_owner_division_code=data["new_owner_division_code"].strip(),
            vendors=tuple(data["vendors"]),
            new_vendor_names=tuple(
                line.strip() for line in data["new_vendor_names"].splitlines() if line.strip()
            ),
            on_extranet=data["on_extranet"],
            on_internet=data["on_internet"],
        )

    @staticmethod
    def initial_for(cloud: Cloud) -> dict[str, Any]:
        return {
            "name": cloud.name,
            "name_en": cloud.name_en,
            "level": cloud.level,
            "owner": cloud.owner,
            "vendors": list(cloud.vendors.all()),
            "on_extranet": cloud.on_extranet,
            "on_internet": cloud.on_internet,
        }


class CloudImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("An Excel workbook (.xlsx) or a CSV file, made from the template."),
        error_messages={"required": _("Choose the file to import.")},
    )
