"""Inputs and menus drawn in Python (airlock.plain_widgets) are Django's own markup."""

import pytest
from django import forms

from airlock.plain_widgets import render_plain
from reviews.forms import BulkAssignForm, QueueFilterForm

MENU = [("7", 'Ada "the lead" <Lovelace>'), ("8", "Grace & co")]


class Everything(forms.Form):
    grouped = forms.ChoiceField(choices=[("Group <a>", [("1", "one"), ("2", "two")]), ("3", "3")])
    email = forms.EmailField(max_length=20, help_text="Work address.")
    number = forms.IntegerField(min_value=1, disabled=True, initial=3)
    text = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": 'a "b"'}))
    area = forms.CharField(widget=forms.Textarea)
    several = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)
    radios = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)


FORMS = [
    QueueFilterForm({}, menu=lambda: MENU),
    QueueFilterForm(
        {"q": 'x"<y>', "state": "screening", "assignee": "8", "per_page": "abc", "cohort": "9"},
        menu=lambda: MENU,
    ),
    QueueFilterForm(menu=lambda: MENU),
    Everything(),
    Everything({"grouped": "2", "email": "not an address", "text": "<b>&</b>", "several": ["b"]}),
    BulkAssignForm(menu=lambda: MENU),
]
ATTRS = [{}, {"class": "govuk-select govuk-select--error", "aria-describedby": "id_x-hint"}]


@pytest.mark.django_db
@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
@pytest.mark.parametrize("attrs", ATTRS, ids=["plain", "described"])
def test_each_control_is_the_markup_django_draws(form, attrs):
    form.is_valid()
    drawn = 0
    for field in form:
        plain = render_plain(field, attrs)
        if plain is None:
            continue
        drawn += 1
        assert str(plain) == str(field.as_widget(attrs=attrs)), field.name

    assert drawn >= 2


def test_other_widgets_are_left_to_django():
    form = Everything()

    assert render_plain(form["area"], {}) is None
    assert render_plain(form["radios"], {}) is None
