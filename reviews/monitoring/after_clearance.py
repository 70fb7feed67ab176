"""After clearance: a cleared device goes on reporting serious incidents and notifying model
changes here while a post-clearance monitoring plan covers it, under the same rules as during
testing (statutory deadlines, safety signals, partner sharing, the change protocol).

A plan covers the device from the day a lead reviewer sets it up until its end date, inclusive
(MonitoringPlan.is_running): a plan due to start later already covers it, so an incident in the
meantime reaches the case's reviewers rather than waiting for the first checkpoint. Once the
plan has finished or was ended early — or when there never was one — the device is on the
market like any other, and its reports go to the regulator's ordinary routes, which the refusal
names.
"""

from django.utils import timezone

from devices.models import Application, ApplicationState
from postclearance.models import MonitoringPlan, MonitoringStatus
from postclearance.selectors import running

CLEARED = ApplicationState.CLEARED

# Where a cleared device's reports go when no monitoring plan covers it.
INCIDENTS_ELSEWHERE = (
    "Report serious incidents to the MHRA through its Manufacturer's Online Reporting "
    "Environment (MORE), within the same 2, 10 or 15 days of becoming aware."
)
CHANGES_ELSEWHERE = (
    "Tell the MHRA about a significant change to the device as for any device on the market."
)


def covering_plan(application: Application) -> MonitoringPlan | None:
    """The post-clearance monitoring plan that covers this cleared case today, if any."""
    if application.state != CLEARED:
        return None
    return running(MonitoringPlan.objects.filter(application=application)).first()


def uncovered_refusal(application: Application, *, subject: str, elsewhere: str) -> str:
    """Why a cleared case takes no `subject` here today, and where it goes instead."""
    latest = MonitoringPlan.objects.filter(application=application).first()
    if latest is None:
        why = "this device is not under one"
    elif latest.status == MonitoringStatus.ENDED_EARLY:
        why = (
            f"this device's monitoring was ended on {timezone.localtime(latest.ended_at):%-d %B %Y}"
        )
    else:
        why = f"this device's monitoring plan finished on {latest.ends_on:%-d %B %Y}"
    return (
        f"{subject} on a cleared device are taken here while a post-clearance monitoring plan "
        f"covers it, and {why}. {elsewhere}"
    )
