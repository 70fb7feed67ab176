from django import forms
from django.conf import settings
from django.contrib import admin, messages

from devices.admin import ReadOnlyAdminMixin
from reviews.models import (
    AlertDelivery,
    Assignment,
    AuditEntry,
    Checkpoint,
    Cohort,
    ConflictOfInterest,
    Decision,
    EligibilityCriterion,
    EvidenceAssessment,
    IncomingAlert,
    InformationRequest,
    InternalNote,
    MetricThreshold,
    ModelChange,
    PartnerRegulator,
    PlanVersion,
    PlanVersionThreshold,
    SafetySignal,
    ScreeningAssessment,
    TestingPlan,
)
from reviews.network import keys, signing
from reviews.network.models import PartnerKeyEvent, PartnerSecret


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on", "capacity", "is_open"]
    list_filter = ["is_open"]
    search_fields = ["name"]


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(admin.ModelAdmin):
    list_display = ["title", "code", "order", "is_active"]
    list_editable = ["order", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "code"]
    prepopulated_fields = {"code": ["title"]}


@admin.register(ConflictOfInterest)
class ConflictOfInterestAdmin(admin.ModelAdmin):
    list_display = ["reviewer", "organisation", "declared_at"]
    list_select_related = ["reviewer", "organisation"]
    search_fields = ["reviewer__email", "organisation__name"]
    autocomplete_fields = ["reviewer", "organisation"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "reviewer", "assigned_by", "assigned_at", "ended_at"]
    list_select_related = ["application", "reviewer", "assigned_by"]
    search_fields = ["^application__reference", "reviewer__email"]
    show_full_result_count = False


@admin.register(ScreeningAssessment)
class ScreeningAssessmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "criterion", "outcome", "assessor", "assessed_at"]
    list_filter = ["outcome", "criterion"]
    list_select_related = ["application", "criterion", "assessor"]
    search_fields = ["^application__reference"]
    show_full_result_count = False


@admin.register(InformationRequest)
class InformationRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "requested_by", "requested_at", "due_on", "responded_at"]
    list_select_related = ["application", "requested_by"]
    search_fields = ["^application__reference"]
    show_full_result_count = False


@admin.register(InternalNote)
class InternalNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "author", "created_at"]
    list_select_related = ["application", "author"]
    search_fields = ["^application__reference"]


class MetricThresholdInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MetricThreshold
    extra = 0
    can_delete = False


@admin.register(TestingPlan)
class TestingPlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The plan in force changes only when both sides agree a version (reviews.plans), never
    by editing it here."""

    list_display = [
        "application",
        "environment",
        "starts_on",
        "ends_on",
        "cadence_days",
        "version",
        "agreed_at",
    ]
    list_filter = ["environment"]
    list_select_related = ["application"]
    search_fields = ["^application__reference"]
    inlines = [MetricThresholdInline]


class PlanVersionThresholdInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PlanVersionThreshold
    extra = 0
    can_delete = False


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "application",
        "number",
        "reviewer_agreed_at",
        "manufacturer_agreed_at",
        "returned_at",
        "withdrawn_at",
    ]
    list_select_related = ["application"]
    search_fields = ["^application__reference"]
    inlines = [PlanVersionThresholdInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "application", "actor", "action", "summary"]
    list_filter = ["action"]
    list_select_related = ["application", "actor"]
    search_fields = ["^application__reference"]
    show_full_result_count = False


@admin.register(ModelChange)
class ModelChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read only: changes are notified and decided through reviews.model_changes, audited."""

    list_display = ["notified_at", "application", "version_label", "kind", "status"]
    list_filter = ["status", "kind"]
    list_select_related = ["application"]
    search_fields = ["^application__reference"]


@admin.register(Checkpoint)
class CheckpointAdmin(admin.ModelAdmin):
    list_display = ["application", "sequence", "due_on", "status", "escalated_at"]
    list_filter = ["status"]
    list_select_related = ["application"]
    search_fields = ["^application__reference"]
    readonly_fields = ["reminded_7_days_at", "reminded_1_day_at", "overdue_at", "escalated_at"]
    autocomplete_fields = ["application"]
    show_full_result_count = False


@admin.register(EvidenceAssessment)
class EvidenceAssessmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "principle", "rating", "assessor"]
    list_filter = ["rating", "principle"]
    list_select_related = ["application", "assessor"]
    search_fields = ["^application__reference"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["application", "kind", "decided_by", "countersigned_by", "decided_at"]
    list_filter = ["kind"]
    list_select_related = ["application", "decided_by", "countersigned_by"]
    search_fields = ["^application__reference"]


@admin.register(SafetySignal)
class SafetySignalAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "application",
        "severity",
        "source",
        "status",
        "raised_at",
        "shared_at",
    ]
    list_filter = ["severity", "source", "status"]
    list_select_related = ["application"]
    search_fields = ["title", "^application__reference"]
    autocomplete_fields = ["application", "raised_by"]
    raw_id_fields = ["checkpoint_report", "incident"]
    # Closing a signal needs a written resolution and is audited: status changes go through
    # the signal's page (reviews.monitoring.signals.safety_signal_status_set), not this form.
    readonly_fields = [
        "status",
        "resolution_findings",
        "resolution_actions",
        "closed_by",
        "closed_at",
        "shared_at",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PartnerRegulatorForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label="Inbox URL",
        required=False,
        assume_scheme="https",
        help_text="An https:// address on the public internet, where Airlock POSTs the signed "
        "alerts and receipts for this partner. Addresses inside a private network are refused, "
        "now and at every delivery.",
    )
    add_secret = forms.CharField(
        label="Add a secret from the partner",
        required=False,
        help_text="A whsec_… secret the partner issued (their rotation). It signs and verifies "
        "at once beside ours; recorded in the key history.",
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = PartnerRegulator
        fields = [
            "name",
            "country",
            "webhook_url",
            "outbound_token",
            "inbound_token_sha256",
            "is_active",
        ]
        widgets = {"outbound_token": forms.PasswordInput(render_value=True)}

    def clean_add_secret(self) -> str:
        value = self.cleaned_data["add_secret"].strip()
        if value and not signing.is_valid_secret(value):
            raise forms.ValidationError(
                "A secret is whsec_ followed by at least 24 bytes in base64, as the partner "
                "sent it."
            )
        return value


class PartnerSecretInline(admin.TabularInline):
    """Secrets are shown by their last four characters only; they change through the
    actions (rotate, retire) and the "add a secret" field, each audited."""

    model = PartnerSecret
    fields = ["ending", "created_at", "expires_at", "is_active"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Secret")
    def ending(self, secret: PartnerSecret) -> str:
        return f"whsec_…{secret.secret[-4:]}"

    @admin.display(boolean=True, description="Active")
    def is_active(self, secret: PartnerSecret) -> bool:
        return secret.is_active


class PartnerKeyEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PartnerKeyEvent
    fields = ["created_at", "actor", "action", "summary"]
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "key history"


@admin.register(PartnerRegulator)
class PartnerRegulatorAdmin(admin.ModelAdmin):
    form = PartnerRegulatorForm
    list_display = ["name", "country", "webhook_url", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "country"]
    inlines = [PartnerSecretInline, PartnerKeyEventInline]
    actions = ["rotate_secret", "retire_older_secrets"]

    def get_inline_instances(self, request, obj=None):
        # A partner being added has no secrets or history yet: rotate once it is saved.
        return super().get_inline_instances(request, obj) if obj else []

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("add_secret"):
            keys.secret_add(
                actor=request.user, partner_id=obj.pk, value=form.cleaned_data["add_secret"]
            )

    @admin.action(description="Issue a new signing secret (rotate; old ones overlap)")
    def rotate_secret(self, request, queryset) -> None:
        for partner in queryset:
            secret = keys.secret_rotate(actor=request.user, partner_id=partner.pk)
            self.message_user(
                request,
                f"New secret for {partner} (shown once; send it to them securely): "
                f"{secret.secret}. Older secrets keep working for "
                f"{settings.PARTNER_SECRET_OVERLAP_HOURS} hours.",
                messages.WARNING,
            )

    @admin.action(description="Retire all but the newest secret now")
    def retire_older_secrets(self, request, queryset) -> None:
        ended = sum(
            keys.secrets_retire_older(actor=request.user, partner_id=partner.pk)
            for partner in queryset
        )
        self.message_user(request, f"{ended} older secret(s) retired.", messages.SUCCESS)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The delivery log with the detail reviewers are not shown: what answered, or why a
    delivery was refused before sending."""

    list_display = [
        "signal",
        "partner",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "delivered_at",
    ]
    list_filter = ["status", "partner"]
    list_select_related = ["signal", "partner"]


@admin.register(IncomingAlert)
class IncomingAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "partner", "severity", "received_at"]
    list_filter = ["severity", "partner"]
    list_select_related = ["partner"]
    search_fields = ["title", "device_name"]
