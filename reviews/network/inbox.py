"""The inbox: where partners POST network messages (alerts and receipts), and the schema.

Order of checks, each with its own answer: the bearer token names the partner (401); the
body is parsed by the API's strict parser (400 naming the problem: depth, size, NaN, NUL);
the Standard Webhooks signature and timestamp are checked against the partner's active
secrets (401 saying why); the message is validated against the schema (400 listing the
problems); a message id seen before is answered 200 and does nothing.
"""

from django.conf import settings
from django.http import FileResponse, HttpRequest
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from airlock.json_parsing import parse_json
from reviews.api import IsPartner, PartnerTokenAuthentication
from reviews.network import alerts, receipts, schema, signing
from reviews.network.models import active_secrets


class MessageSerializer(serializers.Serializer):
    """The envelope; `data` is an alert or a receipt (docs/NETWORK.md, the JSON Schema)."""

    type = serializers.ChoiceField(
        choices=["alert.published", "alert.updated", "alert.retracted", "receipt.created"]
    )
    schema_version = serializers.CharField()
    timestamp = serializers.DateTimeField()
    data = serializers.JSONField()


class InboxAnswer(serializers.Serializer):
    outcome = serializers.CharField()


def _raw_body(request: Request) -> bytes:
    limit = settings.API_MAX_JSON_BYTES
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ParseError(f"The JSON body was refused: it is larger than {filesizeformat(limit)}.")
    # Django keeps the bytes it read; the signature is checked over exactly these.
    return request._request.body


class Inbox(APIView):
    authentication_classes = [PartnerTokenAuthentication]
    permission_classes = [IsPartner]

    @extend_schema(
        request=MessageSerializer,
        responses={
            201: InboxAnswer,
            200: OpenApiResponse(InboxAnswer, description="Already received: nothing done."),
            400: OpenApiResponse(description="Not JSON, or not valid against the schema."),
            401: OpenApiResponse(description="No valid token, signature or timestamp."),
            404: OpenApiResponse(description="A receipt for an alert we never sent you."),
        },
    )
    def post(self, request: Request) -> Response:
        """Deliver a signed network message (Standard Webhooks headers). Safe to retry with
        the same webhook-id."""
        body = _raw_body(request)
        message = parse_json(body)
        partner = request.auth
        try:
            webhook_id = signing.verify(
                secret_values=active_secrets(partner), body=body, headers=request.headers
            )
        except signing.SignatureRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        problems = schema.problems(message)
        if problems:
            return Response(
                {"detail": "The message does not match the schema.", "problems": problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            if message["type"] == "receipt.created":
                receipts.receipt_receive(partner=partner, webhook_id=webhook_id, message=message)
                outcome = "receipt stored"
            else:
                _, outcome = alerts.alert_receive(
                    partner=partner, webhook_id=webhook_id, message=message
                )
                outcome = f"alert {outcome}"
        except alerts.Duplicate:
            return Response({"outcome": "duplicate"}, status=status.HTTP_200_OK)
        except receipts.UnknownAlert:
            return Response(
                {"detail": "No alert with that id was sent to you."},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response({"outcome": outcome}, status=status.HTTP_201_CREATED)


@require_GET
def schema_file(request: HttpRequest) -> FileResponse:
    """The message schema, public: a new member reads it before it has a token."""
    response = FileResponse(schema.SCHEMA_FILE.open("rb"), content_type="application/schema+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response
