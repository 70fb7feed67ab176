"""Input validation for the review workspace. Forms only check what people typed; the services
decide whether it may happen."""

from decimal import Decimal

from django import forms
from django.utils import timezone

from airlock.formsets import SafeFormSet
from airlock.models import User
from devices.clocks import add_working_days
from devices.models import Application, ClinicalArea, ImdrfCategory, MdrClass, Organisation
from devices.services import REASON_REQUIRED, action_label
from reviews.models import (
    Cohort,
    Comparator,
    DecisionKind,
    GmlpPrinciple,
    GmlpRating,
    Metric,
    ScreeningOutcome,
    TestingPlan,
)
from reviews.selectors import QUEUE_STATES, SORTS, ClockStatus, QueueFilters, reviewers
from reviews.services import (
    CriterionOutcome,
    PlanDetails,
    PrincipleRating,
    ThresholdSpec,
    threshold_problem,
)

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
INFORMATION_DUE_WORKING_DAYS = 10
# Browsers' date inputs only accept this format, whatever the site's locale.
ISO_DATE = "%Y-%m-%d"


def _any(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


class QueueFilterForm(forms.Form):
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
    cohort = forms.ModelChoiceField(
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A callable: the reviewers are only looked up when the choices are needed (checking
        # a reviewer's id, or drawing the menu, which the queue page usually has cached).
        self.fields["assignee"].choices = self._assignee_choices
        self._reviewer_choices: list[tuple[str, str]] | None = None

    def _assignee_choices(self) -> list[tuple[str, str]]:
        if self._reviewer_choices is None:
            self._reviewer_choices = [(str(user.pk), str(user)) for user in reviewers()]
        return [
            ("", "Anyone or no one"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *self._reviewer_choices,
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


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(
        label="Assign to", queryset=User.objects.none(), empty_label="Choose a reviewer"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Evaluated per form, so reviewers added since start-up are offered.
        self.fields["reviewer"].queryset = reviewers()


# The largest id a 64-bit integer column holds (SQLite and PostgreSQL alike).
MAX_ID = 2**63 - 1


class IdsChoiceField(forms.ModelMultipleChoiceField):
    """Django puts posted ids straight into an `IN (...)` query, where SQLite raises (a 500)
    on a number too big for 64 bits; such an id is only a wrong choice."""

    def clean(self, value):
        for pk in value or []:
            if not (str(pk).isdecimal() and int(pk) <= MAX_ID):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super().clean(value)


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


class ScreeningAssessmentForm(forms.Form):
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


class RationaleForm(forms.Form):
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


class InformationRequestForm(forms.Form):
    questions = forms.CharField(
        label="Questions for the manufacturer", widget=forms.Textarea(attrs={"rows": 6})
    )
    due_on = forms.DateField(
        label="Answer due by",
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
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


class GmlpAssessmentForm(forms.Form):
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
        help_text="This goes on the case record and is sent to the manufacturer when the "
        "decision takes effect.",
    )
    kind = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[
            (DecisionKind.CLEAR, "Propose clearance (another lead reviewer must countersign)"),
            (DecisionKind.NOT_CLEAR, "Do not clear"),
            (DecisionKind.EXTEND_TESTING, "Extend testing"),
        ],
    )
    field_order = ["kind", "rationale"]


class ReasonForm(forms.Form):
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


class WithdrawClearanceForm(forms.Form):
    reason = forms.CharField(
        label="Why withdraw the proposed clearance?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept as an internal note.",
    )


class TestingPlanForm(forms.ModelForm):
    cadence_days = forms.IntegerField(
        label="Days between checkpoints", min_value=1, max_value=365, initial=28
    )

    class Meta:
        model = TestingPlan
        fields = [
            "environment",
            "starts_on",
            "ends_on",
            "cadence_days",
            "nhs_sites",
            "suspend_on_critical_breach",
            "notes",
        ]
        labels = {
            "starts_on": "Testing starts on",
            "ends_on": "Testing ends on",
            "suspend_on_critical_breach": "Suspend testing automatically on a critical breach",
        }
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
            "ends_on": forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
            "nhs_sites": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"nhs_sites": "One a line."}

    def clean(self):
        data = super().clean()
        starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
        if starts_on and ends_on and ends_on <= starts_on:
            self.add_error("ends_on", "Testing must end after it starts.")
        return data


class MetricThresholdForm(forms.Form):
    metric = forms.ChoiceField(label="Metric", choices=_any("Choose a metric", Metric.choices))
    # The initial value is what the select shows by default, so a spare row left alone
    # counts as untouched.
    comparator = forms.ChoiceField(
        label="Must be", choices=Comparator.choices, initial=Comparator.AT_LEAST
    )
    value = forms.DecimalField(label="Threshold", max_digits=6, decimal_places=4, min_value=0)
    critical_value = forms.DecimalField(
        label="Critical value",
        max_digits=6,
        decimal_places=4,
        min_value=0,
        required=False,
    )

    def clean(self):
        data = super().clean()
        if {"metric", "comparator", "value"} <= data.keys():
            problem = threshold_problem(
                metric=data["metric"],
                comparator=data["comparator"],
                value=data["value"],
                critical_value=data.get("critical_value"),
            )
            if problem:
                self.add_error(*problem)
        return data


def decimal_text(value: Decimal | None) -> str:
    """A decimal as people write it: 0.9, not 0.9000 (nor 1E+1 for ten)."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


class BaseThresholdFormSet(SafeFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove this threshold"

    def _kept(self) -> list[forms.Form]:
        # Spare rows left blank have no cleaned data; removed rows are ticked for deletion.
        return [
            form
            for form in self.forms
            if form.cleaned_data.get("metric") and not self._should_delete_form(form)
        ]

    def clean(self):
        if any(self.errors):
            return
        kept = self._kept()
        if not kept:
            raise forms.ValidationError("Set at least one metric threshold.")
        metrics = [form.cleaned_data["metric"] for form in kept]
        if len(metrics) != len(set(metrics)):
            raise forms.ValidationError("Set each metric's threshold once.")

    def thresholds(self) -> list[ThresholdSpec]:
        return [
            ThresholdSpec(
                metric=form.cleaned_data["metric"],
                comparator=form.cleaned_data["comparator"],
                value=form.cleaned_data["value"],
                critical_value=form.cleaned_data.get("critical_value"),
            )
            for form in self._kept()
        ]


# absolute_max: a tampered TOTAL_FORMS is refused beyond this many rows; Django's default cap
# (max_num + 1000) would build, validate and draw a thousand forms for one request.
ThresholdFormSet = forms.formset_factory(
    MetricThresholdForm,
    formset=BaseThresholdFormSet,
    extra=2,
    can_delete=True,
    max_num=20,
    absolute_max=20,
)


def plan_details(form: TestingPlanForm, formset: BaseThresholdFormSet) -> PlanDetails:
    data = form.cleaned_data
    return PlanDetails(
        environment=data["environment"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        cadence_days=data["cadence_days"],
        nhs_sites=data["nhs_sites"],
        suspend_on_critical_breach=data["suspend_on_critical_breach"],
        notes=data["notes"],
        thresholds=formset.thresholds(),
    )


class ConflictForm(forms.Form):
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


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Internal note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only reviewers see internal notes; the manufacturer never does.",
    )


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message to the manufacturer",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The manufacturer's team sees this on their case page.",
    )
