"""The regulator on a manufacturer's unsubmitted cases: a draft, and a draft withdrawn without
ever being submitted, and everything attached to them, are invisible to reviewers, lead reviewers
and administrators on every URL (the sweep of tests/security/test_permission_sweep.py)."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from airlock.roles import Role
from tests.factories import UserFactory
from tests.security.sweep_routes import World, all_routes, unknown_parameters, urls_for
from tests.security.sweep_visits import (
    Visitor,
    ask,
    fingerprint,
    problems_in_answer,
    session_client,
)
from tests.security.sweep_world import build_drafts

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_api_rate_limits")]


@pytest.fixture
def drafts(manufacturer, running_stack) -> World:
    return build_drafts(manufacturer)


@pytest.fixture
def regulators() -> dict[str, Visitor]:
    people = {
        "reviewer": UserFactory(role=Role.REVIEWER),
        "lead_reviewer": UserFactory(role=Role.LEAD_REVIEWER),
        "administrator": UserFactory(role=Role.ADMINISTRATOR),
    }
    return {
        name: Visitor(
            f"an unconflicted {name.replace('_', ' ')}, on a draft",
            session_client(person),
            is_reviewer=True,
            token=Token.objects.create(user=person).key,
        )
        for name, person in people.items()
    }


@pytest.mark.parametrize("who", ["reviewer", "lead_reviewer", "administrator"])
def test_no_url_shows_a_draft_or_anything_attached_to_it_to_the_regulator(drafts, regulators, who):
    """The regulator's side sees a case from its submission on. Evidence ids are sequential:
    a download (or signal) of a draft's record must be as invisible as the draft itself."""
    visitor = regulators[who]
    problems = []
    before = fingerprint(drafts)
    for route in all_routes():
        if unknown_parameters(route):
            continue
        token = visitor.token if route.namespace == "api" else None
        for url in urls_for(route, drafts):
            for method in ("GET", "POST"):
                try:
                    response = ask(visitor, method, url, token)
                except Exception as error:  # the point is to report every one, not stop
                    problems.append(f"{method} {url} as {visitor.label} raised {error!r}")
                    continue
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {visitor.label}: {response.status_code}")
                problems.extend(problems_in_answer(route, url, method, visitor, response, drafts))

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(drafts) == before, f"{visitor.label} changed a draft"


def test_the_draft_s_own_team_can_download_its_evidence(client, drafts, manufacturer):
    """The control for the sweep above: the draft's evidence is there, for its owners."""
    client.force_login(manufacturer)

    response = client.get(reverse("devices:evidence-download", args=[drafts.evidence[0].pk]))

    assert response.status_code == 200
