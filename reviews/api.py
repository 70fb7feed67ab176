"""The partner-regulator API: the feed of alerts we share, and alerts partners push to us.

Partners authenticate with `Authorization: Bearer <token>`; we keep only the token's SHA-256
(PartnerRegulator.inbound_token_sha256), issued with `manage.py partner_token`.
"""

from django.contrib.auth.models import AnonymousUser
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reviews.models import PartnerRegulator, SafetySignal, SignalSeverity
from reviews.monitoring import partners


class PartnerTokenAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send the header as “Authorization: Bearer <token>”.")
        try:
            token = parts[1].decode()
        except UnicodeDecodeError:
            raise AuthenticationFailed("The token is not valid.") from None
        partner = partners.partner_for_token(token)
        if partner is None:
            raise AuthenticationFailed("The token is not valid.")
        return AnonymousUser(), partner

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) with a WWW-Authenticate header when the token is absent.
        return self.keyword


class PartnerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "reviews.api.PartnerTokenAuthentication"
    name = "partnerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer"}


class IsPartner(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, PartnerRegulator)


class AlertDeviceSerializer(serializers.Serializer):
    manufacturer = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField(allow_null=True)
    model_version = serializers.CharField(allow_null=True)
    uk_mdr_class = serializers.CharField(allow_null=True)
    imdrf_samd_category = serializers.CharField(allow_null=True)
    udi_di = serializers.CharField(allow_null=True)
    gmdn_term = serializers.CharField(allow_null=True)
    clinical_area = serializers.CharField(allow_null=True)


class AlertSerializer(serializers.Serializer):
    """A shared safety signal: the alert document of the network's schema
    (/network/schema/message-v1.json, `$defs.alert`), as the webhook delivers it."""

    id = serializers.CharField()
    version = serializers.IntegerField()
    issuer = serializers.DictField(child=serializers.CharField())
    title = serializers.CharField()
    description = serializers.CharField()
    severity = serializers.ChoiceField(choices=SignalSeverity.choices)
    status = serializers.CharField()
    retraction_reason = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    raised_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    shared_at = serializers.DateTimeField()
    device = AlertDeviceSerializer()
    finding = serializers.JSONField(allow_null=True)
    imdrf_codes = serializers.ListField(child=serializers.DictField())
    links = serializers.ListField(child=serializers.DictField())

    def to_representation(self, signal: SafetySignal) -> dict:
        return partners.alert_payload(signal)


class AlertFeed(generics.ListAPIView):
    """Safety signals shared with the network, most recently shared first."""

    serializer_class = AlertSerializer
    authentication_classes = [PartnerTokenAuthentication]
    permission_classes = [IsPartner]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                str,
                description="Only alerts shared after this ISO 8601 date-time.",
            )
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        signals = (
            SafetySignal.objects.filter(shared_at__isnull=False)
            .select_related("application__device", "application__organisation", "checkpoint_report")
            .order_by("-shared_at", "-pk")
        )
        since = self.request.query_params.get("since")
        if since:
            try:
                moment = parse_datetime(since)
            except ValueError:
                moment = None
            if moment is None or moment.tzinfo is None:
                raise ValidationError(
                    {
                        "since": "Give an ISO 8601 date-time with a time zone, e.g. "
                        "2026-05-01T09:00:00Z."
                    }
                )
            signals = signals.filter(shared_at__gt=moment)
        return signals


class IncomingAlertSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="Your identifier for the alert.")
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=SignalSeverity.choices)
    summary = serializers.CharField(max_length=20_000)
    device_name = serializers.CharField(max_length=200, required=False, default="")


class IncomingAlertCreate(APIView):
    authentication_classes = [PartnerTokenAuthentication]
    permission_classes = [IsPartner]

    @extend_schema(
        request=IncomingAlertSerializer,
        responses={
            201: OpenApiResponse(description="Stored."),
            200: OpenApiResponse(description="Already received: stored once."),
            400: OpenApiResponse(description="Field errors."),
        },
    )
    def post(self, request: Request) -> Response:
        """Push a safety alert to Airlock's reviewers. Safe to retry with the same id."""
        serializer = IncomingAlertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        alert, created = partners.incoming_alert_receive(
            partner=request.auth,
            external_id=data["id"],
            title=data["title"],
            severity=data["severity"],
            summary=data["summary"],
            device_name=data["device_name"],
            payload=request.data,
        )
        return Response(
            {"id": alert.external_id, "received_at": alert.received_at},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
