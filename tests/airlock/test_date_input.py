"""The GOV.UK date input: three boxes read as one ISO date, whatever is typed into them."""

from datetime import date

import pytest
from django import forms

from airlock.date_input import GovukDateInput


class DateForm(forms.Form):
    starts_on = forms.DateField(label="Testing starts on", widget=GovukDateInput())


def _form(**parts) -> DateForm:
    return DateForm({f"starts_on_{name}": value for name, value in parts.items()})


def test_it_reads_day_month_and_year_as_one_date():
    form = _form(day="1", month="5", year="2026")

    assert form.is_valid()
    assert form.cleaned_data["starts_on"] == date(2026, 5, 1)


def test_it_still_reads_a_single_iso_value():
    form = DateForm({"starts_on": "2026-05-01"})

    assert form.is_valid()
    assert form.cleaned_data["starts_on"] == date(2026, 5, 1)


@pytest.mark.parametrize(
    "parts",
    [
        {"day": "31", "month": "2", "year": "2026"},
        {"day": "²", "month": "1", "year": "2026"},
        {"day": "1", "month": "13", "year": "2026"},
        {"day": "x", "month": "", "year": "2026"},
        {"day": "1", "month": "1", "year": "9" * 40},
    ],
)
def test_it_gives_a_field_error_for_a_date_that_is_not_real(parts):
    form = _form(**parts)

    assert not form.is_valid()
    assert "starts_on" in form.errors


def test_it_asks_for_the_date_when_every_box_is_empty():
    form = _form(day="", month="", year="")

    assert not form.is_valid()
    assert form.errors["starts_on"] == ["This field is required."]


def test_it_shows_a_saved_date_in_its_three_boxes():
    html = DateForm(initial={"starts_on": date(2026, 5, 1)})["starts_on"].value()

    assert GovukDateInput().decompress(html) == [1, 5, 2026]
