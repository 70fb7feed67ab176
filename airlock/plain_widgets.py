"""Text inputs and menus drawn in Python, with the markup of Django's own widget templates.

Django draws a widget through templates: one for the widget, one for its attributes and one
per menu option. The review queue's filter panel (nine controls, menus of reviewers, cohorts
and states) took a fifth of an uncached view that way. These produce the same HTML from the
same widget context (`Widget.get_context`: the value formatted, the options chosen), so
what is submitted and what is shown are unchanged; any other widget is left to Django.
"""

from django.forms import BoundField
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

_INPUT_TEMPLATES = {
    f"django/forms/widgets/{kind}.html" for kind in ("text", "number", "email", "url", "search")
}
_SELECT_TEMPLATE = "django/forms/widgets/select.html"
_OPTION_TEMPLATE = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> SafeString:
    """django/forms/widgets/attrs.html: False leaves an attribute out, True writes its name."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


def _option(option: dict) -> SafeString:
    # The option template's file ends in a newline, which Django's output keeps.
    return format_html(
        '<option value="{}"{}>{}</option>\n',
        option["value"],
        _attrs(option["attrs"]),
        option["label"],
    )


def _select(widget: dict) -> SafeString:
    parts = [format_html('<select name="{}"{}>', widget["name"], _attrs(widget["attrs"]))]
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        parts.extend(format_html("\n  {}", _option(option)) for option in group_choices)
        if group_name:
            parts.append(mark_safe("\n  </optgroup>"))
    parts.append(mark_safe("\n</select>"))
    return mark_safe("".join(parts))


def _input(widget: dict) -> SafeString:
    value = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        widget["type"],
        widget["name"],
        value,
        _attrs(widget["attrs"]),
    )


def render_plain(field: BoundField, attrs: dict) -> SafeString | None:
    """`field.as_widget(attrs=attrs)` without the templates, for a text-like input or a
    single-choice menu drawn by Django's own templates; None for any other widget."""
    widget = field.field.widget
    template = widget.template_name
    is_select = template == _SELECT_TEMPLATE and widget.option_template_name == _OPTION_TEMPLATE
    if template not in _INPUT_TEMPLATES and not is_select:
        return None
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs(dict(attrs), widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    return _select(context) if is_select else _input(context)
