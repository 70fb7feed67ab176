from functools import lru_cache

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language

from reviews.models import ChangeKind
from reviews.plan_forms import decimal_text
from reviews.selectors import ClockStatus

register = template.Library()


# The badges are simple tags building their HTML in Python rather than inclusion tags: the
# queue draws two on every row, and a sub-template each was a fifth of the page's time.


@lru_cache(maxsize=2048)
def _day(value, language: str) -> str:
    """A date as the badges show it ("4 Dec 2026"). Formatting is most of a badge's cost and
    a queue page repeats the same few dozen days, so each is formatted once per language."""
    return date_format(value, "j M Y")


@register.simple_tag
def clock_badge(status: str, due_on=None, paused_on=None) -> str:
    """The review clock as a badge with words (never colour alone) and its due date.

    `status` is `Application.clock_status` ("" when no clock runs) or the queue's SQL
    annotation ("none" when no clock runs).
    """
    status = ClockStatus(status or ClockStatus.NONE)
    if status == ClockStatus.NONE:
        return format_html('<span class="app-secondary-text">{}</span>', status.label)
    badge = format_html('<strong class="govuk-tag {}">{}</strong>', status.tag, status.label)
    if paused_on:
        return format_html(
            '{} <span class="govuk-!-font-size-16">since {}</span>',
            badge,
            _day(paused_on, get_language()),
        )
    if due_on:
        return format_html(
            '{} <span class="govuk-!-font-size-16 app-nowrap">due {}</span>',
            badge,
            _day(due_on, get_language()),
        )
    return badge


@register.simple_tag
def state_badge(application) -> str:
    state = application.state_enum
    return format_html('<strong class="govuk-tag {}">{}</strong>', state.tag, state.label)


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


# The queue's filters shown as removable tags (MOJ filter layout); sorting and page size are
# how the rows are shown, not which, so they are not listed.
NOT_FILTERS = {"sort", "per_page", "page"}


@register.simple_tag
def queue_selected_filters(form, params) -> list[dict]:
    """Each filter in use: its field's label, the chosen value's words and the query string
    that removes it (keeping the others, back to the first page)."""
    form.is_valid()
    selected = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name) if name not in form.errors else None
        if name in NOT_FILTERS or value in (None, ""):
            continue
        if hasattr(field, "choices") and not hasattr(value, "pk"):
            label = dict(field.choices).get(value, value)
        else:
            label = value
        rest = params.copy()
        for key in (name, "page"):
            rest.pop(key, None)
        query = rest.urlencode()
        selected.append(
            {"legend": field.label, "label": label, "remove": f"?{query}" if query else ""}
        )
    return selected
