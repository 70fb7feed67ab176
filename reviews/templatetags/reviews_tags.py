from django import template
from django.utils.formats import date_format
from django.utils.html import format_html

from reviews.models import ChangeKind
from reviews.plan_forms import decimal_text
from reviews.selectors import ClockStatus

register = template.Library()


# The badges are simple tags building their HTML in Python rather than inclusion tags: the
# queue draws two on every row, and a sub-template each was a fifth of the page's time.


@register.simple_tag
def clock_badge(status: str, due_on=None, paused_on=None) -> str:
    """The review clock as a badge with words (never colour alone) and its due date.

    `status` is `Application.clock_status` ("" when no clock runs) or the queue's SQL
    annotation ("none" when no clock runs).
    """
    status = ClockStatus(status or ClockStatus.NONE)
    if status == ClockStatus.NONE:
        return format_html('<span class="text-body-secondary">{}</span>', status.label)
    badge = format_html('<span class="badge text-bg-{}">{}</span>', status.badge, status.label)
    if paused_on:
        return format_html(
            '{} <span class="small">since {}</span>', badge, date_format(paused_on, "j M Y")
        )
    if due_on:
        return format_html(
            '{} <span class="small text-nowrap">due {}</span>', badge, date_format(due_on, "j M Y")
        )
    return badge


@register.simple_tag
def state_badge(application) -> str:
    state = application.state_enum
    return format_html('<span class="badge text-bg-{}">{}</span>', state.badge, state.label)


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


@register.filter
def change_kind_labels(kinds) -> list[str]:
    """A change protocol's allowed kinds, in words."""
    return [ChangeKind(kind).label for kind in kinds or () if kind in ChangeKind.values]
