"""Serious incident reports and their statutory reporting clocks."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from airlock.models import User
from devices.model_versions import model_version_named
from devices.models import (
    INCIDENT_REPORT_DAYS,
    Application,
    ApplicationState,
    IncidentReport,
    IncidentSeverity,
    contributor_refusal,
    may_contribute,
)
from devices.services import TransitionRefused, lock_application
from reviews.models import (
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from reviews.monitoring import TESTING
from reviews.monitoring.after_clearance import (
    CLEARED,
    INCIDENTS_ELSEWHERE,
    covering_plan,
    uncovered_refusal,
)
from reviews.monitoring.signals import signal_notify

INCIDENT_SIGNAL_SEVERITY = {
    IncidentSeverity.PUBLIC_HEALTH_THREAT: SignalSeverity.CRITICAL,
    IncidentSeverity.DEATH_OR_DETERIORATION: SignalSeverity.CRITICAL,
    IncidentSeverity.OTHER_SERIOUS: SignalSeverity.HIGH,
}
INCIDENT_STATES = {TESTING, ApplicationState.SUSPENDED, ApplicationState.EVIDENCE_REVIEW}


def incident_refusal(application: Application) -> str:
    """Why the case takes no incident report today, in words; empty when it takes one: from
    the start of testing to the decision, and on a cleared device while a post-clearance
    monitoring plan covers it (reviews.monitoring.after_clearance)."""
    if application.state in INCIDENT_STATES:
        return ""
    if application.state == CLEARED:
        if covering_plan(application) is not None:
            return ""
        return uncovered_refusal(
            application, subject="Incident reports", elsewhere=INCIDENTS_ELSEWHERE
        )
    return (
        "Incident reports are taken once controlled testing has begun; this application is "
        f"{application.state_enum.in_words}."
    )


def incident_report_submit(
    *,
    actor: User,
    application_id: int,
    severity: str,
    occurred_on: date,
    aware_on: date,
    description: str,
    actions_taken: str = "",
    model_version: str = "",
) -> IncidentReport:
    """Record a serious incident and raise a safety signal for the reviewers.

    Taken during testing and evidence review, and after clearance while a monitoring plan
    covers the device (`incident_refusal`). The statutory reporting deadline (2, 10 or 15
    days from awareness) is computed on save; a late report is still accepted and says so in
    the signal.
    """
    today = timezone.localdate()
    errors = {}
    if occurred_on > today:
        errors["occurred_on"] = "The incident date cannot be in the future."
    if aware_on > today:
        errors["aware_on"] = "The date you became aware cannot be in the future."
    elif aware_on < occurred_on:
        errors["aware_on"] = "You cannot have become aware before the incident happened."
    if not description.strip():
        errors["description"] = "Describe what happened."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        application = lock_application(application_id)
        if not may_contribute(actor, application.organisation_id):
            raise PermissionError(contributor_refusal(actor, application.organisation))
        refusal = incident_refusal(application)
        if refusal:
            raise TransitionRefused(refusal)
        incident = IncidentReport.objects.create(
            application=application,
            reported_by=actor,
            severity=severity,
            occurred_on=occurred_on,
            aware_on=aware_on,
            description=description.strip(),
            actions_taken=actions_taken.strip(),
            # The version in use unless the report names another (devices.model_versions).
            model_version=model_version_named(application.device, model_version),
        )
        days = INCIDENT_REPORT_DAYS[IncidentSeverity(severity)]
        timing = (
            f"Reported late: due within {days} days of awareness, by "
            f"{incident.report_due_on:%-d %B %Y}."
            if incident.reported_late
            else f"Reported within the {days}-day statutory period."
        )
        signal = SafetySignal.objects.create(
            application=application,
            incident=incident,
            severity=INCIDENT_SIGNAL_SEVERITY[IncidentSeverity(severity)],
            source=SignalSource.INCIDENT,
            title=f"Incident: {incident.get_severity_display()} ({application.reference})"[:200],
            description=f"{incident.description}\n\n{timing}",
        )

        signal_notify(signal)
    return incident
