"""The manufacturer's API: read your applications, push checkpoint reports, notify model
changes.

Manufacturer systems authenticate with an API key their organisation's administrator made on
the site (teams/api_keys.py, limited to its scope), or an account's DRF token; both as
`Authorization: Token <key>`.
Everything is scoped through `devices.selectors.applications_for`, so another organisation's
application is a 404, exactly as on the web site, and reports go through the same service as
the web form.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.models import Application
from devices.selectors import applications_for
from devices.services import TransitionRefused
from postclearance.models import MonitoringPlan, MonitoringThreshold
from reviews.model_changes import ChangeDetails, model_change_notify
from reviews.models import ChangeKind, Checkpoint, MetricThreshold
from reviews.monitoring import reports
from teams.api_keys import KeyScope
from teams.models import ApiKeyScope


class IsManufacturer(BasePermission):
    message = "Only manufacturer accounts can use this endpoint."

    def has_permission(self, request, view) -> bool:
        return request.user.has_perm("devices.act_for_organisation")


class ThresholdSerializer(serializers.ModelSerializer):
    class Meta:
        model = MetricThreshold
        fields = ["metric", "comparator", "value", "critical_value"]


class CheckpointSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    report_submitted_at = serializers.SerializerMethodField()
    monitoring_plan = serializers.IntegerField(
        source="monitoring_plan_id",
        allow_null=True,
        help_text="The post-clearance monitoring plan this checkpoint belongs to; null during "
        "controlled testing.",
    )

    class Meta:
        model = Checkpoint
        fields = [
            "sequence",
            "due_on",
            "status",
            "status_label",
            "report_submitted_at",
            "monitoring_plan",
        ]

    def get_report_submitted_at(self, checkpoint) -> str | None:
        report = getattr(checkpoint, "report", None)
        return report.submitted_at.isoformat() if report else None


class MonitoringThresholdSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitoringThreshold
        fields = ["metric", "comparator", "value", "critical_value"]


class MonitoringPlanSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="status_label")
    thresholds = MonitoringThresholdSerializer(many=True)

    class Meta:
        model = MonitoringPlan
        fields = ["id", "status", "starts_on", "ends_on", "cadence_days", "thresholds"]


class ClockSerializer(serializers.Serializer):
    stage = serializers.CharField(source="clock_stage")
    stage_label = serializers.CharField(source="get_clock_stage_display")
    due_on = serializers.DateField(source="clock_due_on")
    paused_on = serializers.DateField(source="clock_paused_on")
    status = serializers.CharField(source="clock_status")


class ApplicationSerializer(serializers.ModelSerializer):
    state_label = serializers.SerializerMethodField()
    device = serializers.StringRelatedField()

    class Meta:
        model = Application
        fields = ["reference", "device", "state", "state_label", "submitted_at"]

    def get_state_label(self, application) -> str:
        return application.state_enum.label


class ApplicationDetailSerializer(ApplicationSerializer):
    clock = serializers.SerializerMethodField()
    checkpoints = CheckpointSerializer(many=True)
    thresholds = serializers.SerializerMethodField()
    monitoring_plans = MonitoringPlanSerializer(many=True)

    class Meta(ApplicationSerializer.Meta):
        fields = [
            *ApplicationSerializer.Meta.fields,
            "clock",
            "thresholds",
            "checkpoints",
            "monitoring_plans",
        ]

    @extend_schema(responses=ClockSerializer(allow_null=True))
    def get_clock(self, application) -> dict | None:
        if not application.clock_stage:
            return None
        return ClockSerializer(application).data

    @extend_schema(responses=ThresholdSerializer(many=True))
    def get_thresholds(self, application) -> list:
        thresholds = MetricThreshold.objects.filter(plan__application=application)
        return ThresholdSerializer(thresholds, many=True).data


FIGURE_HELP = (
    "A proportion of cases (sensitivity, specificity, ppv, npv, override_rate) is best given "
    'as counts, {"successes": 93, "trials": 100}, or as a proportion with its denominator, '
    '{"value": 0.93, "trials": 100}: the site computes the proportion and its 95% interval. '
    "A bare number is taken too, but without its sample size it may be too small to judge."
)


class CheckpointReportSerializer(serializers.Serializer):
    cases_processed = serializers.IntegerField(min_value=0, max_value=100_000_000)
    # The figures are checked by the service, the same rules as the web form's.
    metrics = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Metric figures, e.g. {"sensitivity": {"successes": 93, "trials": 100}, '
        '"auroc": 0.95}. Every metric with a threshold in the testing plan is required. '
        + FIGURE_HELP,
    )
    subgroup_metrics = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField()),
        required=False,
        default=dict,
        help_text='Per subgroup, e.g. {"age 65+": {"sensitivity": {"successes": 44, '
        '"trials": 50}}}.',
    )
    incidents_count = serializers.IntegerField(min_value=0, max_value=100_000, default=0)
    narrative = serializers.CharField(allow_blank=True, default="", max_length=20_000)
    model_version = serializers.CharField(
        max_length=50,
        allow_blank=True,
        default="",
        help_text="The label of the model version the figures are about; the version in use "
        "when left out.",
    )


def _owned_application(request: Request, reference: str) -> Application:
    return get_object_or_404(applications_for(request.user), reference=reference)


class ApplicationList(generics.ListAPIView):
    """Your organisation's applications, newest first."""

    serializer_class = ApplicationSerializer
    permission_classes = [IsAuthenticated, IsManufacturer, KeyScope]
    required_scope = ApiKeyScope.READ

    def get_queryset(self):
        return applications_for(self.request.user).select_related("device").order_by("-pk")


class ApplicationDetail(generics.RetrieveAPIView):
    """One application: its state, review clock, thresholds and checkpoints, and after
    clearance its post-clearance monitoring plans (each checkpoint names its plan)."""

    serializer_class = ApplicationDetailSerializer
    permission_classes = [IsAuthenticated, IsManufacturer, KeyScope]
    required_scope = ApiKeyScope.READ
    lookup_field = "reference"

    def get_queryset(self):
        return (
            applications_for(self.request.user)
            .select_related("device")
            .prefetch_related("checkpoints__report", "monitoring_plans__thresholds")
        )


class CheckpointReportCreate(APIView):
    permission_classes = [IsAuthenticated, IsManufacturer, KeyScope]
    required_scope = ApiKeyScope.REPORT

    @extend_schema(
        request=CheckpointReportSerializer,
        responses={
            201: inline_serializer(
                "CheckpointReportAccepted",
                {
                    "reference": serializers.CharField(),
                    "sequence": serializers.IntegerField(),
                    "submitted_at": serializers.DateTimeField(),
                },
            ),
            400: OpenApiResponse(description="Field errors."),
            404: OpenApiResponse(description="No such application or checkpoint for you."),
            409: OpenApiResponse(description="Already reported, or the case is not in testing."),
        },
    )
    def post(self, request: Request, reference: str, sequence: int) -> Response:
        """Submit the report for one checkpoint: the same rules as the web form."""
        application = _owned_application(request, reference)
        checkpoint = get_object_or_404(Checkpoint, application=application, sequence=sequence)
        serializer = CheckpointReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            report = reports.checkpoint_report_submit(
                actor=request.user, checkpoint_id=checkpoint.pk, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise ValidationError(detail) from None
        except TransitionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(
            {
                "reference": application.reference,
                "sequence": checkpoint.sequence,
                "submitted_at": report.submitted_at,
            },
            status=status.HTTP_201_CREATED,
        )


class ModelChangeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    version_label = serializers.CharField(max_length=50)
    released_on = serializers.DateField()
    description = serializers.CharField(max_length=20_000)
    training_data_summary = serializers.CharField(max_length=20_000, allow_blank=True, default="")
    sha256 = serializers.CharField(max_length=64, allow_blank=True, default="")
    validation_metrics = serializers.DictField(
        child=serializers.JSONField(),
        default=dict,
        help_text="The changed model's validation figures, as a checkpoint report's metrics. "
        + FIGURE_HELP,
    )
    evidence = serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True),
        default=dict,
        help_text="Each item of evidence the change protocol asks for (its exact wording) "
        "with where it is or what it shows.",
    )


class ModelChangeCreate(APIView):
    permission_classes = [IsAuthenticated, IsManufacturer]

    @extend_schema(
        request=ModelChangeSerializer,
        responses={
            201: inline_serializer(
                "ModelChangeNotified",
                {
                    "reference": serializers.CharField(),
                    "version_label": serializers.CharField(),
                    "status": serializers.CharField(),
                    "problems": serializers.ListField(child=serializers.CharField()),
                },
            ),
            400: OpenApiResponse(description="Field errors."),
            404: OpenApiResponse(description="No such application for you."),
            409: OpenApiResponse(
                description="The case takes no model changes: it is neither in testing nor "
                "cleared under a running post-clearance monitoring plan (the detail says why, "
                "and where to report instead)."
            ),
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        """Notify a change to the model, during testing or on a cleared device under a running
        monitoring plan: checked against the plan's change protocol at once (recorded within
        it; held for a reviewer or refused outside it)."""
        application = _owned_application(request, reference)
        serializer = ModelChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            change = model_change_notify(
                actor=request.user,
                application_id=application.pk,
                details=ChangeDetails(**serializer.validated_data),
            )
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            raise ValidationError(detail) from None
        except TransitionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except PermissionError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return Response(
            {
                "reference": application.reference,
                "version_label": change.version_label,
                "status": change.status,
                "problems": change.problems,
            },
            status=status.HTTP_201_CREATED,
        )
