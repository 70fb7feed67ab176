"""GOV.UK Design System behaviour for Django forms, shared by every page's forms.

`GovukMessages` replaces Django's "This field is required." with a message saying what to do,
built from the field's label ("Enter the intended purpose", "Select the sandbox environment"),
as the GOV.UK error message guidance asks. A message a form sets itself is kept.

`widget_kind` tells the crispy template pack (templates/govuk/) which GOV.UK component draws a
field.
"""

from django import forms

from airlock.date_input import GovukDateInput

DJANGO_REQUIRED = forms.Field.default_error_messages["required"]


def widget_kind(field: forms.Field) -> str:
    widget = field.widget
    if isinstance(widget, GovukDateInput):
        return "date"
    # CheckboxSelectMultiple is a subclass of RadioSelect in Django: ask about it first, or
    # a choice of several would be drawn as radios that allow one.
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.ClearableFileInput | forms.FileInput):
        return "file"
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    return "input"


VERBS = {
    "radios": "Select",
    "select": "Select",
    "checkboxes": "Select",
    "checkbox": "Confirm",
    "file": "Choose",
}


def required_message(label: str, kind: str) -> str:
    """ "Enter the start date", "Select the environment": a verb and the label in lower case
    (the first letter only, so "NHS sites" stays "NHS sites")."""
    text = str(label or "a value")
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[:1].lower() + text[1:]
    if kind == "file":
        return f"Choose {text} to upload"
    if kind == "date" and text.startswith("date "):
        return f"Enter the {text}"
    return f"{VERBS.get(kind, 'Enter')} {text}"


class GovukMessages:
    """A form mixin: GOV.UK-style "required" messages for every field that has Django's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.error_messages.get("required") == DJANGO_REQUIRED:
                field.error_messages["required"] = required_message(field.label, widget_kind(field))
