"""The form for setting up or changing a call, and its selection criteria formset: validation
only. What may change on a call that has begun is calls.services' to say; this form shows
those terms fixed (disabled, with the reason) and reports the service's refusals at their
fields."""

import re
from datetime import datetime, time

from django import forms
from django.utils import timezone

from airlock.choice_fields import IdsChoiceField
from airlock.date_input import GovukDateField
from airlock.formsets import SafeFormSet
from airlock.govuk_forms import GovukMessages
from calls.models import Call, SelectionCriterion
from calls.services import (
    CAPACITY_MAX,
    WEIGHT_MAX,
    CallLocks,
    CallTerms,
    CriterionTerms,
    criteria_problem,
)
from reviews.models import Cohort, EligibilityCriterion

TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
TIME_HINT = "On the 24-hour clock, UK time, for example 09:00 or 17:30."


class TimeField(forms.Field):
    """A time of day typed as hours and minutes ("9:00", "17.30"), as GOV.UK asks for a time."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", TIME_HINT)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"class": "govuk-input--width-5", "autocomplete": "off", "maxlength": "5"}
        )

    def to_python(self, value) -> time | None:
        if value in self.empty_values:
            return None
        match = TIME.match(str(value).strip())
        if match is None:
            raise forms.ValidationError(
                "Enter a real time on the 24-hour clock, for example 09:00 or 17:30"
            )
        return time(int(match.group(1)), int(match.group(2)))

    def prepare_value(self, value):
        return f"{value:%H:%M}" if isinstance(value, time) else value


def _moment(day, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


# The form's fields for each term the service names in its refusals and locks.
FIELDS_OF = {
    "title": ["title"],
    "challenge_areas": ["challenge_areas"],
    "opens_at": ["opens_on", "opens_time"],
    "closes_at": ["closes_on", "closes_time"],
    "capacity": ["capacity"],
    "moderation_margin": ["moderation_margin"],
    "cohort": ["cohort"],
    "eligibility_criteria": ["eligibility_criteria"],
}


class CallForm(GovukMessages, forms.Form):
    title = forms.CharField(
        label="Title", max_length=200, help_text="For example “Phase 3: AI in diagnostics”."
    )
    challenge_areas = forms.CharField(
        label="Challenge areas",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="The regulatory challenges the call seeks applications on, one a line.",
    )
    opens_on = GovukDateField(label="Opening date", help_text="For example 27 3 2026.")
    opens_time = TimeField(label="Opening time")
    closes_on = GovukDateField(
        label="Closing date",
        help_text="Submissions are refused from the closing moment; drafts are kept.",
    )
    closes_time = TimeField(label="Closing time")
    capacity = forms.IntegerField(
        label="Places",
        min_value=1,
        max_value=CAPACITY_MAX,
        help_text="How many applications the call can select.",
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-4"}),
        error_messages={
            "min_value": "Offer at least 1 place",
            "max_value": f"Offer at most {CAPACITY_MAX} places",
            "invalid": "Enter the number of places as a whole number, such as 7",
        },
    )
    moderation_margin = forms.IntegerField(
        label="Moderation margin (points of 100)",
        min_value=0,
        max_value=100,
        initial=15,
        help_text=Call._meta.get_field("moderation_margin").help_text,
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-4"}),
        error_messages={
            "min_value": "The margin is from 0 to 100 points",
            "max_value": "The margin is from 0 to 100 points",
            "invalid": "Enter the margin as a whole number, such as 15",
        },
    )
    cohort = forms.ModelChoiceField(
        queryset=Cohort.objects.none(),
        label="Cohort",
        empty_label="Choose the cohort",
        help_text="The applications selected join this cohort.",
    )
    # IdsChoiceField: an id past 64 bits is a wrong choice, not a 500 on SQLite.
    eligibility_criteria = IdsChoiceField(
        queryset=EligibilityCriterion.objects.none(),
        label="Eligibility criteria",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What every application must meet, judged at screening.",
    )

    def __init__(self, data=None, *, call: Call | None = None, locks: CallLocks):
        initial = None
        if call is not None:
            opens, closes = timezone.localtime(call.opens_at), timezone.localtime(call.closes_at)
            initial = {
                "title": call.title,
                "challenge_areas": call.challenge_areas,
                "opens_on": opens.date(),
                "opens_time": f"{opens:%H:%M}",
                "closes_on": closes.date(),
                "closes_time": f"{closes:%H:%M}",
                "capacity": call.capacity,
                "moderation_margin": call.moderation_margin,
                "cohort": call.cohort_id,
                "eligibility_criteria": [c.pk for c in call.eligibility_criteria.all()],
            }
        super().__init__(data, initial=initial)
        self.call = call
        cohorts = Cohort.objects.filter(is_open=True)
        criteria = EligibilityCriterion.objects.filter(is_active=True)
        if call is not None:
            cohorts = cohorts | Cohort.objects.filter(pk=call.cohort_id)
            criteria = criteria | call.eligibility_criteria.all()
        self.fields["cohort"].queryset = cohorts.distinct()
        self.fields["eligibility_criteria"].queryset = criteria.distinct()
        self.fields["capacity"].min_value = locks.min_capacity
        for term, reason in locks.reasons.items():
            for name in FIELDS_OF.get(term, []):
                # A disabled field keeps the call's value whatever is posted; the service
                # refuses a change to it anyway.
                self.fields[name].disabled = True
                self.fields[name].help_text = reason

    def add_refusals(self, problems: dict[str, str]) -> dict[str, str]:
        """Show the service's refusals at their fields; returns those about no field here."""
        rest = {}
        for term, message in problems.items():
            names = FIELDS_OF.get(term)
            if names:
                self.add_error(names[0], message)
            else:
                rest[term] = message
        return rest

    def clean(self) -> dict:
        data = super().clean()
        if {"opens_on", "opens_time", "closes_on", "closes_time"} <= data.keys():
            opens = _moment(data["opens_on"], data["opens_time"])
            closes = _moment(data["closes_on"], data["closes_time"])
            if closes <= opens:
                self.add_error("closes_on", "The call must close after it opens")
        return data

    def terms(self, criteria: tuple[CriterionTerms, ...]) -> CallTerms:
        data = self.cleaned_data
        return CallTerms(
            title=data["title"],
            challenge_areas=data["challenge_areas"],
            opens_at=_moment(data["opens_on"], data["opens_time"]),
            closes_at=_moment(data["closes_on"], data["closes_time"]),
            capacity=data["capacity"],
            moderation_margin=data["moderation_margin"],
            cohort=data["cohort"],
            eligibility_criteria=tuple(data["eligibility_criteria"]),
            criteria=criteria,
        )


class CriterionForm(GovukMessages, forms.Form):
    title = forms.CharField(
        max_length=SelectionCriterion._meta.get_field("title").max_length,
        required=False,
        label="Criterion",
    )
    weight = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=WEIGHT_MAX,
        help_text=f"1 to {WEIGHT_MAX}",
        widget=forms.NumberInput(attrs={"class": "govuk-input--width-3"}),
        error_messages={
            "min_value": f"Give a weight from 1 to {WEIGHT_MAX}",
            "max_value": f"Give a weight from 1 to {WEIGHT_MAX}",
            "invalid": f"Give the weight as a whole number from 1 to {WEIGHT_MAX}",
        },
    )
    description = forms.CharField(
        required=False,
        max_length=2000,
        label="What reviewers look for",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict:
        data = super().clean()
        title, weight = data.get("title", ""), data.get("weight")
        if title and weight is None and "weight" not in self.errors:
            self.add_error("weight", f"Give {title} a weight from 1 to {WEIGHT_MAX}")
        if weight is not None and not title:
            self.add_error("title", "Enter the criterion, or clear its weight")
        return data


class BaseCriterionFormSet(SafeFormSet):
    def _kept(self) -> list[forms.Form]:
        # Rows left blank are spare rows.
        return [form for form in self.forms if form.cleaned_data.get("title")]

    def clean(self) -> None:
        if any(self.errors):
            return
        problem = criteria_problem(self.criteria())
        if problem:
            raise forms.ValidationError(problem)

    def criteria(self) -> tuple[CriterionTerms, ...]:
        return tuple(
            CriterionTerms(
                title=form.cleaned_data["title"],
                weight=form.cleaned_data["weight"],
                description=form.cleaned_data.get("description", ""),
            )
            for form in self._kept()
        )


# absolute_max: a tampered TOTAL_FORMS is refused beyond this many rows.
CriterionFormSet = forms.formset_factory(
    CriterionForm, formset=BaseCriterionFormSet, extra=2, max_num=20, absolute_max=20
)


def criteria_initial(call: Call | None) -> list[dict]:
    if call is None:
        return []
    return [
        {"title": c.title, "weight": c.weight, "description": c.description}
        for c in call.selection_criteria.all()
    ]
