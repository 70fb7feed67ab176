"""Input validation for the review workspace. Forms only check what people typed; the services
decide whether it may happen."""

import functools
from collections.abc import Callable

from django import forms
from django.utils import timezone

from airlock.choice_fields import IdsChoiceField
from airlock.date_input import GovukDateInput
from airlock.formsets import SafeFormSet
from airlock.govuk_forms import GovukMessages
from airlock.models import User
from devices.clocks import add_working_days
from devices.models import Application, ClinicalArea, ImdrfCategory, MdrClass, Organisation
from devices.services import REASON_REQUIRED, action_label
from reviews.decisions import PrincipleRating
from reviews.models import (
    Cohort,
    DecisionKind,
    GmlpPrinciple,
    GmlpRating,
    ScreeningOutcome,
)
from reviews.selectors import (
    QUEUE_STATES,
    SORTS,
    ClockStatus,
    QueueFilters,
    reviewer_menu,
    reviewers,
)
from reviews.services import CriterionOutcome

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
INFORMATION_DUE_WORKING_DAYS = 10


def _any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class ReadOnceChoiceIterator(forms.models.ModelChoiceIterator):
    """A menu's rows read in one ordinary query, kept for the form's other uses.

    Django reads a model menu through `QuerySet.iterator()`, which on PostgreSQL is a
    server-side cursor: three round trips (declare, fetch, close), again each time the
    choices are walked (the required-attribute check, then the drawing). The queue's
    cohort menu is a few dozen rows, read on every uncached view."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # The field's queryset is the form's own copy (ModelChoiceField.__deepcopy__), so
        # what it caches lasts as long as the form.
        for obj in self.field.queryset:
            yield self.choice(obj)


class ReadOnceModelChoiceField(forms.ModelChoiceField):
    iterator = ReadOnceChoiceIterator


class QueueFilterForm(GovukMessages, forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Reference, device or organisation.",
    )
    state = forms.ChoiceField(
        label="State",
        required=False,
        choices=_any("Any state", [(s.value, s.label) for s in QUEUE_STATES]),
    )
    mdr_class = forms.ChoiceField(
        label="Device class", required=False, choices=_any("Any class", MdrClass.choices)
    )
    imdrf_category = forms.ChoiceField(
        label="IMDRF category",
        required=False,
        choices=_any("Any category", ImdrfCategory.choices),
    )
    clinical_area = forms.ChoiceField(
        label="Clinical area", required=False, choices=_any("Any area", ClinicalArea.choices)
    )
    cohort = ReadOnceModelChoiceField(
        label="Cohort", required=False, queryset=Cohort.objects.all(), empty_label="Any cohort"
    )
    assignee = forms.ChoiceField(label="Assignee", required=False)
    clock = forms.ChoiceField(
        label="Clock", required=False, choices=_any("Any clock status", ClockStatus.choices)
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[(key, label) for key, (label, _) in SORTS.items()],
    )
    per_page = forms.IntegerField(
        label="Rows per page",
        required=False,
        min_value=1,
        help_text=f"Up to {MAX_PAGE_SIZE}.",
        widget=forms.NumberInput(attrs={"placeholder": DEFAULT_PAGE_SIZE}),
    )

    def __init__(self, *args, menu: Callable[[], list[tuple[str, str]]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # A callable: the reviewers are only looked up when the choices are needed (checking
        # a reviewer's id, or drawing the menu, which the queue page usually has cached).
        # The queue passes one memoised `menu` to this form and to the bulk-assignment form.
        self._menu = menu or functools.cache(reviewer_menu)
        self.fields["assignee"].choices = self._assignee_choices

    def _assignee_choices(self) -> list[tuple[str, str]]:
        return [
            ("", "Anyone or no one"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *self._menu(),
        ]

    def clean_per_page(self) -> int:
        # Asking for more than the cap is not a mistake worth an error: give the most we can.
        return min(self.cleaned_data["per_page"] or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)

    def filters(self) -> QueueFilters:
        """The valid filters; a field with an error is shown with its message and ignored."""
        self.is_valid()
        data = self.cleaned_data
        cohort = data.get("cohort")
        return QueueFilters(
            q=data.get("q", "").strip(),
            state=data.get("state", ""),
            mdr_class=data.get("mdr_class", ""),
            imdrf_category=data.get("imdrf_category", ""),
            clinical_area=data.get("clinical_area", ""),
            cohort_id=cohort.pk if cohort else None,
            assignee=data.get("assignee", ""),
            clock=data.get("clock", ""),
            sort=data.get("sort") or "clock",
        )

    def page_size(self) -> int:
        self.is_valid()
        return self.cleaned_data.get("per_page") or DEFAULT_PAGE_SIZE


class AssignForm(GovukMessages, forms.Form):
    reviewer = forms.ModelChoiceField(
        label="Assign to", queryset=User.objects.none(), empty_label="Choose a reviewer"
    )

    def __init__(self, *args, menu: Callable[[], list[tuple[str, str]]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Evaluated per form, so reviewers added since start-up are offered.
        self.fields["reviewer"].queryset = reviewers()
        if menu is not None:
            # Drawn from the menu the page already read (a callable: only if drawn at all);
            # a posted choice is still checked against the queryset.
            empty = self.fields["reviewer"].empty_label
            self.fields["reviewer"].widget.choices = lambda: [("", empty), *menu()]


class BulkAssignForm(AssignForm):
    applications = IdsChoiceField(
        label="Applications",
        queryset=Application.objects.none(),
        error_messages={"required": "Tick at least one application."},
    )

    def __init__(self, *args, visible=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visible is not None:
            self.fields["applications"].queryset = visible


class ScreeningAssessmentForm(GovukMessages, forms.Form):
    """One criterion. Leave both fields empty to assess it later."""

    outcome = forms.ChoiceField(
        required=False, choices=ScreeningOutcome.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, criterion, **kwargs):
        super().__init__(*args, prefix=f"criterion-{criterion.pk}", **kwargs)
        self.criterion = criterion
        self.fields["outcome"].label = f"Outcome for “{criterion.title}”"
        self.fields["comment"].label = f"Your reasons for “{criterion.title}”"

    def clean(self):
        data = super().clean()
        if data.get("outcome") and not data.get("comment", "").strip():
            self.add_error("comment", "Give your reasons for this outcome.")
        if data.get("comment", "").strip() and not data.get("outcome"):
            self.add_error("outcome", "Choose an outcome for this comment.")
        return data

    def criterion_outcome(self) -> CriterionOutcome | None:
        if not self.cleaned_data.get("outcome"):
            return None
        return CriterionOutcome(
            criterion_id=self.criterion.pk,
            outcome=self.cleaned_data["outcome"],
            comment=self.cleaned_data["comment"],
        )


class RationaleForm(GovukMessages, forms.Form):
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="This goes on the case record and the manufacturer sees it.",
    )


class AcceptForm(RationaleForm):
    cohort = forms.ModelChoiceField(
        label="Cohort",
        queryset=Cohort.objects.filter(is_open=True),
        empty_label="Choose an open cohort",
    )
    field_order = ["cohort", "rationale"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="accept", **kwargs)


class RejectForm(RationaleForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="reject", **kwargs)


class InformationRequestForm(GovukMessages, forms.Form):
    questions = forms.CharField(
        label="Questions for the manufacturer", widget=forms.Textarea(attrs={"rows": 6})
    )
    due_on = forms.DateField(
        label="Answer due by",
        error_messages={"required": "Enter the date the answer is due"},
        widget=GovukDateInput(),
        help_text=f"Usually {INFORMATION_DUE_WORKING_DAYS} working days from today.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_on"].initial = add_working_days(
            timezone.localdate(), INFORMATION_DUE_WORKING_DAYS
        )

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        if due_on <= timezone.localdate():
            raise forms.ValidationError("The due date must be after today.")
        return due_on


class GmlpAssessmentForm(GovukMessages, forms.Form):
    """One GMLP principle. Leave both fields empty to assess it later."""

    principle = forms.TypedChoiceField(
        choices=GmlpPrinciple.choices, coerce=int, widget=forms.HiddenInput
    )
    rating = forms.ChoiceField(required=False, choices=_any("Not assessed yet", GmlpRating.choices))
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        number = self.initial.get("principle")
        if number:
            self.principle_label = GmlpPrinciple(number).label
            self.fields["rating"].label = f"Rating for principle {number}"
            self.fields["comment"].label = f"Comment on principle {number}"

    def clean(self):
        data = super().clean()
        if data.get("rating") and not data.get("comment", "").strip():
            self.add_error("comment", "Give your reasons for this rating.")
        if data.get("comment", "").strip() and not data.get("rating"):
            self.add_error("rating", "Choose a rating for this comment.")
        return data


class BaseGmlpFormSet(SafeFormSet):
    def clean(self):
        if any(self.errors):
            return
        principles = [form.cleaned_data.get("principle") for form in self.forms]
        if sorted(principles) != sorted(GmlpPrinciple.values):
            raise forms.ValidationError("Assess each of the ten principles once.")

    def ratings(self) -> list[PrincipleRating]:
        return [
            PrincipleRating(
                principle=form.cleaned_data["principle"],
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
            )
            for form in self.forms
            if form.cleaned_data.get("rating")
        ]


GmlpFormSet = forms.formset_factory(
    GmlpAssessmentForm,
    formset=BaseGmlpFormSet,
    extra=0,
    max_num=len(GmlpPrinciple),
    validate_max=True,
    # Refuse a tampered TOTAL_FORMS instead of building up to Django's max_num + 1000 forms.
    absolute_max=len(GmlpPrinciple),
)


class DecisionForm(RationaleForm):
    rationale = forms.CharField(
        label="Rationale",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10_000,
        help_text="This goes on the case record and is sent to the manufacturer when the "
        "decision takes effect.",
        error_messages={"required": "Give the rationale for the decision."},
    )
    kind = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[],
        error_messages={"required": "Choose a decision."},
    )
    field_order = ["kind", "rationale"]

    def __init__(self, *args, lead: bool, **kwargs):
        super().__init__(*args, **kwargs)
        # Four eyes: a lead reviewer's proposal needs *another* lead reviewer; anyone else's,
        # a lead reviewer.
        countersigner = "another lead reviewer" if lead else "a lead reviewer"
        self.fields["kind"].choices = [
            (DecisionKind.CLEAR, f"Propose clearance ({countersigner} must countersign)"),
            (DecisionKind.NOT_CLEAR, "Do not clear"),
            (DecisionKind.EXTEND_TESTING, "Extend testing"),
        ]


class CompleteTestingForm(GovukMessages, forms.Form):
    """Completing testing: a reason, and an explicit confirmation when it is early."""

    reason = forms.CharField(
        label="Reason for completing testing",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
        help_text="It goes on the case record and to the manufacturer.",
    )
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, shortfalls: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.shortfalls = shortfalls
        if shortfalls:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = "Testing is ending early: say why."
            self.fields["confirm"].required = True
            self.fields["confirm"].label = (
                "I confirm testing ends early, as described above, and the evidence review "
                "will be based on what has been reported"
            )
            self.fields["confirm"].error_messages["required"] = (
                "Confirm that testing ends early, or keep it running."
            )
        else:
            del self.fields["confirm"]
            self.fields["reason"].label += " (optional)"


class ReasonForm(GovukMessages, forms.Form):
    """The reason for a transition; required where the audit row needs one."""

    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, action: str, **kwargs):
        super().__init__(*args, prefix=action, **kwargs)
        self.action = action
        field = self.fields["reason"]
        # Several of these forms share the action panel: each label names its action.
        field.label = f"Reason to {action_label(action).lower()}"
        if action in REASON_REQUIRED:
            field.required = True
            field.help_text = "It goes on the case record and to the manufacturer."
        else:
            field.label += " (optional)"


class WithdrawClearanceForm(GovukMessages, forms.Form):
    reason = forms.CharField(
        label="Why withdraw the proposed clearance?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept as an internal note.",
    )


class ConflictForm(GovukMessages, forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation",
        queryset=Organisation.objects.none(),
        empty_label="Choose an organisation",
    )
    reason = forms.CharField(
        label="The interest you are declaring",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: a former employer, shares, a family member who works there.",
    )

    def __init__(self, *args, reviewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.exclude(
            conflicts__reviewer=reviewer
        )


class NoteForm(GovukMessages, forms.Form):
    body = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only reviewers see internal notes; the manufacturer never does.",
        error_messages={"required": "Write the note before adding it."},
    )

    def __init__(self, *args, **kwargs):
        # Prefixed, as the message form on the same page has a "body" too: each label must
        # point at its own field.
        super().__init__(*args, prefix="note", **kwargs)


class MessageForm(GovukMessages, forms.Form):
    body = forms.CharField(
        label="Message to the manufacturer",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The manufacturer's team sees this on their case page and is told it is there.",
        error_messages={"required": "Write a message before sending."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="message", **kwargs)
