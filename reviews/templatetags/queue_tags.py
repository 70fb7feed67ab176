from django import template

from reviews.queue_rows import queue_rows as draw_rows

register = template.Library()


@register.simple_tag(takes_context=True)
def queue_rows(context, page, case_prefix: str, selected) -> str:
    """The queue's rows for `page` (reviews.queue_rows), as the viewer sees them."""
    return draw_rows(
        page,
        case_prefix=case_prefix,
        is_lead=context.get("is_lead", False),
        selected=selected,
        viewer_pk=context["user"].pk,
    )
