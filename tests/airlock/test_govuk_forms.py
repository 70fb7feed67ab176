"""GOV.UK-style messages and the GOV.UK crispy template pack."""

from django import forms
from django.template import Context, Template

from airlock.date_input import GovukDateInput
from airlock.govuk_forms import GovukMessages


class ExampleForm(GovukMessages, forms.Form):
    name = forms.CharField(label="Device name", max_length=200)
    kind = forms.ChoiceField(label="Kind of device", choices=[("a", "A"), ("b", "B")])
    when = forms.DateField(label="Date of the incident", widget=GovukDateInput())
    notes = forms.CharField(label="Notes", required=False, widget=forms.Textarea)
    summary = forms.CharField(
        label="Summary", max_length=500, widget=forms.Textarea, help_text="A sentence or two."
    )
    own = forms.CharField(label="Own", error_messages={"required": "Write your own words"})


def _render(form) -> str:
    return Template("{% load crispy_forms_tags %}{{ form|crispy }}").render(Context({"form": form}))


def test_it_says_what_to_do_instead_of_this_field_is_required():
    form = ExampleForm({})

    assert not form.is_valid()
    assert form.errors["name"] == ["Enter device name"]
    assert form.errors["kind"] == ["Select kind of device"]
    assert form.errors["when"] == ["Enter the date of the incident"]
    assert form.errors["own"] == ["Write your own words"]


def test_it_marks_optional_fields_and_never_required_ones():
    html = _render(ExampleForm())

    assert "Notes (optional)</label>" in html
    assert "Device name</label>" in html
    assert "*" not in html


def test_it_puts_the_hint_and_error_before_the_control_and_describes_it_by_both():
    html = _render(ExampleForm({"summary": ""}))

    hint, error, control = (
        html.index('id="id_summary-hint"'),
        html.index('id="id_summary-error"'),
        html.index('<textarea name="summary"'),
    )
    assert hint < error < control
    assert 'aria-describedby="id_summary-hint id_summary-error id_summary-info"' in html
    assert "govuk-textarea--error" in html
    assert '<span class="govuk-visually-hidden">Error:</span>' in html


def test_it_draws_a_character_count_and_a_date_input_in_a_fieldset():
    html = _render(ExampleForm())

    assert 'data-module="govuk-character-count" data-maxlength="500"' in html
    for part in ("day", "month", "year"):
        assert f'name="when_{part}"' in html
    assert "govuk-fieldset__legend" in html


def test_a_choice_of_several_is_drawn_as_checkboxes_not_radios():
    class Several(forms.Form):
        kinds = forms.MultipleChoiceField(
            choices=[("a", "A"), ("b", "B")], widget=forms.CheckboxSelectMultiple
        )
        one = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)

    html = _render(Several())

    assert html.count('type="checkbox"') == 2
    assert html.count('type="radio"') == 2
    assert 'class="govuk-checkboxes__input" id="id_kinds_0" name="kinds"' in html
