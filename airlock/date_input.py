"""The GOV.UK date input: a date asked as three boxes (day, month, year), never a browser date
picker, whose format depends on the browser's locale and which many people find hard to use.

The widget hands the field an ISO string ("2026-5-1" becomes "2026-05-01"), so any
`forms.DateField` keeps its own parsing and validation; a date sent as one ISO value (the API,
tests, an old bookmarked form) is still read.
"""

from datetime import date

from django import forms

PARTS = ("day", "month", "year")


class GovukDateInput(forms.MultiWidget):
    def __init__(self, attrs=None):
        widgets = {
            part: forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
            for part in PARTS
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if isinstance(value, date):
            return [value.day, value.month, value.year]
        if isinstance(value, str) and value.count("-") == 2:
            year, month, day = value.split("-")
            return [day, month, year]
        return [None, None, None]

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data.get(name)
        day, month, year = ((data.get(f"{name}_{part}") or "").strip() for part in PARTS)
        if not (day or month or year):
            return None
        # isdecimal, not isdigit: "²" is a digit that int() cannot read.
        if day.isdecimal() and month.isdecimal() and year.isdecimal():
            return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
        # Not a date: the field's own "Enter a real date" message explains.
        return f"{year}-{month}-{day}"

    def value_omitted_from_data(self, data, files, name):
        return name not in data and all(f"{name}_{part}" not in data for part in PARTS)


class GovukDateField(forms.DateField):
    """A date field asked as day, month and year, with messages in the GOV.UK style."""

    widget = GovukDateInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)
        self.error_messages["invalid"] = "Enter a real date, for example 27 3 2026"
