from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django_fsm.admin import FSMAdminMixin

from devices.models import (
    TRANSITIONS,
    Application,
    ApplicationEvent,
    Device,
    EvidenceDocument,
    IncidentReport,
    Membership,
    Message,
    ModelVersion,
    Organisation,
)
from devices.services import (
    REASON_REQUIRED,
    TransitionRefused,
    application_transition,
    information_respond,
)
from reviews import decisions as review_decisions
from reviews import services as review_services
from reviews.models import Cohort


class ReadOnlyAdminMixin:
    """For records that are never edited or deleted once written (audit, evidence)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "companies_house_number", "created_at"]
    search_fields = ["name", "companies_house_number"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role"]
    list_select_related = ["user", "organisation"]
    search_fields = ["user__email", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read only: versions are recorded by model changes (reviews.model_changes)."""

    list_display = ["device", "label", "released_on", "recorded_at"]
    list_select_related = ["device"]
    search_fields = ["device__name", "label"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "organisation",
        "mdr_class",
        "imdrf_category",
        "clinical_area",
        "ai_type",
    ]
    list_filter = ["mdr_class", "imdrf_category", "clinical_area", "care_setting", "ai_type"]
    list_select_related = ["organisation"]
    search_fields = ["name", "organisation__name"]
    autocomplete_fields = ["organisation", "created_by"]
    readonly_fields = ["imdrf_category", "created_at", "updated_at"]
    show_full_result_count = False


class ApplicationEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApplicationEvent
    fields = ["created_at", "actor", "transition", "from_state", "to_state", "reason"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    can_delete = False
    extra = 0
    verbose_name = "audit row"
    verbose_name_plural = "audit trail (append-only)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class EvidenceInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = EvidenceDocument
    fields = ["kind", "version", "is_current", "original_name", "size", "sha256", "uploaded_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = True


class TransitionReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Goes on the audit trail and in the email to the people concerned.",
    )


class RequiredReasonForm(TransitionReasonForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: goes on the audit trail and in the email to the people concerned.",
    )


class AcceptForm(RequiredReasonForm):
    cohort = forms.ModelChoiceField(queryset=Cohort.objects.filter(is_open=True))


class RequestInformationForm(forms.Form):
    questions = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    due_on = forms.DateField(help_text="When the answers are due (YYYY-MM-DD).")


class RespondForm(forms.Form):
    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))


class CompleteTestingForm(TransitionReasonForm):
    confirmed = forms.BooleanField(
        required=False,
        label="Confirm completing testing early",
        help_text="Needed, with a reason, when the plan has time left to run or checkpoints "
        "have no report; the refusal says which.",
    )


def _decide(kind):
    def decide(*, application_id, actor, expected_state, data):
        review_decisions.decision_record(
            application_id=application_id,
            actor=actor,
            kind=kind,
            rationale=data["reason"],
            expected_state=expected_state,
        )

    return decide


# Transitions that record more than the state change (a decision, a request, a response) use
# the same service the site does; the rest go straight through application_transition.
SPECIAL_SERVICES = {
    "accept": lambda *, application_id, actor, expected_state, data: (
        review_services.application_accept(
            application_id=application_id,
            actor=actor,
            cohort=data["cohort"],
            rationale=data["reason"],
            expected_state=expected_state,
        )
    ),
    "reject": lambda *, application_id, actor, expected_state, data: (
        review_services.application_reject(
            application_id=application_id,
            actor=actor,
            rationale=data["reason"],
            expected_state=expected_state,
        )
    ),
    "request_information": lambda *, application_id, actor, expected_state, data: (
        review_services.information_request_create(
            application_id=application_id,
            actor=actor,
            questions=data["questions"],
            due_on=data["due_on"],
            expected_state=expected_state,
        )
    ),
    "respond": lambda *, application_id, actor, expected_state, data: information_respond(
        application_id=application_id,
        actor=actor,
        response=data["response"],
        expected_state=expected_state,
    ),
    "not_clear": _decide("not_clear"),
    "extend_testing": _decide("extend_testing"),
    "clear": lambda *, application_id, actor, expected_state, data: (
        review_decisions.clearance_countersign(
            application_id=application_id, actor=actor, expected_state=expected_state
        )
    ),
}


@admin.register(Application)
class ApplicationAdmin(FSMAdminMixin, admin.ModelAdmin):
    """Transitions in the admin go through the same service as the site: same permission
    checks, same reasons when refused, same audit row and notifications."""

    fsm_fields = ["state"]
    fsm_forms = {
        action: RequiredReasonForm if action in REASON_REQUIRED else TransitionReasonForm
        for action in TRANSITIONS
    } | {
        "accept": AcceptForm,
        "request_information": RequestInformationForm,
        "respond": RespondForm,
        "complete_testing": CompleteTestingForm,
    }
    list_display = [
        "reference",
        "organisation",
        "device",
        "state",
        "assignee",
        "clock_due_on",
        "submitted_at",
    ]
    list_filter = ["state", "device__mdr_class", "device__imdrf_category", "cohort", "clock_stage"]
    list_select_related = ["organisation", "device", "assignee"]
    # A leading ^ makes the reference search an index-friendly prefix match.
    search_fields = ["^reference", "device__name", "organisation__name"]
    autocomplete_fields = ["organisation", "device", "assignee", "created_by", "cohort"]
    readonly_fields = [
        "reference",
        "return_state",
        "clock_stage",
        "clock_due_on",
        "clock_paused_on",
        "submitted_at",
        "state_changed_at",
        "created_at",
        "updated_at",
    ]
    # Ordering by primary key walks an index; the full count is skipped, which at 100k rows
    # is the slowest part of a changelist.
    ordering = ["-pk"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [EvidenceInline, ApplicationEventInline]

    def is_fsm_transition_visible(self, transition) -> bool:
        return True

    def has_delete_permission(self, request, obj=None) -> bool:
        # A case is a record: its audit trail, evidence and decisions protect it, so deleting
        # one always fails. No "Delete selected applications" to offer, and no delete button.
        return False

    def fsm_transition_view(self, request, object_id, transition_name, **kwargs):
        # django-fsm raises (a 500) for a name that is not a transition, e.g. .../transition/save/;
        # a mistyped or tampered address is a page that does not exist.
        if transition_name not in TRANSITIONS:
            raise Http404("No such transition.")
        return super().fsm_transition_view(request, object_id, transition_name, **kwargs)

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        data = dict(kwargs or {})
        try:
            if transition_name in SPECIAL_SERVICES:
                SPECIAL_SERVICES[transition_name](
                    application_id=obj.pk,
                    actor=request.user,
                    expected_state=obj.state,
                    data=data,
                )
            else:
                application_transition(
                    application_id=obj.pk,
                    action=transition_name,
                    actor=request.user,
                    reason=data.get("reason", ""),
                    confirmed=bool(data.get("confirmed")),
                    expected_state=obj.state,
                )
        except (TransitionRefused, PermissionError) as refused:
            self.message_user(request, str(refused), level=messages.ERROR)
            return False
        obj.refresh_from_db()
        self.message_user(
            request,
            f"{obj.reference} is now {obj.state_enum.in_words}.",
            level=messages.SUCCESS,
        )
        return True


@admin.register(ApplicationEvent)
class ApplicationEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "application", "actor", "transition", "from_state", "to_state"]
    list_filter = ["transition", "to_state"]
    list_select_related = ["application", "actor"]
    search_fields = ["^application__reference", "actor__email"]
    show_full_result_count = False


@admin.register(EvidenceDocument)
class EvidenceDocumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "kind", "version", "is_current", "original_name", "size"]
    list_filter = ["kind", "is_current"]
    list_select_related = ["application"]
    search_fields = ["^application__reference", "original_name", "sha256"]
    show_full_result_count = False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "application", "author", "from_regulator"]
    list_select_related = ["application", "author"]
    search_fields = ["^application__reference"]


@admin.register(IncidentReport)
class IncidentReportAdmin(admin.ModelAdmin):
    list_display = ["application", "severity", "occurred_on", "report_due_on", "reported_at"]
    list_filter = ["severity"]
    list_select_related = ["application"]
    search_fields = ["^application__reference"]
    readonly_fields = ["report_due_on"]
    autocomplete_fields = ["application", "reported_by"]
