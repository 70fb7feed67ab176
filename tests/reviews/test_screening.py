from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from devices.models import ApplicationEvent, ApplicationState, ClockStage
from devices.services import TransitionRefused, information_respond
from notifications.services import notification_emails_send
from reviews.models import (
    Cohort,
    ConflictOfInterest,
    Decision,
    DecisionKind,
    EligibilityCriterion,
    InformationRequest,
    ScreeningAssessment,
    ScreeningOutcome,
)
from reviews.services import (
    CriterionOutcome,
    application_accept,
    information_request_create,
    screening_assess,
)
from tests.factories import CohortFactory, make_application

S = ApplicationState


def _url(name: str, application) -> str:
    return reverse(f"reviews:{name}", args=[application.pk])


def _criteria():
    return list(EligibilityCriterion.objects.filter(is_active=True))


def _assessment_data(outcome: str = "met", comment: str = "Evidence on file.") -> dict:
    data = {}
    for criterion in _criteria():
        data[f"criterion-{criterion.pk}-outcome"] = outcome
        data[f"criterion-{criterion.pk}-comment"] = comment
    return data


@pytest.fixture
def screening_application(db):
    application = make_application(S.SCREENING)
    application.screening_assessments.all().delete()
    return application


# --- Assessing the criteria ------------------------------------------------------------------


def test_the_screening_page_shows_each_criterion_with_its_indicators(
    client, reviewer, screening_application
):
    client.force_login(reviewer)

    page = client.get(_url("screening", screening_application)).content.decode()

    assert [c.title for c in _criteria()] == [
        "In scope",
        "Genuine innovation",
        "Patient and NHS benefit",
        "Readiness",
        "Need for the sandbox",
    ]
    for criterion in _criteria():
        assert criterion.title in page
        assert criterion.positive_indicators in page
        assert criterion.negative_indicators in page
    assert "Positive indicators" in page
    assert "Assess every eligibility criterion first (5 still to assess)." in page


@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_assess_every_criterion(client, request, persona, screening_application):
    actor = request.getfixturevalue(persona)
    client.force_login(actor)

    response = client.post(_url("screening", screening_application), _assessment_data())

    assert response.status_code == 302
    assessments = ScreeningAssessment.objects.filter(application=screening_application)
    assert assessments.count() == 5
    assert {(a.outcome, a.assessor) for a in assessments} == {("met", actor)}


def test_a_reviewer_saves_some_criteria_and_revises_them_later(
    client, reviewer, lead_reviewer, screening_application
):
    first = _criteria()[0]
    client.force_login(reviewer)
    client.post(
        _url("screening", screening_application),
        {f"criterion-{first.pk}-outcome": "unclear", f"criterion-{first.pk}-comment": "Ask."},
    )
    client.force_login(lead_reviewer)
    client.post(
        _url("screening", screening_application),
        {f"criterion-{first.pk}-outcome": "met", f"criterion-{first.pk}-comment": "Answered."},
    )

    assessment = ScreeningAssessment.objects.get()
    assert (assessment.outcome, assessment.comment, assessment.assessor) == (
        "met",
        "Answered.",
        lead_reviewer,
    )


def test_an_outcome_without_reasons_or_reasons_without_outcome_show_field_errors(
    client, reviewer, screening_application
):
    first, second = _criteria()[:2]
    client.force_login(reviewer)

    response = client.post(
        _url("screening", screening_application),
        {
            f"criterion-{first.pk}-outcome": "met",
            f"criterion-{second.pk}-comment": "Looks fine.",
            f"criterion-{second.pk}-outcome": "",
        },
    )

    assert response.status_code == 200
    forms = response.context["assessment_forms"]
    assert forms[0].errors.keys() == {"comment"}
    assert forms[1].errors.keys() == {"outcome"}
    assert "There is a problem" in response.content.decode()
    assert not ScreeningAssessment.objects.exists()


def test_a_nonsense_outcome_is_a_field_error(client, reviewer, screening_application):
    first = _criteria()[0]
    client.force_login(reviewer)

    response = client.post(
        _url("screening", screening_application),
        {f"criterion-{first.pk}-outcome": "maybe", f"criterion-{first.pk}-comment": "Hmm."},
    )

    assert response.status_code == 200
    assert response.context["assessment_forms"][0].errors.keys() == {"outcome"}


def test_assessing_is_refused_outside_screening(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.post(_url("screening", application), _assessment_data(), follow=True)

    assert "You can assess eligibility only while an application is being screened" in (
        response.content.decode()
    )
    assert not ScreeningAssessment.objects.exists()


def test_assessing_refuses_manufacturers_and_conflicted_reviewers_in_the_service(
    manufacturer, reviewer, screening_application
):
    criterion = _criteria()[0]
    outcome = CriterionOutcome(criterion_id=criterion.pk, outcome="met", comment="Fine.")
    with pytest.raises(PermissionError, match="Only regulator reviewers"):
        screening_assess(
            application_id=screening_application.pk, actor=manufacturer, outcomes=[outcome]
        )
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=screening_application.organisation, reason="Shares."
    )
    with pytest.raises(PermissionError, match="conflict of interest"):
        screening_assess(
            application_id=screening_application.pk, actor=reviewer, outcomes=[outcome]
        )


# --- Accepting and rejecting -----------------------------------------------------------------


@time_machine.travel(date(2026, 12, 21))
def test_a_reviewer_accepts_into_a_cohort(client, reviewer):
    application = make_application(S.SCREENING)
    cohort = CohortFactory()
    client.force_login(reviewer)

    response = client.post(
        _url("accept", application),
        {
            "accept-cohort": cohort.pk,
            "accept-rationale": "Meets every criterion.",
            "expected_state": S.SCREENING,
        },
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.ACCEPTED
    assert application.cohort == cohort
    decision = Decision.objects.get(application=application)
    assert (decision.kind, decision.rationale, decision.decided_by) == (
        DecisionKind.ACCEPT,
        "Meets every criterion.",
        reviewer,
    )
    event = ApplicationEvent.objects.get(application=application)
    assert event.reason == "Meets every criterion."
    # The plan clock: 20 working days from 21 December 2026, skipping Christmas, the Boxing
    # Day substitute and New Year's Day.
    assert application.clock_stage == ClockStage.PLAN
    assert application.clock_due_on == date(2027, 1, 21)


def test_accepting_needs_a_cohort_and_a_rationale(client, reviewer):
    application = make_application(S.SCREENING)
    closed = CohortFactory(name="Pilot", is_open=False)
    client.force_login(reviewer)

    response = client.post(
        _url("accept", application), {"accept-cohort": closed.pk, "accept-rationale": " "}
    )

    assert response.status_code == 200
    assert response.context["accept_form"].errors.keys() == {"cohort", "rationale"}
    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_accepting_is_refused_until_every_criterion_is_met(client, reviewer):
    application = make_application(S.SCREENING)
    application.screening_assessments.filter(criterion__code="readiness").update(
        outcome=ScreeningOutcome.NOT_MET
    )
    client.force_login(reviewer)

    response = client.post(
        _url("accept", application),
        {"accept-cohort": CohortFactory().pk, "accept-rationale": "Keen."},
        follow=True,
    )

    assert "not met: Readiness" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.SCREENING
    assert not Decision.objects.exists()


def test_accepting_into_a_full_cohort_is_refused(reviewer):
    cohort = CohortFactory(capacity=1)
    make_application(S.ACCEPTED, cohort=cohort)
    application = make_application(S.SCREENING)

    with pytest.raises(TransitionRefused, match=r"is full \(1 of 1 places taken\)"):
        application_accept(
            application_id=application.pk, actor=reviewer, cohort=cohort, rationale="Fine."
        )
    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_manufacturers_cannot_accept_in_the_service(manufacturer, organisation):
    application = make_application(S.SCREENING, organisation=organisation)

    with pytest.raises(PermissionError):
        application_accept(
            application_id=application.pk,
            actor=manufacturer,
            cohort=CohortFactory(),
            rationale="Self-approval.",
        )


@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_reject_with_a_rationale(client, request, persona):
    actor = request.getfixturevalue(persona)
    application = make_application(S.SCREENING)
    client.force_login(actor)

    confirm = client.post(_url("reject", application), {"reject-rationale": "Not novel."})
    application.refresh_from_db()
    assert application.state == S.SCREENING  # not before the confirmation
    response = client.post(
        _url("reject", application), {"reject-rationale": "Not novel.", "confirm": "yes"}
    )

    page = confirm.content.decode()
    assert "Confirm: reject" in page
    assert "This cannot be undone." in page
    assert 'name="reject-rationale" value="Not novel."' in page
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.REJECTED
    assert application.clock_stage == ""
    decision = Decision.objects.get()
    assert (decision.kind, decision.decided_by) == (DecisionKind.REJECT, actor)


def test_rejecting_without_a_rationale_shows_a_field_error(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    response = client.post(_url("reject", application), {"reject-rationale": ""})

    assert response.status_code == 200
    assert response.context["reject_form"].errors.keys() == {"rationale"}
    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_accept_and_reject_are_refused_outside_screening(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    client.post(_url("reject", application), {"reject-rationale": "No."})
    client.post(
        _url("accept", application),
        {"accept-cohort": CohortFactory().pk, "accept-rationale": "Yes."},
    )

    application.refresh_from_db()
    assert application.state == S.SUBMITTED
    assert not Decision.objects.exists()


def test_the_open_cohorts_are_offered(client, reviewer):
    CohortFactory(name="Closed pilot", is_open=False)
    open_cohort = CohortFactory()
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    form = client.get(_url("screening", application)).context["accept_form"]

    assert list(form.fields["cohort"].queryset) == [open_cohort]
    assert Cohort.objects.count() == 2


# --- Information requests --------------------------------------------------------------------


@time_machine.travel(date(2026, 6, 1))
def test_the_request_form_suggests_ten_working_days(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    response = client.get(_url("information-request", application))

    assert response.context["form"].fields["due_on"].initial == date(2026, 6, 15)
    body = response.content.decode()
    # A GOV.UK date input: day, month and year in their own boxes.
    assert 'name="due_on_day" type="text" inputmode="numeric" value="15"' in body
    assert 'name="due_on_month" type="text" inputmode="numeric" value="6"' in body
    assert 'name="due_on_year" type="text" inputmode="numeric" value="2026"' in body


@pytest.mark.parametrize("origin", [S.SCREENING, S.EVIDENCE_REVIEW])
@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_a_request_pauses_the_case_and_the_answer_returns_it_where_it_came_from(
    client, request, manufacturer, organisation, persona, origin
):
    reviewer = request.getfixturevalue(persona)
    application = make_application(origin, organisation=organisation)
    due = timezone.localdate() + timedelta(days=14)
    client.force_login(reviewer)

    response = client.post(
        _url("information-request", application),
        {"questions": "Which sites?", "due_on": due.isoformat(), "expected_state": origin},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == S.INFORMATION_REQUESTED
    assert application.return_state == origin
    request = InformationRequest.objects.get()
    assert (request.questions, request.due_on, request.requested_by) == (
        "Which sites?",
        due,
        reviewer,
    )
    event = ApplicationEvent.objects.get(application=application)
    assert f"answers due by {due:%-d %B %Y}" in event.reason

    information_respond(application_id=application.pk, actor=manufacturer, response="Leeds.")

    application.refresh_from_db()
    assert application.state == origin
    assert application.return_state == ""


def test_the_manufacturer_team_is_emailed_about_the_request(
    reviewer, manufacturer, organisation, mailoutbox, settings
):
    application = make_application(S.SCREENING, organisation=organisation)
    due = timezone.localdate() + timedelta(days=14)
    information_request_create(
        application_id=application.pk, actor=reviewer, questions="Which sites?", due_on=due
    )

    notification_emails_send(key=f"event:{ApplicationEvent.objects.get().pk}")

    assert [m.to for m in mailoutbox] == [[manufacturer.email]]
    assert mailoutbox[0].subject == (
        f"{application.reference}: the regulator has asked for information"
    )
    assert f"answers due by {due:%-d %B %Y}" in mailoutbox[0].body
    # The questions themselves stay behind sign-in.
    assert "Which sites?" not in mailoutbox[0].body


@pytest.mark.parametrize("due", ["", "yesterday", "2000-01-01"])
def test_a_request_needs_questions_and_a_future_due_date(client, reviewer, due):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    response = client.post(
        _url("information-request", application), {"questions": "", "due_on": due}
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"questions", "due_on"}
    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_a_request_due_today_is_refused_by_the_service(reviewer):
    application = make_application(S.SCREENING)

    with pytest.raises(TransitionRefused, match="after today"):
        information_request_create(
            application_id=application.pk,
            actor=reviewer,
            questions="Which sites?",
            due_on=timezone.localdate(),
        )


def test_requests_are_refused_where_the_state_does_not_allow_them(client, reviewer):
    application = make_application(S.ACCEPTED)
    client.force_login(reviewer)
    due = timezone.localdate() + timedelta(days=14)

    page = client.get(_url("information-request", application)).content.decode()
    response = client.post(
        _url("information-request", application),
        {"questions": "Which sites?", "due_on": due.isoformat()},
        follow=True,
    )

    assert "You cannot ask for information now." in page
    assert "only possible when an application is" in response.content.decode()
    assert not InformationRequest.objects.exists()
