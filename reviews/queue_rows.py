"""The review queue's table rows, drawn in Python.

A queue page whose cache is cold draws 25 to 100 rows. Drawn by the template engine (a loop
with a dozen variable lookups, filters and two tags a row) they took a quarter of an uncached
view; built here with `escape` and f-strings they take a small part of that. The markup is
what templates/reviews/partials/queue_results.html had in its loop (the table around the rows
stays in the template); every value from the database is escaped.
"""

from functools import cache

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from reviews.templatetags.reviews_tags import clock_badge

_CHECKBOX = (
    '<td class="govuk-table__cell">'
    '<div class="govuk-checkboxes__item govuk-checkboxes--small moj-multi-select__checkbox">'
    '<input class="govuk-checkboxes__input" type="checkbox" form="bulk-assign" '
    'name="applications" value="{pk}" id="select-{pk}"{checked}>'
    '<label class="govuk-label govuk-checkboxes__label" for="select-{pk}">'
    '<span class="govuk-visually-hidden">Select {reference}</span></label></div></td>'
)
_SECONDARY = '<br><span class="govuk-!-font-size-16 app-secondary-text">{}</span>'
_CELL = '<td class="govuk-table__cell">{}</td>'
# Beside the cleared state: the device is still reporting under a post-clearance plan.
_MONITORED = (
    ' <strong class="govuk-tag govuk-tag--light-blue">Monitored'
    '<span class="govuk-visually-hidden"> after clearance</span></strong>'
)


@cache
def _state_badge(state) -> str:
    return f'<strong class="govuk-tag {state.tag}">{escape(state.label)}</strong>'


def _device_cells(device) -> tuple[str, str]:
    """The device column (name and version, clinical area) and the class column."""
    if device is None:
        return "—", ""
    return (
        escape(device) + _SECONDARY.format(escape(device.get_clinical_area_display())),
        escape(device.mdr_class) + _SECONDARY.format(f"IMDRF {escape(device.imdrf_category)}"),
    )


def _row(application, *, case_prefix: str, is_lead: bool, selected, viewer_pk, badges) -> str:
    pk = application.pk
    reference = escape(application.reference)
    device, device_class = _device_cells(application.device)
    if application.assignee_id is not None and application.assignee_id == viewer_pk:
        assignee = "You"
    else:
        assignee = escape(application.assignee or "Unassigned")
    clock = (application.clock_state, application.clock_due_on, application.clock_paused_on)
    if clock not in badges:
        badges[clock] = clock_badge(*clock)
    checkbox = ""
    if is_lead:
        checked = " checked" if str(pk) in selected else ""
        checkbox = _CHECKBOX.format(pk=pk, checked=checked, reference=reference)
    cells = (
        device,
        escape(application.organisation),
        _state_badge(application.state_enum) + (_MONITORED if application.monitored else ""),
        badges[clock],
        device_class,
        escape(application.cohort or "—"),
        assignee,
    )
    return (
        f'<tr class="govuk-table__row">{checkbox}'
        f'<th class="govuk-table__header" scope="row">'
        f'<a class="govuk-link" href="{case_prefix}{pk}/">{reference}</a></th>'
        + "".join(_CELL.format(cell) for cell in cells)
        + "</tr>\n"
    )


def queue_rows(applications, *, case_prefix: str, is_lead: bool, selected, viewer_pk) -> SafeString:
    """The `<tr>` of each application on the page. `case_prefix` is the case page's URL
    without the id (reversed once for the page, not once a row); `selected` the ids ticked
    in a bulk-assignment form sent back with an error; `viewer_pk` whose rows say "You"."""
    selected = {str(value) for value in selected or ()}
    case_prefix = escape(case_prefix)
    # Rows due the same day share their clock badge (formatting a date is the costly part).
    badges: dict = {}
    return mark_safe(
        "".join(
            _row(
                application,
                case_prefix=case_prefix,
                is_lead=is_lead,
                selected=selected,
                viewer_pk=viewer_pk,
                badges=badges,
            )
            for application in applications
        )
    )
