"""Reads for post-clearance monitoring, scoped through the case (a caller passes a case the
person may see, or a queryset of them)."""

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from devices.models import Application
from postclearance.models import MonitoringPlan, MonitoringStatus


def monitoring_plans_of(application: Application) -> list[MonitoringPlan]:
    """Every monitoring plan of the case, newest first, with thresholds and who acted."""
    return list(
        MonitoringPlan.objects.filter(application=application)
        .select_related("set_up_by", "ended_by")
        .prefetch_related("thresholds")
    )


def running_plan(plans: list[MonitoringPlan]) -> MonitoringPlan | None:
    return next((plan for plan in plans if plan.is_running), None)


def running(plans: QuerySet[MonitoringPlan]) -> QuerySet[MonitoringPlan]:
    """Active and not past their end: the plans that cover their cases today."""
    return plans.filter(status=MonitoringStatus.ACTIVE, ends_on__gte=timezone.localdate())


def under_monitoring(applications: QuerySet[Application]) -> QuerySet[MonitoringPlan]:
    """The running monitoring plans of these cases (active and not past their end)."""
    return running(MonitoringPlan.objects.filter(application__in=applications))


def is_under_monitoring() -> Exists:
    """For a query of cases: whether each has a running plan, as an EXISTS inside that same
    query (the queue's rows read it without a query of their own)."""
    return Exists(running(MonitoringPlan.objects.filter(application=OuterRef("pk"))))
