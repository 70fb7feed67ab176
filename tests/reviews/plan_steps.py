"""The steps of a testing plan's agreement, as the plan-record tests take them: a plan's
details, a case accepted with no plan yet, each step called on reviews.plans, and the case's
audit rows as tuples."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from devices.models import ApplicationState
from reviews.models import AuditEntry
from reviews.plan_terms import PlanDetails, ThresholdSpec
from reviews.plans import plan_version_agree, plan_version_return, plan_version_send
from tests.factories import make_application

S = ApplicationState
SENSITIVITY = ThresholdSpec("sensitivity", "gte", Decimal("0.9"), Decimal("0.8"))
SPECIFICITY = ThresholdSpec("specificity", "gte", Decimal("0.85"), Decimal("0.7"), "interval")
STALE = "Someone else changed this application while you were looking at it"


def plan_details(**changes) -> PlanDetails:
    today = timezone.localdate()
    terms = {
        "environment": "virtual",
        "starts_on": today + timedelta(days=7),
        "ends_on": today + timedelta(days=187),
        "cadence_days": 28,
        "nhs_sites": "Leeds",
        "notes": "Weekly calls.",
        "thresholds": [SENSITIVITY, SPECIFICITY],
    }
    return PlanDetails(**{**terms, **changes})


def case_accepted(organisation, reviewer):
    """Accepted, assigned to `reviewer`, with no plan yet."""
    application = make_application(S.ACCEPTED, organisation=organisation, assignee=reviewer)
    application.testing_plan.delete()
    application.plan_versions.all().delete()
    application.refresh_from_db()
    return application


def audit_rows(application):
    return list(
        AuditEntry.objects.filter(application=application)
        .order_by("pk")
        .values_list("actor", "action", "summary", "detail", "plan_version__number")
    )


def send(application, actor):
    return plan_version_send(application_id=application.pk, actor=actor)


def agree(application, actor, version, **kwargs):
    return plan_version_agree(
        application_id=application.pk,
        actor=actor,
        number=version.number,
        revision=version.revision,
        **kwargs,
    )


def give_back(application, actor, version, comments="Start later.", **kwargs):
    return plan_version_return(
        application_id=application.pk,
        actor=actor,
        number=version.number,
        revision=version.revision,
        comments=comments,
        **kwargs,
    )
