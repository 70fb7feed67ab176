from django import template
from django.forms import BaseForm, BaseFormSet

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
