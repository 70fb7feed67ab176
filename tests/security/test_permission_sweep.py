"""Every routed URL x every outsider x one organisation's records: never the records' data.

The URLs come from django.urls.get_resolver(), so a page is swept the moment it is routed; no
one has to remember to add it here. Each URL parameter is filled from PARAMETERS (and `pk`
from PK_MODELS, by the path segment before it; both in tests/security/sweep_routes.py) with
records that belong to the manufacturer persona's organisation (tests/security/sweep_world.py).
A parameter the tables do not know fails test_every_url_parameter_has_a_value, which says what
to add: no page can escape the sweep.

Each URL is requested with GET and with an empty POST, and lists and exports also by GET
under each of their QUERIES (every status, a search, the audit export's formats), as:
- an anonymous visitor: sent to sign in, or 401/403/404/405;
- another organisation's manufacturer (session, and its API token on the API);
- a reviewer and a lead reviewer who declared a conflict of interest with the organisation;
- the organisation's own manufacturer, on the reviewer-only pages;
- an unconflicted reviewer, lead reviewer and administrator, on a draft and on a draft
  withdrawn without ever being submitted (still the manufacturer's own, whatever hangs off
  them: evidence, messages, a checkpoint, a signal): tests/security/test_draft_sweep.py.
For a URL naming one of the organisation's records the answer must be 403, 404 or 405 (the
wrong method reveals nothing). For any URL, the body must never contain the organisation's
case references or the marker written into every one of its records, and nothing may raise.
"""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from airlock.roles import Role
from reviews.models import ConflictOfInterest
from tests.factories import UserFactory
from tests.security.sweep_routes import (
    MARKER,
    QUERIES,
    Route,
    World,
    all_routes,
    unknown_parameters,
    urls_for,
    visits_for,
)
from tests.security.sweep_visits import (
    Visitor,
    ask,
    fingerprint,
    problems_in_answer,
    response_text,
    session_client,
)
from tests.security.sweep_world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_api_rate_limits")]


@pytest.fixture
def world(manufacturer, running_stack) -> World:
    return build_world(manufacturer)


def _conflicted(role: Role, organisation):
    user = UserFactory(role=role)
    ConflictOfInterest.objects.create(
        reviewer=user, organisation=organisation, reason="Former employee."
    )
    return user


@pytest.fixture
def visitors(world, manufacturer, other_manufacturer) -> dict[str, Visitor]:
    organisation = manufacturer.membership.organisation
    reviewer = _conflicted(Role.REVIEWER, organisation)
    lead = _conflicted(Role.LEAD_REVIEWER, organisation)
    return {
        "anonymous": Visitor("anonymous", Client(), signed_in=False),
        "other_manufacturer": Visitor(
            "another organisation's manufacturer",
            session_client(other_manufacturer),
            token=Token.objects.create(user=other_manufacturer).key,
            # For them the record does not exist.
            api_refusals=frozenset({404, 405}),
        ),
        "conflicted_reviewer": Visitor(
            "a reviewer conflicted with the organisation",
            session_client(reviewer),
            is_reviewer=True,
            token=Token.objects.create(user=reviewer).key,
        ),
        "conflicted_lead_reviewer": Visitor(
            "a lead reviewer conflicted with the organisation",
            session_client(lead),
            is_reviewer=True,
            token=Token.objects.create(user=lead).key,
        ),
        "owner_on_reviewer_pages": Visitor(
            "the organisation's own manufacturer, on a reviewer-only page",
            session_client(manufacturer),
            only_namespace="reviews",
        ),
        "observer": Visitor(
            "an observer granted none of the organisation's cases",
            session_client(UserFactory(role=Role.OBSERVER)),
        ),
        **{
            f"{membership.role}_on_reviewer_pages": Visitor(
                f"the organisation's own {membership.role}, on a reviewer-only page",
                session_client(membership.user),
                only_namespace="reviews",
            )
            for membership in world.memberships
        },
    }


# --- The tests -------------------------------------------------------------------------------


def test_every_url_parameter_has_a_value():
    problems = [problem for route in all_routes() for problem in unknown_parameters(route)]

    assert not problems, "\n".join(problems)


def test_a_url_with_an_unknown_parameter_fails_with_what_to_add():
    widget = Route("devices:widget", "widgets/<int:pk>/")
    invite = Route("devices:invite", "invites/<slug:code>/")

    (pk_problem,) = unknown_parameters(widget)
    (token_problem,) = unknown_parameters(invite)

    assert "add 'widgets' to PK_MODELS" in pk_problem
    assert "add 'code' to PARAMETERS" in token_problem


def test_the_sweep_reaches_every_part_of_the_site():
    names = {route.name for route in all_routes()}

    assert {"devices:application-detail", "reviews:application", "api:application"} <= names
    assert {"two-factor-setup", "home", "help"} <= names
    assert not any(name.startswith("admin:") for name in names)
    assert "login" not in names


def test_the_marker_is_on_the_pages_its_owners_see(client, world, manufacturer, lead_reviewer):
    """The control for the sweep: the records' marker and references do reach the people
    entitled to them, so their absence elsewhere means something."""
    testing = next(a for a in world.applications if a.state == "in_controlled_testing")
    client.force_login(manufacturer)
    page = response_text(client.get(reverse("devices:application-detail", args=[testing.pk])))
    assert MARKER in page
    assert testing.reference in page

    client.force_login(lead_reviewer)
    for url in (
        reverse("reviews:application", args=[testing.pk]),
        reverse("reviews:signal-detail", args=[world.signal.pk]),
        reverse("reviews:queue"),
        reverse("findings:case-findings", args=[testing.pk]),
        reverse("findings:register"),
        reverse("findings:theme", args=[world.themes[0].pk]),
        reverse("findings:programme-report", args=[world.cohorts[0].pk]),
    ):
        assert MARKER in response_text(client.get(url)) or testing.reference in response_text(
            client.get(url)
        )

    token = Token.objects.create(user=manufacturer).key
    api = client.get(
        reverse("api:application", args=[testing.reference]),
        headers={"Authorization": f"Token {token}"},
    )
    assert api.status_code == 200
    assert testing.reference in response_text(api)


def test_the_sweep_s_query_strings_name_routes_that_exist():
    names = {route.name for route in all_routes()}

    assert set(QUERIES) <= names, f"QUERIES names no route: {sorted(set(QUERIES) - names)}"


def test_the_query_strings_reach_the_records_for_those_entitled(client, world, lead_reviewer):
    """The control for the query strings: a lead reviewer free of conflict finds the
    organisation's records under each, so their absence for an outsider means something."""
    client.force_login(lead_reviewer)
    blind = []
    for route in all_routes():
        if route.name not in QUERIES:
            continue
        for _method, url in visits_for(route, world):
            # The notifications are the manufacturer's and their reviewer's; the audit rows
            # about no case are, by design, about none of the organisation's cases.
            if "?" not in url or route.name == "notifications:list" or "scope=" in url:
                continue
            body = response_text(client.get(url))
            if MARKER not in body and not any(ref in body for ref in world.references):
                blind.append(url)

    assert not blind, f"these show the lead reviewer none of the records: {blind}"


def test_a_conflicted_reader_is_shown_none_of_the_partner_alert_records(
    client, world, visitors, lead_reviewer
):
    """The signal is shared with two partners, one of whose receipts carries the marker: the
    signal's page, the dashboard's list of unacknowledged alerts and the digest follow the
    case for a conflicted reviewer (the sweep below asks every URL; this names the pages the
    partner records appear on, so a world without them fails here rather than passing)."""
    assert world.signal.receipts.filter(note__contains=MARKER).exists()
    assert world.signal.deliveries.filter(status="delivered").count() == 2
    client.force_login(lead_reviewer)
    assert "Silent Regulator" in response_text(client.get(reverse("reviews:dashboard")))
    detail = response_text(client.get(reverse("reviews:signal-detail", args=[world.signal.pk])))
    assert f"Seen on our market too. {MARKER}" in detail
    for who in ("conflicted_reviewer", "conflicted_lead_reviewer"):
        outsider = visitors[who].client
        signal_page = reverse("reviews:signal-detail", args=[world.signal.pk])
        assert outsider.get(signal_page).status_code == 404
        dashboard = response_text(outsider.get(reverse("reviews:dashboard")))
        assert MARKER not in dashboard
        assert "Silent Regulator" not in dashboard


@pytest.mark.parametrize(
    "who",
    [
        "anonymous",
        "other_manufacturer",
        "conflicted_reviewer",
        "conflicted_lead_reviewer",
        "owner_on_reviewer_pages",
        "contributor_on_reviewer_pages",
        "viewer_on_reviewer_pages",
        "observer",
    ],
)
def test_no_url_shows_an_organisation_s_records_to_an_outsider(world, visitors, who):
    visitor = visitors[who]
    problems = []
    swept = 0
    before = fingerprint(world)
    for route in all_routes():
        if unknown_parameters(route) or not visitor.covers(route):
            continue
        token = visitor.token if route.namespace == "api" else None
        for method, url in visits_for(route, world):
            swept += 1
            try:
                response = ask(visitor, method, url, token)
            except Exception as error:  # the point is to report every one, not stop
                problems.append(f"{method} {url} as {visitor.label} raised {error!r}")
                continue
            if response.status_code >= 500:
                problems.append(f"{method} {url} as {visitor.label}: {response.status_code}")
            problems.extend(problems_in_answer(route, url, method, visitor, response, world))

    assert swept > 100
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(world) == before, f"{visitor.label} changed the organisation's records"


def test_a_viewer_changes_nothing_anywhere(world):
    """A viewer reads their organisation's pages; every POST on the manufacturer's side and
    the team's pages is refused (never a 500), and nothing changes."""
    viewer = next(m.user for m in world.memberships if m.role == "viewer")
    client = session_client(viewer)
    problems = []
    before = fingerprint(world)
    for route in all_routes():
        if unknown_parameters(route) or route.namespace == "api":
            continue
        for url in urls_for(route, world):
            for method in ("GET", "POST"):
                try:
                    response = client.post(url, {}) if method == "POST" else client.get(url)
                except Exception as error:  # the point is to report every one, not stop
                    problems.append(f"{method} {url} as a viewer raised {error!r}")
                    continue
                status = response.status_code
                if status >= 500:
                    problems.append(f"{method} {url} as a viewer: {status}")
                refused = status in {403, 404, 405}
                # The portal and the team's pages; sign-up's public forms change nothing of
                # the organisation's (a signed-in person is sent home).
                portal = route.namespace == "devices" or route.path.startswith("team/")
                if method == "POST" and portal and not refused:
                    problems.append(f"POST {url} ({route.name}) as a viewer: {status}")

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(world) == before, "a viewer changed the organisation's records"


def test_a_viewer_reads_the_organisation_s_cases(client, world):
    """The control for the test above: the viewer is refused changes, not reading."""
    viewer = next(m.user for m in world.memberships if m.role == "viewer")
    client.force_login(viewer)
    testing = next(a for a in world.applications if a.state == "in_controlled_testing")

    page = client.get(reverse("devices:application-detail", args=[testing.pk]))

    assert page.status_code == 200
    assert testing.reference in response_text(page)
