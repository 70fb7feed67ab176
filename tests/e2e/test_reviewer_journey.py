from devices.models import Application, ApplicationState
from reviews.models import Decision, EligibilityCriterion
from tests.e2e.conftest import login, seed_eligibility_criteria
from tests.factories import TEST_PASSWORD, CohortFactory, make_application

S = ApplicationState


def _eligibility_criteria() -> list[EligibilityCriterion]:
    seed_eligibility_criteria()
    return list(EligibilityCriterion.objects.filter(is_active=True))


def test_a_reviewer_screens_a_submission_and_accepts_it_into_a_cohort(page, screenshot, reviewer):
    criteria = _eligibility_criteria()
    cohort = CohortFactory(name="Phase 3 (2026-27)")
    application = make_application(S.SUBMITTED)
    make_application(S.IN_CONTROLLED_TESTING)
    make_application(S.EVIDENCE_REVIEW)

    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="My work").wait_for()
    assert page.get_by_role("link", name=application.title).is_visible()
    screenshot("my-work")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Queue").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    assert page.get_by_role("table").get_by_role("row").count() == 4
    page.get_by_label("State", exact=True).select_option(label="Submitted")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**state=submitted**")
    rows = page.get_by_role("table").get_by_role("row")
    assert rows.count() == 2
    assert page.get_by_text("1 application", exact=True).is_visible()
    screenshot("queue-filtered")

    page.get_by_role("link", name=application.reference, exact=True).click()
    page.get_by_role("heading", name=application.title).wait_for()
    assert page.get_by_role("heading", name="Evidence").is_visible()
    assert page.get_by_role("heading", name="Internal notes").is_visible()
    screenshot("review-page")

    page.get_by_role("button", name="Start screening").click()
    page.get_by_role("heading", name="Screening", exact=True).wait_for()
    assert page.get_by_text("Screening", exact=True).first.is_visible()
    screenshot("screening-empty")

    for criterion in criteria:
        section = page.get_by_role("region", name=criterion.title)
        section.get_by_role("radio", name="Met", exact=True).check()
        section.get_by_label(f"Your reasons for “{criterion.title}”").fill(
            f"{criterion.title}: the evidence on file shows it."
        )
    page.get_by_role("button", name="Save assessments").click()
    page.get_by_text("Saved 5 of 5 criteria.").wait_for()
    screenshot("screening-assessed")

    decide = page.get_by_role("region", name="Decide")
    decide.get_by_label("Cohort").select_option(label=cohort.name)
    decide.get_by_label("Rationale").first.fill("Meets all five criteria; strong NHS sites.")
    decide.get_by_role("button", name="Accept").click()
    page.get_by_text(f"{application.reference} is accepted into {cohort.name}").wait_for()
    screenshot("accepted")

    application.refresh_from_db()
    assert application.state == S.ACCEPTED
    assert application.cohort == cohort
    assert Decision.objects.get(application=application).decided_by == reviewer
    assert Application.objects.filter(state=S.ACCEPTED).count() == 1
