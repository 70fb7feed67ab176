"""Who sees which case, asked of the selectors that every page, download and API call reads
through (`applications_for`, `devices_for`, `evidence_get`), not only of the pages."""

import pytest
from django.contrib.auth.models import Permission
from django.http import Http404

from airlock import logs
from devices.models import ApplicationState
from devices.selectors import applications_for, devices_for, evidence_get
from reviews.models import ConflictOfInterest
from tests.factories import DeviceFactory, make_application

pytestmark = pytest.mark.django_db

S = ApplicationState


@pytest.fixture
def cases(organisation, other_manufacturer):
    theirs = other_manufacturer.membership.organisation
    return {
        "draft": make_application(S.DRAFT, organisation=organisation),
        "submitted": make_application(S.SUBMITTED, organisation=organisation),
        "theirs": make_application(S.SCREENING, organisation=theirs),
        "their draft": make_application(S.DRAFT, organisation=theirs),
    }


def seen(user, cases) -> set[str]:
    visible = set(applications_for(user).values_list("pk", flat=True))
    return {name for name, case in cases.items() if case.pk in visible}


def test_it_shows_a_manufacturer_their_own_cases_drafts_included(manufacturer, cases):
    assert seen(manufacturer, cases) == {"draft", "submitted"}


def test_it_shows_reviewers_and_administrators_submitted_cases_only(reviewer, admin_user, cases):
    assert seen(reviewer, cases) == {"submitted", "theirs"}
    assert seen(admin_user, cases) == {"submitted", "theirs"}


def test_it_hides_the_cases_of_an_organisation_a_reviewer_is_conflicted_with(
    reviewer, lead_reviewer, organisation, cases
):
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="X")

    assert seen(reviewer, cases) == {"theirs"}
    assert seen(lead_reviewer, cases) == {"submitted", "theirs"}


def test_it_shows_nothing_to_someone_without_a_role_or_an_organisation(user_without_role, cases):
    assert seen(user_without_role, cases) == set()


def test_it_shows_nothing_to_a_member_who_may_not_act_for_the_organisation(manufacturer, cases):
    # A membership alone is not enough: the role must grant acting for the organisation.
    manufacturer.groups.clear()
    manufacturer.user_permissions.remove(
        *Permission.objects.filter(codename="act_for_organisation")
    )
    manufacturer = type(manufacturer).objects.get(pk=manufacturer.pk)

    assert seen(manufacturer, cases) == set()


def test_it_shows_the_regulator_a_device_only_through_a_case_it_may_see(
    reviewer, manufacturer, organisation, cases
):
    unused = DeviceFactory(organisation=organisation)

    regulator_sees = set(devices_for(reviewer))
    assert cases["submitted"].device in regulator_sees
    assert cases["draft"].device not in regulator_sees
    assert unused not in regulator_sees
    assert unused in set(devices_for(manufacturer))
    assert cases["theirs"].device not in set(devices_for(manufacturer))


def test_it_finds_evidence_only_on_a_case_the_user_may_see(manufacturer, other_manufacturer, cases):
    document = cases["submitted"].evidence.first()

    assert evidence_get(manufacturer, document.pk) == document
    # Every log line of the download names the case it belongs to.
    assert logs.case.get() == cases["submitted"].reference
    with pytest.raises(Http404):
        evidence_get(other_manufacturer, document.pk)
