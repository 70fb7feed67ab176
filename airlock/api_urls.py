"""The JSON API under /api/: manufacturer systems and partner regulators.

The OpenAPI schema is at /api/schema/ and a browsable Swagger UI, served from our own static
files, at /api/docs/.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from devices import api as devices_api
from reviews import api as reviews_api

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
    path("alerts/feed/", reviews_api.AlertFeed.as_view(), name="alert-feed"),
    path("alerts/incoming/", reviews_api.IncomingAlertCreate.as_view(), name="alert-incoming"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, not inline, as our
    # Content-Security-Policy requires.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
