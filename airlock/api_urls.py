"""The JSON API under /api/: manufacturer systems and partner regulators.

The OpenAPI schema is at /api/schema/ and a browsable Swagger UI, served from our own static
files, at /api/docs/: for everyone when API_DOCS_PUBLIC says so (development), otherwise for
people signed in to the site and callers with an API token.
"""

from django.conf import settings
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission

from devices import api as devices_api
from reviews import api as reviews_api
from reviews.network import inbox as network_inbox
from teams.api_keys import ApiKeyAuthentication


class DocumentationAccess(BasePermission):
    message = "The API documentation is for signed-in users: sign in, or send your API token."

    def has_permission(self, request, view) -> bool:
        # Read per request, so the setting can change without a restart of the URLconf.
        return settings.API_DOCS_PUBLIC or request.user.is_authenticated


DOCS = {
    # The token first: its scheme is the one a 401 names (WWW-Authenticate: Token).
    "authentication_classes": [ApiKeyAuthentication, TokenAuthentication, SessionAuthentication],
    "permission_classes": [DocumentationAccess],
}

app_name = "api"

urlpatterns = [
    path("applications/", devices_api.ApplicationList.as_view(), name="applications"),
    path(
        "applications/<str:reference>/",
        devices_api.ApplicationDetail.as_view(),
        name="application",
    ),
    path(
        "applications/<str:reference>/checkpoints/<int:sequence>/report/",
        devices_api.CheckpointReportCreate.as_view(),
        name="checkpoint-report",
    ),
    path(
        "applications/<str:reference>/model-changes/",
        devices_api.ModelChangeCreate.as_view(),
        name="model-change",
    ),
    path("alerts/feed/", reviews_api.AlertFeed.as_view(), name="alert-feed"),
    path("alerts/incoming/", reviews_api.IncomingAlertCreate.as_view(), name="alert-incoming"),
    path("network/inbox/", network_inbox.Inbox.as_view(), name="network-inbox"),
    path("schema/", SpectacularAPIView.as_view(**DOCS), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, not inline, as our
    # Content-Security-Policy requires.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", **DOCS),
        name="docs",
    ),
]
