"""The base of every formset on the site: the browser's row counts are checked, not trusted.

A formset reads how many rows were posted (TOTAL_FORMS) and how many of them are existing rows
(INITIAL_FORMS) from hidden fields anyone can edit. Django checks only that they are whole
numbers, so `INITIAL_FORMS=-1` (or `x`, which Django replaces with 0) made every row optional:
rows came back empty, and code written for the rows the page showed met rows that were not
there (the evidence review's clean() raised TypeError: a 500). Here:

- both counts must be whole numbers from 0, and INITIAL_FORMS no more than TOTAL_FORMS
  (Django itself builds no more than absolute_max rows, and says so);
- when the server built the formset from initial rows, those rows are the initial ones,
  whatever INITIAL_FORMS says, and a post with fewer rows than that is refused;
- with counts that fail those checks, no row is built and the formset's own clean() is not
  run: the formset is invalid with one error saying to reload the page.

Use `formset_factory(..., formset=SafeFormSet subclass)`; tests/fuzz/test_formsets_fuzz.py sends
every management value it can think of to every formset the site renders.
"""

from django import forms
from django.forms.formsets import INITIAL_FORM_COUNT, TOTAL_FORM_COUNT, ManagementForm
from django.utils.functional import cached_property

TAMPERED = (
    "This form's row counts were changed after the page was sent, so it cannot be read. "
    "Reload the page and enter your changes again: nothing was saved."
)


class CheckedManagementForm(ManagementForm):
    TOTAL_FORMS = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    INITIAL_FORMS = forms.IntegerField(min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, required_initial: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.required_initial = required_initial

    def clean(self):
        data = super().clean()
        total, initial = data[TOTAL_FORM_COUNT], data[INITIAL_FORM_COUNT]
        if initial > total or total < self.required_initial:
            raise forms.ValidationError(TAMPERED, code="tampered")
        return data


class SafeFormSet(forms.BaseFormSet):
    @cached_property
    def management_form(self):
        if not self.is_bound:
            return super().management_form
        form = CheckedManagementForm(
            self.data,
            auto_id=self.auto_id,
            prefix=self.prefix,
            renderer=self.renderer,
            required_initial=len(self.initial or ()),
        )
        form.full_clean()
        return form

    @property
    def counts_are_sound(self) -> bool:
        return not self.is_bound or self.management_form.is_valid()

    def initial_form_count(self) -> int:
        if self.is_bound and self.initial:
            # The rows the server sent are required rows, whatever the browser says.
            return len(self.initial)
        return super().initial_form_count()

    def total_form_count(self) -> int:
        if not self.counts_are_sound:
            return 0
        return super().total_form_count()

    def full_clean(self) -> None:
        if self.counts_are_sound:
            super().full_clean()
            return
        self._errors = []
        self._non_form_errors = self.error_class(
            [TAMPERED], error_class="nonform", renderer=self.renderer
        )
