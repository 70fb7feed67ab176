from django.urls import path

from reviews.views import (
    case,
    conflicts,
    decisions,
    exit_report,
    model_changes,
    monitoring,
    plans,
    queue,
    screening,
    testing,
)

app_name = "reviews"

urlpatterns = [
    path("", queue.home, name="home"),
    path("queue/", queue.queue, name="queue"),
    path("queue/export.csv", queue.queue_export, name="queue-export"),
    path("queue/assign/", queue.bulk_assign, name="bulk-assign"),
    path("conflicts/", conflicts.conflicts, name="conflicts"),
    path("countersignatures/", decisions.countersignatures, name="countersignatures"),
    path("applications/<int:pk>/", case.application_detail, name="application"),
    path("applications/<int:pk>/claim/", case.claim, name="claim"),
    path("applications/<int:pk>/assign/", case.assign, name="assign"),
    path("applications/<int:pk>/notes/", case.note_add, name="note-add"),
    path("applications/<int:pk>/messages/", case.message_add, name="message-add"),
    path("applications/<int:pk>/actions/<slug:action>/", case.transition, name="transition"),
    path("applications/<int:pk>/screening/", screening.screening, name="screening"),
    path("applications/<int:pk>/screening/accept/", screening.accept, name="accept"),
    path("applications/<int:pk>/screening/reject/", screening.reject, name="reject"),
    path(
        "applications/<int:pk>/information-request/",
        screening.information_request,
        name="information-request",
    ),
    path("applications/<int:pk>/testing-plan/", plans.testing_plan, name="testing-plan"),
    path("applications/<int:pk>/testing-plan/send/", plans.send, name="testing-plan-send"),
    path(
        "applications/<int:pk>/testing-plan/withdraw/",
        plans.withdraw,
        name="testing-plan-withdraw",
    ),
    path(
        "applications/<int:pk>/evidence-review/",
        decisions.evidence_review,
        name="evidence-review",
    ),
    path(
        "applications/<int:pk>/complete-testing/",
        testing.complete_testing,
        name="complete-testing",
    ),
    path("applications/<int:pk>/decision/", decisions.decision, name="decision"),
    path("applications/<int:pk>/countersign/", decisions.countersign, name="countersign"),
    path(
        "applications/<int:pk>/withdraw-clearance/",
        decisions.withdraw_clearance,
        name="withdraw-clearance",
    ),
    path("applications/<int:pk>/exit-report/", exit_report.exit_report, name="exit-report"),
    path("applications/<int:pk>/performance/", monitoring.performance, name="performance"),
    path("applications/<int:pk>/signals/new/", monitoring.signal_raise, name="signal-raise"),
    path("dashboard/", monitoring.dashboard, name="dashboard"),
    path("signals/", monitoring.signal_list, name="signals"),
    path("model-changes/<int:pk>/", model_changes.model_change, name="model-change"),
    path("signals/<int:pk>/", monitoring.signal_detail, name="signal-detail"),
    path("signals/<int:pk>/share/", monitoring.signal_share, name="signal-share"),
    path("signals/<int:pk>/status/", monitoring.signal_status, name="signal-status"),
    path("alerts/incoming/", monitoring.incoming_alerts, name="incoming-alerts"),
]
