"""Selection within a call: independent scores hidden until both have scored, disagreements
flagged and moderated, the lead reviewer's choice up to the capacity through the state
machine, the others told why; audited; the report."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from calls import selection
from calls.models import SelectionCriterion, SelectionEvent, SelectionEventKind, SelectionScore
from devices.models import ApplicationEvent, ApplicationState
from devices.services import TransitionRefused
from reviews.models import ConflictOfInterest
from tests.factories import CallFactory, UserFactory, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(db):
    call = CallFactory(capacity=1)
    SelectionCriterion.objects.create(call=call, title="Novel question", weight=3)
    SelectionCriterion.objects.create(call=call, title="Benefit", weight=1)
    return call


@pytest.fixture
def second_reviewer(db):
    return UserFactory(role=Role.REVIEWER, full_name="Second Reviewer")


def _eligible(call, organisation):
    return make_application(ApplicationState.SCREENING, organisation=organisation, call=call)


def _score(call, application, reviewer, novel, benefit, comment="Reasons."):
    ids = [str(c.pk) for c in call.selection_criteria.all()]
    return selection.score_submit(
        actor=reviewer,
        application_id=application.pk,
        scores={ids[0]: novel, ids[1]: benefit},
        comment=comment,
    )


def _close(call):
    call.closes_at = timezone.now() - timedelta(minutes=1)
    call.opens_at = call.closes_at - timedelta(days=30)
    call.save()


def test_it_weights_the_total(call, organisation, reviewer):
    application = _eligible(call, organisation)

    score = _score(call, application, reviewer, 5, 0)

    # (3 x 5 + 1 x 0) / (4 x 5) = 75%
    assert score.total == Decimal("75.0")
    assert SelectionEvent.objects.get().kind == SelectionEventKind.SCORED


def test_it_hides_others_scores_until_both_have_scored(
    call, organisation, reviewer, second_reviewer
):
    application = _eligible(call, organisation)
    _score(call, application, reviewer, 4, 4)

    (row,) = selection.standings(call, second_reviewer)
    assert row.scores == []
    assert row.count == 1
    assert row.total is None
    (own,) = selection.standings(call, reviewer)
    assert [s.reviewer for s in own.scores] == [reviewer]

    _score(call, application, second_reviewer, 4, 3)

    (row,) = selection.standings(call, reviewer)
    assert {s.reviewer for s in row.scores} == {reviewer, second_reviewer}
    assert row.total is not None


def test_the_score_page_shows_no_one_else_s_scores(
    client, call, organisation, reviewer, second_reviewer
):
    application = _eligible(call, organisation)
    _score(call, application, reviewer, 4, 4, comment="First reviewer's private view.")
    client.force_login(second_reviewer)

    page = client.get(reverse("calls:score", args=[application.pk])).content.decode()
    listing = client.get(reverse("calls:selection", args=[call.pk])).content.decode()

    assert "First reviewer&#x27;s private view." not in page
    assert "80.0%" not in listing
    assert "1 of 2" in listing


def test_it_scores_once_and_refuses_bad_scores(call, organisation, reviewer):
    application = _eligible(call, organisation)
    with pytest.raises(TransitionRefused, match="every criterion"):
        selection.score_submit(
            actor=reviewer, application_id=application.pk, scores={}, comment="x"
        )
    with pytest.raises(TransitionRefused, match="comment"):
        _score(call, application, reviewer, 1, 1, comment=" ")
    _score(call, application, reviewer, 1, 1)
    with pytest.raises(TransitionRefused, match="already"):
        _score(call, application, reviewer, 2, 2)
    assert SelectionScore.objects.count() == 1


def test_it_refuses_manufacturers_conflicted_reviewers_and_ineligible_cases(
    call, organisation, manufacturer, reviewer
):
    application = _eligible(call, organisation)
    submitted = make_application(ApplicationState.SUBMITTED, organisation=organisation, call=call)
    with pytest.raises(PermissionError):
        _score(call, application, manufacturer, 1, 1)
    with pytest.raises(TransitionRefused, match="eligibility"):
        _score(call, submitted, reviewer, 1, 1)
    ConflictOfInterest.objects.create(reviewer=reviewer, organisation=organisation, reason="x")
    with pytest.raises(PermissionError):
        _score(call, application, reviewer, 1, 1)
    assert not SelectionScore.objects.exists()


def test_it_flags_a_disagreement_for_moderation(
    call, organisation, reviewer, second_reviewer, lead_reviewer
):
    application = _eligible(call, organisation)
    _score(call, application, reviewer, 5, 5)
    _score(call, application, second_reviewer, 1, 1)

    (row,) = selection.standings(call, lead_reviewer)
    assert row.flagged
    assert not row.ready
    with pytest.raises(PermissionError):
        selection.moderate(
            actor=reviewer, application_id=application.pk, total=Decimal(60), note="x"
        )

    selection.moderate(
        actor=lead_reviewer,
        application_id=application.pk,
        total=Decimal("60.0"),
        note="Agreed at panel.",
    )

    (row,) = selection.standings(call, lead_reviewer)
    assert row.total == Decimal("60.0")
    assert SelectionEvent.objects.filter(kind=SelectionEventKind.MODERATED).count() == 1


def test_it_selects_up_to_capacity_through_the_state_machine(
    call, organisation, reviewer, second_reviewer, lead_reviewer
):
    best = _eligible(call, organisation)
    other = _eligible(call, organisation)
    for application, marks in ((best, (5, 4)), (other, (2, 2))):
        _score(call, application, reviewer, *marks)
        _score(call, application, second_reviewer, *marks)
    with pytest.raises(TransitionRefused, match="closes on"):
        selection.selection_make(
            actor=lead_reviewer, call_id=call.pk, selected_ids=[best.pk], reason="x"
        )
    _close(call)
    with pytest.raises(TransitionRefused, match="1 places"):
        selection.selection_make(
            actor=lead_reviewer, call_id=call.pk, selected_ids=[best.pk, other.pk], reason="x"
        )
    with pytest.raises(TransitionRefused, match="reason"):
        selection.selection_make(
            actor=lead_reviewer, call_id=call.pk, selected_ids=[best.pk], reason=""
        )
    with pytest.raises(PermissionError):
        selection.selection_make(
            actor=reviewer, call_id=call.pk, selected_ids=[best.pk], reason="x"
        )

    selection.selection_make(
        actor=lead_reviewer,
        call_id=call.pk,
        selected_ids=[best.pk],
        reason="Stronger applications filled the one place.",
    )

    best.refresh_from_db()
    other.refresh_from_db()
    assert (best.state, best.cohort) == (ApplicationState.ACCEPTED, call.cohort)
    assert other.state == ApplicationState.REJECTED
    told = ApplicationEvent.objects.get(application=other, transition="reject").reason
    assert "Not selected" in told
    assert "ranked 2 of 2" in told
    assert "Stronger applications filled the one place." in told
    assert SelectionEvent.objects.filter(kind=SelectionEventKind.SELECTED).count() == 1
    assert SelectionEvent.objects.filter(kind=SelectionEventKind.NOT_SELECTED).count() == 1
    with pytest.raises(TransitionRefused, match="made already"):
        selection.selection_make(actor=lead_reviewer, call_id=call.pk, selected_ids=[], reason="x")


def test_it_will_not_select_before_every_disagreement_is_moderated(
    call, organisation, reviewer, second_reviewer, lead_reviewer
):
    application = _eligible(call, organisation)
    _score(call, application, reviewer, 5, 5)
    _score(call, application, second_reviewer, 0, 0)
    _close(call)

    with pytest.raises(TransitionRefused, match=application.reference):
        selection.selection_make(
            actor=lead_reviewer, call_id=call.pk, selected_ids=[application.pk], reason=""
        )


def test_the_pages_score_moderate_select_and_report(
    client, call, organisation, reviewer, second_reviewer, lead_reviewer
):
    application = _eligible(call, organisation)
    ids = [str(c.pk) for c in call.selection_criteria.all()]
    for person, marks in ((reviewer, (5, 5)), (second_reviewer, (1, 1))):
        client.force_login(person)
        response = client.post(
            reverse("calls:score", args=[application.pk]),
            {f"criterion_{ids[0]}": marks[0], f"criterion_{ids[1]}": marks[1], "comment": "Why."},
        )
        assert response.status_code == 302
    client.force_login(lead_reviewer)
    page = client.get(reverse("calls:selection", args=[call.pk])).content.decode()
    assert "Disagreement: to moderate" in page
    client.post(reverse("calls:moderate", args=[application.pk]), {"total": "70", "note": "Panel."})
    _close(call)

    response = client.post(
        reverse("calls:select", args=[call.pk]), {"selected": [application.pk], "reason": ""}
    )

    assert response.url == reverse("calls:report", args=[call.pk])
    report = client.get(response.url).content.decode()
    assert "Selected" in report
    assert "70.0 (moderated: Panel.)" in report
    application.refresh_from_db()
    assert application.state == ApplicationState.ACCEPTED


def test_the_score_page_shows_field_errors(client, call, organisation, reviewer):
    application = _eligible(call, organisation)
    client.force_login(reviewer)

    response = client.post(reverse("calls:score", args=[application.pk]), {"comment": ""})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not SelectionScore.objects.exists()


def test_manufacturers_cannot_open_selection_pages(client, call, manufacturer, organisation):
    application = _eligible(call, organisation)
    client.force_login(manufacturer)

    assert client.get(reverse("calls:selection", args=[call.pk])).status_code == 403
    assert client.get(reverse("calls:score", args=[application.pk])).status_code == 403
    assert client.get(reverse("calls:report", args=[call.pk])).status_code == 403
