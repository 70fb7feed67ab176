"""Lead reviewers and administrators set up and change calls in the site: every refusal of
calls.services.call_save is tested on the service itself (with its boundaries), then through
the pages; every change is audited."""

from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from calls.models import Call, CallEvent, CallEventKind, SelectionOutcome, SelectionScore
from calls.services import CallRefused, CallTerms, CriterionTerms, call_locks, call_save
from devices.models import ApplicationState
from ledger.models import ChainLink
from reviews.models import EligibilityCriterion, ScreeningAssessment, ScreeningOutcome
from tests.factories import (
    CallFactory,
    CohortFactory,
    UserFactory,
    make_application,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 6, 1, 12, 0))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _terms(**changes) -> CallTerms:
    terms = CallTerms(
        title="Phase 3: AI in diagnostics",
        challenge_areas="Drift in practice\nLarge language models",
        opens_at=NOW + timedelta(days=1),
        closes_at=NOW + timedelta(days=60),
        capacity=7,
        moderation_margin=15,
        cohort=CohortFactory(name="Phase 3 cohort"),
        criteria=(
            CriterionTerms(title="Novel regulatory question", weight=3),
            CriterionTerms(title="Patient and NHS benefit", weight=1, description="Measurable."),
        ),
    )
    return replace(terms, **changes)


def _refused(actor, terms, call_id=None) -> dict[str, str]:
    with pytest.raises(CallRefused) as refused:
        call_save(actor=actor, terms=terms, call_id=call_id)
    return refused.value.problems


# --- Setting up a call ----------------------------------------------------------------------


def test_it_sets_up_a_call_with_weighted_criteria_and_audits_it(frozen, lead_reviewer):
    call, changed = call_save(actor=lead_reviewer, terms=_terms())

    assert changed
    assert call.title == "Phase 3: AI in diagnostics"
    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [
        ("Novel regulatory question", 3),
        ("Patient and NHS benefit", 1),
    ]
    (event,) = CallEvent.objects.filter(call=call)
    assert (event.kind, event.actor) == (CallEventKind.CREATED, lead_reviewer)
    assert "Novel regulatory question (weight 3)" in event.detail
    assert ChainLink.objects.filter(source="calls.callevent", object_id=event.pk).exists()


def test_an_administrator_sets_up_a_call_too(frozen, admin_user):
    call, _ = call_save(actor=admin_user, terms=_terms())

    assert CallEvent.objects.get(call=call).actor == admin_user


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.MANUFACTURER, Role.OBSERVER, None])
def test_only_a_lead_reviewer_or_an_administrator_sets_up_a_call(frozen, role):
    with pytest.raises(PermissionError, match="Only a lead reviewer or an administrator"):
        call_save(actor=UserFactory(role=role), terms=_terms())

    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"closes_at": NOW + timedelta(days=1)}, "closes_at", "close after it opens"),
        ({"closes_at": NOW + timedelta(hours=12)}, "closes_at", "close after it opens"),
        ({"capacity": 0}, "capacity", "from 1 to 500"),
        ({"capacity": 501}, "capacity", "from 1 to 500"),
        ({"moderation_margin": 101}, "moderation_margin", "0 to 100"),
        ({"title": "  "}, "title", "Enter the call's title"),
        ({"challenge_areas": "\n \n"}, "challenge_areas", "at least one challenge area"),
        ({"criteria": ()}, "criteria", "at least one selection criterion"),
        ({"criteria": (CriterionTerms("A", 0),)}, "criteria", "weight from 1 to 10"),
        ({"criteria": (CriterionTerms("A", 11),)}, "criteria", "weight from 1 to 10"),
        ({"criteria": (CriterionTerms("A", 1), CriterionTerms("a ", 2))}, "criteria", "different"),
    ],
)
def test_it_refuses_terms_wrong_in_themselves_at_their_field(
    frozen, lead_reviewer, changes, field, message
):
    problems = _refused(lead_reviewer, _terms(**changes))

    assert message in problems[field]
    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()
    assert not CallEvent.objects.exists()


def test_the_boundaries_of_places_and_weights_are_accepted(frozen, lead_reviewer):
    call, _ = call_save(
        actor=lead_reviewer,
        terms=_terms(
            capacity=1,
            moderation_margin=0,
            criteria=(CriterionTerms("Low", 1), CriterionTerms("High", 10)),
        ),
    )

    assert call.capacity == 1
    assert sorted(c.weight for c in call.selection_criteria.all()) == [1, 10]


def test_a_new_call_must_close_later_than_now(frozen, lead_reviewer):
    problems = _refused(lead_reviewer, _terms(opens_at=NOW - timedelta(days=10), closes_at=NOW))
    assert problems == {"closes_at": "The closing time must be later than now"}

    call, _ = call_save(
        actor=lead_reviewer,
        terms=_terms(opens_at=NOW - timedelta(days=10), closes_at=NOW + timedelta(seconds=1)),
    )
    assert call.is_open


def test_a_title_another_call_has_is_refused_whatever_its_case(frozen, lead_reviewer):
    CallFactory(title="Phase 3: AI in Diagnostics")

    assert "Another call has this title" in _refused(lead_reviewer, _terms())["title"]


# --- Changing a call ------------------------------------------------------------------------


def _open_call(lead) -> Call:
    call, _ = call_save(
        actor=lead,
        terms=_terms(opens_at=NOW - timedelta(days=5), closes_at=NOW + timedelta(days=5)),
    )
    return call


def test_an_open_call_s_closing_time_can_be_extended_and_the_change_is_audited(
    frozen, lead_reviewer
):
    call = _open_call(lead_reviewer)
    later = call.closes_at + timedelta(days=7)

    _, changed = call_save(
        actor=lead_reviewer, terms=replace(CallTerms.of(call), closes_at=later), call_id=call.pk
    )

    call.refresh_from_db()
    assert changed
    assert call.closes_at == later
    event = CallEvent.objects.get(call=call, kind=CallEventKind.CHANGED)
    assert event.detail == "Closes: 6 June 2026 at 12:00 → 13 June 2026 at 12:00"


def test_an_open_call_s_closing_time_cannot_be_brought_forward(frozen, lead_reviewer):
    call = _open_call(lead_reviewer)

    problems = _refused(
        lead_reviewer,
        replace(CallTerms.of(call), closes_at=call.closes_at - timedelta(minutes=1)),
        call.pk,
    )

    assert "extended, not brought forward" in problems["closes_at"]
    call.refresh_from_db()
    assert call.closes_at == NOW + timedelta(days=5)
    assert CallEvent.objects.filter(call=call).count() == 1


def test_a_call_not_yet_open_can_have_its_dates_moved_either_way(frozen, lead_reviewer):
    call, _ = call_save(actor=lead_reviewer, terms=_terms())
    terms = replace(
        CallTerms.of(call),
        opens_at=NOW + timedelta(days=2),
        closes_at=NOW + timedelta(days=30),
    )

    call_save(actor=lead_reviewer, terms=terms, call_id=call.pk)

    call.refresh_from_db()
    assert (call.opens_at, call.closes_at) == (terms.opens_at, terms.closes_at)


def test_the_opening_time_is_fixed_from_the_moment_the_call_opens(lead_reviewer):
    with time_machine.travel(NOW, tick=False):
        call, _ = call_save(actor=lead_reviewer, terms=_terms())
    moved = replace(CallTerms.of(call), opens_at=call.opens_at + timedelta(hours=1))

    with time_machine.travel(call.opens_at - timedelta(seconds=1), tick=False):
        assert "opens_at" not in call_locks(call)
    with time_machine.travel(call.opens_at, tick=False):
        problems = _refused(lead_reviewer, moved, call.pk)

    assert problems["opens_at"].startswith("Fixed: the call opened on 2 June 2026 at 12:00")


def test_the_closing_time_is_fixed_from_the_moment_the_call_closes(lead_reviewer):
    with time_machine.travel(NOW, tick=False):
        call = _open_call(lead_reviewer)
    extended = replace(CallTerms.of(call), closes_at=call.closes_at + timedelta(days=1))

    with time_machine.travel(call.closes_at, tick=False):
        problems = _refused(lead_reviewer, extended, call.pk)
    with time_machine.travel(call.closes_at - timedelta(seconds=1), tick=False):
        call_save(actor=lead_reviewer, terms=extended, call_id=call.pk)

    assert problems["closes_at"].startswith("Fixed: the call closed on")
    call.refresh_from_db()
    assert call.closes_at == extended.closes_at


def _scored(call: Call, reviewer) -> None:
    application = make_application(ApplicationState.SCREENING, call=call)
    SelectionScore.objects.create(
        application=application, reviewer=reviewer, scores={}, total=50, comment="x"
    )


def test_criteria_weights_and_margin_are_fixed_once_scoring_has_started(
    frozen, lead_reviewer, reviewer
):
    call = _open_call(lead_reviewer)
    _scored(call, reviewer)
    terms = CallTerms.of(call)
    reweighted = (replace(terms.criteria[0], weight=5), terms.criteria[1])

    problems = _refused(
        lead_reviewer, replace(terms, criteria=reweighted, moderation_margin=20), call.pk
    )

    assert problems == {
        "criteria": "Fixed: applications have been scored against them.",
        "moderation_margin": "Fixed: applications have been scored.",
    }
    assert [c.weight for c in call.selection_criteria.all()] == [3, 1]
    # The wording of the call can still change.
    call_save(actor=lead_reviewer, terms=replace(terms, title="Phase 3 (renamed)"), call_id=call.pk)
    call.refresh_from_db()
    assert call.title == "Phase 3 (renamed)"


def test_criteria_can_be_changed_until_scoring_starts(frozen, lead_reviewer):
    call = _open_call(lead_reviewer)
    terms = replace(CallTerms.of(call), criteria=(CriterionTerms("Readiness", 2),))

    call_save(actor=lead_reviewer, terms=terms, call_id=call.pk)

    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [("Readiness", 2)]
    event = CallEvent.objects.get(call=call, kind=CallEventKind.CHANGED)
    assert "Selection criteria: Novel regulatory question (weight 3); " in event.detail
    assert event.detail.endswith("→ Readiness (weight 2)")


def test_eligibility_criteria_are_fixed_once_screening_has_started(frozen, lead_reviewer, reviewer):
    call = _open_call(lead_reviewer)
    criterion = EligibilityCriterion.objects.create(code="scope", title="In scope", question="?")
    assert call_locks(call).reasons.keys() == {"opens_at"}
    ScreeningAssessment.objects.create(
        application=make_application(ApplicationState.SUBMITTED, call=call),
        criterion=criterion,
        outcome=ScreeningOutcome.MET,
        comment="Met.",
        assessor=reviewer,
    )

    problems = _refused(
        lead_reviewer,
        replace(CallTerms.of(call), eligibility_criteria=(criterion,)),
        call.pk,
    )

    assert problems == {
        "eligibility_criteria": "Fixed: applications have been screened against them."
    }


def test_capacity_never_goes_below_the_number_selected_and_the_cohort_is_fixed(
    lead_reviewer,
):
    with time_machine.travel(NOW, tick=False):
        call = _open_call(lead_reviewer)
    for _ in range(3):
        SelectionOutcome.objects.create(
            application=make_application(ApplicationState.ACCEPTED, call=call), selected=True
        )
    Call.objects.filter(pk=call.pk).update(selection_made_at=NOW + timedelta(days=6))
    call.refresh_from_db()
    terms = CallTerms.of(call)

    with time_machine.travel(NOW + timedelta(days=7), tick=False):
        below = _refused(lead_reviewer, replace(terms, capacity=2), call.pk)
        cohort = _refused(lead_reviewer, replace(terms, cohort=CohortFactory()), call.pk)
        call_save(actor=lead_reviewer, terms=replace(terms, capacity=3), call_id=call.pk)

    assert below == {"capacity": "3 applications are selected already: offer at least 3 places"}
    assert cohort == {"cohort": "Fixed: the selection is made, and those selected are in it."}
    call.refresh_from_db()
    assert call.capacity == 3


def test_saving_a_call_unchanged_records_nothing(frozen, lead_reviewer):
    call = _open_call(lead_reviewer)

    _, changed = call_save(actor=lead_reviewer, terms=CallTerms.of(call), call_id=call.pk)

    assert not changed
    assert CallEvent.objects.filter(call=call).count() == 1


def test_a_reviewer_cannot_change_a_call(frozen, lead_reviewer, reviewer):
    call = _open_call(lead_reviewer)

    with pytest.raises(PermissionError):
        call_save(actor=reviewer, terms=replace(CallTerms.of(call), capacity=9), call_id=call.pk)

    call.refresh_from_db()
    assert call.capacity == 7


# --- The pages ------------------------------------------------------------------------------


def _post(**changes) -> dict:
    data = {
        "title": "Phase 3: AI in diagnostics",
        "challenge_areas": "Drift in practice",
        "opens_on_day": "2",
        "opens_on_month": "6",
        "opens_on_year": "2026",
        "opens_time": "09:00",
        "closes_on_day": "31",
        "closes_on_month": "7",
        "closes_on_year": "2026",
        "closes_time": "17:30",
        "capacity": "7",
        "moderation_margin": "15",
        "cohort": str(CohortFactory(name="Phase 3 cohort").pk),
        "criteria-TOTAL_FORMS": "2",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-title": "Novel regulatory question",
        "criteria-0-weight": "3",
        "criteria-0-description": "",
        "criteria-1-title": "",
        "criteria-1-weight": "",
        "criteria-1-description": "",
    }
    return data | changes


def _persona(name: str, request):
    if name in {"contributor", "viewer"}:
        manufacturer = request.getfixturevalue("manufacturer")
        return make_manufacturer(manufacturer.membership.organisation, org_role=name)
    if name == "observer":
        return UserFactory(role=Role.OBSERVER)
    return request.getfixturevalue(name)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("manufacturer", 403),
        ("contributor", 403),
        ("viewer", 403),
        ("observer", 403),
        ("reviewer", 403),
        ("lead_reviewer", 200),
        ("admin_user", 200),
    ],
)
@pytest.mark.parametrize("route", ["calls:create", "calls:edit"])
def test_only_leads_and_administrators_open_the_call_pages(
    client, request, frozen, persona, status, route
):
    call = CallFactory(opens_at=NOW + timedelta(days=1))
    client.force_login(_persona(persona, request))
    url = reverse(route, args=[call.pk] if route == "calls:edit" else [])

    assert client.get(url).status_code == status
    assert client.post(url, _post()).status_code == (302 if status == 200 else status)
    assert Call.objects.filter(title="Phase 3: AI in diagnostics").exists() == (status == 200)


@pytest.mark.parametrize("route", ["calls:create", "calls:edit"])
def test_an_anonymous_visitor_is_sent_to_sign_in(client, route):
    call = CallFactory()

    response = client.get(reverse(route, args=[call.pk] if route == "calls:edit" else []))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_lead_sets_up_a_call_on_the_page(client, frozen, lead_reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), _post())

    call = Call.objects.get(title="Phase 3: AI in diagnostics")
    assert response.url == reverse("calls:edit", args=[call.pk])
    assert timezone.localtime(call.opens_at).strftime("%d %m %Y %H:%M") == "02 06 2026 09:00"
    assert timezone.localtime(call.closes_at).strftime("%d %m %Y %H:%M") == "31 07 2026 17:30"
    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [
        ("Novel regulatory question", 3)
    ]
    page = client.get(response.url).content.decode()
    assert "The call “Phase 3: AI in diagnostics” is set up." in page
    assert "Call set up" in page


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        ({"closes_on_month": "6", "closes_on_day": "1"}, "closes_on", "close after it opens"),
        ({"opens_time": "25:00"}, "opens_time", "Enter a real time"),
        ({"closes_on_day": "31", "closes_on_month": "2"}, "closes_on", "Enter a real date"),
        ({"capacity": "0"}, "capacity", "Offer at least 1 place"),
        ({"criteria-0-weight": "0"}, "criteria-0-weight", "weight from 1 to 10"),
        ({"criteria-0-weight": ""}, "criteria-0-weight", "weight from 1 to 10"),
        ({"criteria-0-title": "", "criteria-0-weight": ""}, "criteria", "at least one"),
    ],
)
def test_bad_input_shows_field_errors_and_keeps_what_was_typed(
    client, frozen, lead_reviewer, changes, field_id, message
):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), _post(**changes))

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert message in page
    assert 'value="Phase 3: AI in diagnostics"' in page
    assert not Call.objects.filter(title="Phase 3: AI in diagnostics").exists()


def test_an_empty_post_shows_what_is_required(client, lead_reviewer):
    client.force_login(lead_reviewer)

    response = client.post(reverse("calls:create"), {})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Enter title" in page
    assert "Enter closing date" in page


def test_a_refusal_of_the_service_shows_at_its_field(client, lead_reviewer, reviewer):
    with time_machine.travel(NOW, tick=False):
        call = _open_call(lead_reviewer)
    client.force_login(lead_reviewer)
    url = reverse("calls:edit", args=[call.pk])

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        form = client.get(url).content.decode()
        response = client.post(
            url,
            _post(
                title=call.title,
                closes_on_day="5",
                closes_on_month="6",
                closes_time="12:00",
                **{
                    "criteria-TOTAL_FORMS": "4",
                    "criteria-INITIAL_FORMS": "2",
                    "criteria-1-title": "Patient and NHS benefit",
                    "criteria-1-weight": "1",
                    "criteria-1-description": "Measurable.",
                    "criteria-2-title": "",
                    "criteria-2-weight": "",
                    "criteria-3-title": "",
                    "criteria-3-weight": "",
                    "cohort": str(call.cohort_id),
                },
            ),
        )

    # Opened already: the opening date and time are shown fixed, with the reason.
    assert "Fixed: the call opened on 27 May 2026 at 12:00." in form
    assert response.status_code == 200
    assert "extended, not brought forward" in response.content.decode()
    call.refresh_from_db()
    assert call.closes_at == NOW + timedelta(days=5)


def test_once_scored_the_criteria_are_shown_not_offered(client, frozen, lead_reviewer, reviewer):
    call = _open_call(lead_reviewer)
    _scored(call, reviewer)
    client.force_login(lead_reviewer)

    page = client.get(reverse("calls:edit", args=[call.pk])).content.decode()

    assert "Fixed: applications have been scored against them." in page
    assert 'name="criteria-TOTAL_FORMS"' not in page


def test_the_calls_page_offers_leads_the_way_to_set_up_and_change_calls(
    client, lead_reviewer, reviewer
):
    call = CallFactory()
    client.force_login(reviewer)
    assert "Set up a call" not in client.get(reverse("calls:list")).content.decode()

    client.force_login(lead_reviewer)
    page = client.get(reverse("calls:list")).content.decode()

    assert reverse("calls:create") in page
    assert reverse("calls:edit", args=[call.pk]) in page
