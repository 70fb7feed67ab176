from django import template

from reviews.forms import decimal_text
from reviews.selectors import ClockStatus

register = template.Library()


@register.inclusion_tag("reviews/partials/clock_badge.html")
def clock_badge(status: str, due_on=None, paused_on=None):
    """The review clock as a badge with words (never colour alone) and its due date.

    `status` is `Application.clock_status` ("" when no clock runs) or the queue's SQL
    annotation ("none" when no clock runs).
    """
    return {
        "status": ClockStatus(status or ClockStatus.NONE),
        "due_on": due_on,
        "paused_on": paused_on,
    }


@register.inclusion_tag("reviews/partials/state_badge.html")
def state_badge(application):
    return {"state": application.state_enum}


@register.filter
def have_errors(forms) -> bool:
    return any(form is not None and form.errors for form in forms or ())


@register.filter
def make_list_of(form) -> list:
    """One form as a list, for the error summary partial that takes several."""
    return [form]


@register.filter
def plain_number(value) -> str:
    """A metric value as people write it: 0.9, not 0.9000."""
    return decimal_text(value)
