from django import template
from django.forms import BaseForm, BaseFormSet

from airlock.date_input import PARTS
from airlock.govuk_forms import widget_kind
from airlock.plain_widgets import render_plain

register = template.Library()


def _has_errors(value, depth: int = 0) -> bool:
    if isinstance(value, BaseForm):
        return value.is_bound and bool(value.errors)
    if isinstance(value, BaseFormSet):
        return value.is_bound and value.total_error_count() > 0
    if depth < 2 and isinstance(value, list | tuple):
        return any(_has_errors(item, depth + 1) for item in value)
    # An object carrying its own form, e.g. an action in the review page's panel.
    form = getattr(value, "form", None) if depth else None
    return isinstance(form, BaseForm) and _has_errors(form, depth + 1)


@register.simple_tag(takes_context=True)
def error_prefix(context) -> str:
    """ "Error: " when the page shows a form sent back with errors (the GOV.UK pattern: the
    title is the first thing a screen reader announces), else nothing."""
    return "Error: " if any(_has_errors(value) for value in context.flatten().values()) else ""


# --- The GOV.UK crispy-forms template pack (templates/govuk/) --------------------------------

CONTROL_CLASSES = {
    "input": "govuk-input",
    "textarea": "govuk-textarea",
    "select": "govuk-select",
    "file": "govuk-file-upload",
    "checkbox": "govuk-checkboxes__input",
}
ERROR_CLASSES = {"input", "textarea", "select", "file"}


@register.filter
def govuk_kind(field) -> str:
    """Which GOV.UK component draws this bound field (see airlock.govuk_forms.widget_kind)."""
    return widget_kind(field.field)


@register.simple_tag
def govuk_control(field, described_by: str = "") -> str:
    """The field's own input, select, textarea or file input with the GOV.UK classes, its
    error state and aria-describedby pointing at its hint and error message."""
    kind = widget_kind(field.field)
    widget = field.field.widget
    base = CONTROL_CLASSES.get(kind, "")
    classes = [base, widget.attrs.get("class", "")]
    if field.errors and kind in ERROR_CLASSES:
        classes.append(f"{base}--error")
    attrs = {"class": " ".join(c for c in classes if c)}
    if described_by.strip():
        attrs["aria-describedby"] = described_by.strip()
    # Text inputs and menus without Django's widget templates (airlock.plain_widgets).
    drawn = render_plain(field, attrs)
    return field.as_widget(attrs=attrs) if drawn is None else drawn


@register.simple_tag
def govuk_date_parts(field) -> list[dict]:
    """The day, month and year boxes of a GovukDateInput: name, id, value and width."""
    widget = field.field.widget
    value = field.value()
    if isinstance(value, str) and field.form.is_bound:
        data = field.form.data
        name = field.html_name
        values = [data.get(f"{name}_{part}", "") for part in PARTS]
        if name in data:
            values = widget.decompress(data.get(name))
    else:
        values = widget.decompress(value)
    widths = {"day": 2, "month": 2, "year": 4}
    return [
        {
            "part": part,
            "name": f"{field.html_name}_{part}",
            "id": f"{field.auto_id}_{index}",
            "value": "" if values[index] is None else values[index],
            "width": widths[part],
        }
        for index, part in enumerate(PARTS)
    ]
