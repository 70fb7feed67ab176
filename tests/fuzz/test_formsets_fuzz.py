"""Formset management forms: every count a client might send is answered without error,
every formset class checks its row counts, and every multiple choice of records refuses ids
past 64 bits."""

from functools import partial

import pytest
from django.db import transaction
from django.forms import BaseForm, BaseFormSet, ModelMultipleChoiceField

from airlock.choice_fields import IdsChoiceField
from airlock.formsets import SafeFormSet
from tests.fuzz.harness import client_for, rolled_back, send_and_check, the_form
from tests.fuzz.our_code import import_our_modules, subclasses
from tests.fuzz.strategies import MANAGEMENT_COUNTS, MANAGEMENT_FIELDS
from tests.fuzz.targets import cases

pytestmark = pytest.mark.django_db

# Every value a management field might be sent, one field at a time and all at once. The
# attack that found the class: INITIAL_FORMS=-1 (or x) made the evidence review answer 500.
MANAGEMENT_SWEEP = [*MANAGEMENT_COUNTS, "x", "", " 3", "1e3", "-0", "+1", "0x10", "٣", "9" * 40]


def management_variants(management: list[str]) -> list[dict[str, str]]:
    variants = [{field: value} for field in management for value in MANAGEMENT_SWEEP]
    variants += [dict.fromkeys(management, value) for value in MANAGEMENT_SWEEP]
    total = next(field for field in management if field.endswith("TOTAL_FORMS"))
    initial = next(field for field in management if field.endswith("INITIAL_FORMS"))
    # More existing rows than rows, and fewer rows than the page showed.
    return [*variants, {total: "1", initial: "10"}, {total: "0"}, {total: "1"}]


def test_every_formset_management_value_is_answered_without_error(stage):
    """Every form the site renders with a formset's management fields (found by rendering
    each POST target's page, so a new formset is covered without a line here), posted with
    each management value changed and with it missing."""
    found = []
    for name, target in ((p.values[0], p.values[1]) for p in cases("post")):
        with transaction.atomic():
            # Signing in stamps last_login on these objects; the rollback does not unstamp
            # them, and a reset link made from a stale one would not work.
            for person in stage.people.values():
                person.refresh_from_db()
            kwargs = target.setup(stage)
            url, form = the_form(stage, name, target, kwargs)
            management = [field for field in form.fields if field.endswith(MANAGEMENT_FIELDS)]
            if management:
                found.append(name)
                rendered = {
                    field: entry.values[:1] or [""]
                    for field, entry in form.fields.items()
                    if entry.kind != "file"
                }
                client = client_for(stage, target.persona)
                for changed in management_variants(management):
                    data = rendered | {field: [value] for field, value in changed.items()}
                    rolled_back(partial(send_and_check, client, "POST", url, data=data))
                    data = {key: values for key, values in data.items() if key not in changed}
                    rolled_back(partial(send_and_check, client, "POST", url, data=data))
            transaction.set_rollback(True)

    assert {"reviews:evidence-review", "reviews:testing-plan", "calls:create"} <= set(found)


def test_every_formset_class_checks_its_row_counts():
    """The fuzz above reaches the formsets the site renders; this, every one defined."""
    apps = import_our_modules()
    ours = [cls for cls in subclasses(BaseFormSet) if cls.__module__.split(".")[0] in apps]
    unchecked = [cls.__qualname__ for cls in ours if not issubclass(cls, SafeFormSet)]

    assert ours
    assert not unchecked, "Base these formsets on airlock.formsets.SafeFormSet: " + ", ".join(
        unchecked
    )


def test_every_multiple_choice_of_records_refuses_ids_past_64_bits():
    """Django puts posted ids straight into an `IN (...)`, where SQLite raises (a 500) on an id
    too big for 64 bits; airlock.choice_fields.IdsChoiceField makes it a wrong choice. The fuzz
    finds this only on pages it reaches with a record to choose; this checks every form."""
    apps = import_our_modules()
    unsafe = [
        f"{form.__module__}.{form.__qualname__}.{name}"
        for form in subclasses(BaseForm)
        if form.__module__.split(".")[0] in apps
        for name, field in form.base_fields.items()
        if isinstance(field, ModelMultipleChoiceField) and not isinstance(field, IdsChoiceField)
    ]

    assert not unsafe, "Use airlock.choice_fields.IdsChoiceField for: " + ", ".join(unsafe)
