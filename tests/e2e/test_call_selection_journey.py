"""The way in, end to end: a lead reviewer sets up a call in the site; a manufacturer signs
up (the link read from the test mailbox), a reviewer approves the organisation, its
administrator invites a colleague who joins, the colleague applies against the open call and
submits; once the call closes a second draft is refused; two reviewers score independently,
the lead reviewer moderates their disagreement and selects into the call's cohort."""

import re
from datetime import timedelta

import time_machine
from django.core import mail
from django.utils import timezone

from airlock.roles import Role
from calls import selection
from calls.models import Call
from devices.models import Application, ApplicationState, Organisation
from devices.services import application_transition
from reviews.models import EligibilityCriterion, ScreeningAssessment, ScreeningOutcome
from tests.e2e.conftest import SCREENSHOTS, login, seed_eligibility_criteria
from tests.factories import (
    TEST_PASSWORD,
    CohortFactory,
    DeviceFactory,
    UserFactory,
    add_evidence,
    make_application,
)


def _link(pattern: str) -> str:
    return re.search(pattern, mail.outbox[-1].body).group(1)


def _screened(application, reviewer) -> None:
    """Through screening with every criterion met: eligible for selection."""
    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    for criterion in EligibilityCriterion.objects.filter(is_active=True):
        ScreeningAssessment.objects.create(
            application=application,
            criterion=criterion,
            outcome=ScreeningOutcome.MET,
            comment="Met.",
            assessor=reviewer,
        )


def _picture(other_page, name: str) -> None:
    """A screenshot of another person's browser (the `screenshot` fixture takes `page`'s)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    other_page.screenshot(
        path=str(SCREENSHOTS / f"test_call_selection_journey-{name}.png"), full_page=True
    )


def _score(page, call, marks: tuple[int, int], comment: str) -> None:
    criteria = list(call.selection_criteria.all())
    for criterion, mark in zip(criteria, marks, strict=True):
        page.locator(f"input[name=criterion_{criterion.pk}][value='{mark}']").check()
    page.locator("[name=comment]").fill(comment)
    page.get_by_role("button", name="Record my scores").click()


def test_a_manufacturer_signs_up_applies_and_is_selected(
    browser, page, live_server, screenshot, reviewer, lead_reviewer
):
    seed_eligibility_criteria()
    CohortFactory(name="Phase 3 cohort")
    second_reviewer = UserFactory(role=Role.REVIEWER, full_name="Sam Second")

    def another(person):
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        other = context.new_page()
        login(other, person.email, TEST_PASSWORD)
        return other

    # The lead reviewer sets up the call in the site: open from this minute for half an hour,
    # one place, two weighted selection criteria.
    lead = another(lead_reviewer)
    lead.goto("/calls/")
    lead.get_by_role("link", name="Set up a call").click()
    opens = timezone.localtime().replace(second=0, microsecond=0)
    closes = opens + timedelta(minutes=30)
    lead.locator("#id_title").fill("AI Airlock phase 3")
    lead.locator("#id_challenge_areas").fill("Monitoring performance drift")
    for prefix, moment in (("opens", opens), ("closes", closes)):
        lead.locator(f"#id_{prefix}_on_0").fill(str(moment.day))
        lead.locator(f"#id_{prefix}_on_1").fill(str(moment.month))
        lead.locator(f"#id_{prefix}_on_2").fill(str(moment.year))
        lead.locator(f"#id_{prefix}_time").fill(f"{moment:%H:%M}")
    lead.locator("#id_capacity").fill("1")
    lead.locator("#id_cohort").select_option(label="Phase 3 cohort")
    lead.locator("#id_criteria-0-title").fill("Novel regulatory question")
    lead.locator("#id_criteria-0-weight").fill("0")
    lead.locator("#id_criteria-1-title").fill("Patient and NHS benefit")
    lead.locator("#id_criteria-1-weight").fill("1")
    lead.get_by_role("button", name="Set up the call").click()
    # A weight of 0 is refused at its field, and what was typed is kept.
    lead.get_by_text("Give a weight from 1 to 10").first.wait_for()
    assert lead.locator("#id_criteria-1-title").input_value() == "Patient and NHS benefit"
    lead.locator("#id_criteria-0-weight").fill("3")
    _picture(lead, "00-set-up-the-call")
    lead.get_by_role("button", name="Set up the call").click()
    lead.get_by_text("The call “AI Airlock phase 3” is set up.").wait_for()
    call = Call.objects.get(title="AI Airlock phase 3")
    assert call.is_open
    assert [(c.title, c.weight) for c in call.selection_criteria.all()] == [
        ("Novel regulatory question", 3),
        ("Patient and NHS benefit", 1),
    ]

    # Sign-up, and the email address confirmed from the mailbox.
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Register your organisation").click()
    page.locator("#id_email").fill("founder@example.test")
    page.locator("#id_full_name").fill("Fola Founder")
    page.locator("#id_password1").fill(TEST_PASSWORD)
    page.locator("#id_password2").fill(TEST_PASSWORD)
    page.locator("#id_organisation_name").fill("New Vision AI Ltd")
    page.locator("#id_companies_house_number").fill("12345678")
    screenshot("01-sign-up")
    page.get_by_role("button", name="Register", exact=True).click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(_link(r"https?://[^/\s]+(/sign-up/confirm/\S+/)"))
    page.get_by_role("button", name="Confirm and register").click()
    page.get_by_text("waiting for the regulator to approve").first.wait_for()
    screenshot("02-waiting-for-approval")

    # A reviewer approves the organisation.
    regulator = another(reviewer)
    regulator.goto("/reviews/organisations/")
    regulator.get_by_role("button", name="Approve New Vision AI Ltd").click()
    regulator.get_by_text("is approved").wait_for()
    assert Organisation.objects.get(name="New Vision AI Ltd").is_approved

    # The administrator invites a colleague, who joins from the emailed link.
    page.get_by_role("link", name="Team").click()
    page.locator("#id_email").fill("colleague@example.test")
    page.get_by_label("Contributor").check()
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("We have emailed an invitation").wait_for()
    screenshot("03-team")
    colleague_context = browser.new_context(base_url=live_server.url, locale="en-GB")
    colleague = colleague_context.new_page()
    colleague.goto(_link(r"https?://[^/\s]+(/join/\S+/)"))
    colleague.locator("#id_full_name").fill("Cai Colleague")
    colleague.locator("#id_password1").fill(TEST_PASSWORD)
    colleague.locator("#id_password2").fill(TEST_PASSWORD)
    colleague.get_by_role("button", name="Make my account and join").click()
    colleague.get_by_text("Welcome to New Vision AI Ltd").wait_for()

    # The colleague applies against the open call, and submits.
    organisation = Organisation.objects.get(name="New Vision AI Ltd")
    founder = organisation.memberships.get(role="administrator").user
    device = DeviceFactory(organisation=organisation, created_by=founder, name="SightLine")
    colleague.goto("/applications/new/")
    colleague.get_by_text("You are applying to the call for applications").wait_for()
    _picture(colleague, "04-apply-to-the-call")
    colleague.locator("[name=device]").select_option(str(device.pk))
    colleague.get_by_label("Virtual (real data, controlled environment)").check()
    colleague.get_by_role("button", name="Save and continue").click()
    colleague.locator("[name=regulatory_challenge]").fill("How to monitor drift in eye clinics?")
    colleague.locator("[name=patient_benefit]").fill("Earlier treatment of eye disease.")
    colleague.get_by_role("button", name="Save and continue").click()
    colleague.get_by_label("Validated on retrospective data").check()
    colleague.locator("[name=nhs_sites]").fill("Moorfields Eye Hospital")
    colleague.get_by_role("button", name="Save and continue").click()
    colleague.get_by_role("heading", name="Evidence", exact=True).wait_for()
    application = Application.objects.get(organisation=organisation)
    assert application.call == call
    for kind in ("risk_management", "clinical_evaluation", "data_protection"):
        add_evidence(application, kind)
    colleague.goto(f"/applications/{application.pk}/review/")
    colleague.get_by_role("link", name="Continue to submit").click()
    colleague.get_by_role("button", name="Submit the application").click()
    colleague.get_by_text("submitted").first.wait_for()
    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    # References of their own: the factory's sequence would repeat the one just issued.
    late = make_application(
        ApplicationState.DRAFT,
        organisation=organisation,
        call=call,
        created_by=founder,
        reference="AIA-2026-9001",
    )
    rival = make_application(ApplicationState.SUBMITTED, call=call, reference="AIA-2026-9002")

    with time_machine.travel(call.closes_at + timedelta(minutes=5)):
        # After the closing time: the second draft is refused, and kept.
        colleague.goto(f"/applications/{late.pk}/review/")
        colleague.get_by_text("closed on").first.wait_for()
        _picture(colleague, "05-refused-after-close")
        late.refresh_from_db()
        assert late.state == ApplicationState.DRAFT

        # Two reviewers score on their own; they disagree.
        for case in (application, rival):
            _screened(case, reviewer)
        regulator.goto(f"/reviews/calls/applications/{application.pk}/score/")
        _score(regulator, call, (5, 5), "A novel question with clear benefit.")
        regulator.get_by_text("Your scores for").wait_for()
        second = another(second_reviewer)
        second.goto(f"/reviews/calls/{call.pk}/selection/")
        second.get_by_role("link", name=f"Score {application.reference}").wait_for()
        assert "A novel question" not in second.content()
        _picture(second, "06-scores-hidden")
        second.get_by_role("link", name=f"Score {application.reference}").click()
        _score(second, call, (1, 1), "The question has been answered elsewhere.")
        ids = [str(c.pk) for c in call.selection_criteria.all()]
        for person in (reviewer, second_reviewer):
            selection.score_submit(
                actor=person, application_id=rival.pk, scores=dict.fromkeys(ids, 2), comment="Fair."
            )

        # The lead reviewer moderates the disagreement, then selects.
        lead.goto(f"/reviews/calls/{call.pk}/selection/")
        lead.get_by_text("Disagreement: to moderate").wait_for()
        _picture(lead, "07-disagreement")
        lead.get_by_role("link", name=f"Moderate {application.reference}").click()
        lead.locator("#id_total").fill("72")
        lead.locator("#id_note").fill("Agreed at the panel.")
        lead.get_by_role("button", name="Record the moderated total").click()
        lead.get_by_label(application.reference).check()
        lead.locator("#id_reason").fill("Stronger applications filled the place.")
        lead.get_by_role("button", name="Make the selection").click()
        lead.get_by_role("heading", name=f"Selection report: {call}").wait_for()
        _picture(lead, "08-selection-report")

    application.refresh_from_db()
    rival.refresh_from_db()
    assert (application.state, application.cohort) == (ApplicationState.ACCEPTED, call.cohort)
    assert rival.state == ApplicationState.REJECTED
