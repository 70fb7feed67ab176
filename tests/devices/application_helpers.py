"""What the manufacturer's application page tests share: their drafts."""

from devices.models import ApplicationState
from tests.factories import ApplicationFactory, make_application


def own_application(manufacturer, state=ApplicationState.DRAFT, **kwargs):
    return make_application(state, organisation=manufacturer.membership.organisation, **kwargs)


def blank_draft(manufacturer):
    return ApplicationFactory(
        organisation=manufacturer.membership.organisation,
        device=None,
        regulatory_challenge="",
        sandbox_environment="",
        patient_benefit="",
        maturity="",
        nhs_sites="",
        created_by=manufacturer,
    )
