"""Mounted under /reviews/ beside the reviews app: these are the regulator's pages."""

from django.urls import path

from findings import views

app_name = "findings"

urlpatterns = [
    path("applications/<int:pk>/findings/", views.case_findings, name="case-findings"),
    path("findings/", views.register, name="register"),
    path("findings/<int:pk>/", views.finding_edit, name="finding-edit"),
    path("themes/", views.themes, name="themes"),
    path("themes/<int:pk>/", views.theme_detail, name="theme"),
    path("themes/<int:pk>/findings/", views.theme_finding_add, name="theme-finding-add"),
    path(
        "themes/<int:pk>/findings/remove/",
        views.theme_finding_remove,
        name="theme-finding-remove",
    ),
    path("programme-reports/", views.programme_reports, name="programme-reports"),
    path(
        "programme-reports/<int:pk>/",
        views.programme_report_download,
        name="programme-report-download",
    ),
    path("cohorts/<int:pk>/programme-report/", views.programme_report, name="programme-report"),
    path(
        "cohorts/<int:pk>/programme-report/pdf/",
        views.programme_report_pdf,
        name="programme-report-pdf",
    ),
]
