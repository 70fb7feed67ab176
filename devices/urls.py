from django.urls import path

from devices.views import (
    applications,
    devices,
    drafting,
    evidence,
    model_changes,
    plans,
    testing,
)

app_name = "devices"

urlpatterns = [
    path("dashboard/", applications.home, name="home"),
    # Devices
    path("devices/", devices.device_list, name="device-list"),
    path("devices/new/", devices.device_create, name="device-create"),
    path("devices/imdrf-category/", devices.imdrf_preview, name="imdrf-category"),
    path("devices/<int:pk>/", devices.device_detail, name="device-detail"),
    path("devices/<int:pk>/edit/", devices.device_edit, name="device-edit"),
    path("devices/<int:pk>/directory/", devices.device_directory, name="device-directory"),
    # Applications: the multi-step form, review and submit
    path("applications/", applications.application_list, name="application-list"),
    path("applications/new/", drafting.application_start, name="application-start"),
    path(
        "applications/<int:pk>/step/<int:step>/",
        drafting.application_step,
        name="application-step",
    ),
    path("applications/<int:pk>/review/", drafting.application_review, name="application-review"),
    path("applications/<int:pk>/submit/", drafting.application_submit, name="application-submit"),
    # The case and what the manufacturer can do on it
    path("applications/<int:pk>/", applications.application_detail, name="application-detail"),
    path(
        "applications/<int:pk>/timeline/",
        applications.application_timeline,
        name="application-timeline",
    ),
    path(
        "applications/<int:pk>/withdraw/",
        applications.application_withdraw,
        name="application-withdraw",
    ),
    path(
        "applications/<int:pk>/respond/",
        applications.information_respond,
        name="application-respond",
    ),
    path("applications/<int:pk>/messages/", applications.message_create, name="message-create"),
    path(
        "applications/<int:pk>/exit-report/",
        applications.application_exit_report,
        name="exit-report",
    ),
    # Evidence
    path("applications/<int:pk>/evidence/", evidence.evidence_upload, name="evidence-upload"),
    path("evidence/<int:pk>/download/", evidence.evidence_download, name="evidence-download"),
    # The testing plan: every version, and agreeing or returning the one sent
    path("applications/<int:pk>/testing-plan/", plans.testing_plan, name="testing-plan"),
    path("applications/<int:pk>/testing-plan/agree/", plans.plan_agree, name="testing-plan-agree"),
    path(
        "applications/<int:pk>/testing-plan/return/", plans.plan_return, name="testing-plan-return"
    ),
    # Controlled testing: checkpoint reports and incidents
    path("applications/<int:pk>/testing/", testing.testing, name="testing"),
    path(
        "applications/<int:pk>/checkpoints/<int:sequence>/report/",
        testing.checkpoint_report,
        name="checkpoint-report",
    ),
    path("applications/<int:pk>/incidents/new/", testing.incident_report, name="incident-report"),
    # The model's versions, and changes to it notified under the plan's change protocol
    path(
        "applications/<int:pk>/model-changes/",
        model_changes.model_changes,
        name="model-changes",
    ),
]
