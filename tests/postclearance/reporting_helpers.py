"""A cleared adaptive device with an agreed change protocol, and a monitoring plan for it:
shared by the service and page tests of reporting after clearance."""

from datetime import date, timedelta
from decimal import Decimal

from devices.models import AiType, Application, ApplicationState
from postclearance.models import MonitoringPlan
from postclearance.services import MonitoringTerms, monitoring_plan_set_up
from reviews.models import ChangeKind, Metric
from reviews.plan_terms import ThresholdSpec
from tests.factories import make_application


def cleared_adaptive(organisation, reviewer) -> Application:
    """A cleared adaptive device whose testing plan agreed a change protocol: retraining
    allowed, with a validation report."""
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    device = application.device
    device.ai_type = AiType.ADAPTIVE
    device.save()
    plan = application.testing_plan
    plan.allowed_change_kinds = [ChangeKind.RETRAINING]
    plan.change_evidence = "Validation report"
    plan.save()
    # The state is written directly, as the factory does: the clearance is tested elsewhere.
    Application.objects.filter(pk=application.pk).update(state=ApplicationState.CLEARED)
    application.refresh_from_db()
    return application


def set_up(application, lead, *, starts_on: date, days: int = 90) -> MonitoringPlan:
    return monitoring_plan_set_up(
        actor=lead,
        application_id=application.pk,
        terms=MonitoringTerms(
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=days),
            cadence_days=30,
            thresholds=[ThresholdSpec(Metric.SENSITIVITY, "gte", Decimal("0.90"), Decimal("0.80"))],
        ),
    )
