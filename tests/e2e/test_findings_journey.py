"""A reviewer records a finding on a case, a lead reviewer puts it in a theme and opens the
cohort's programme report, where it appears under the theme."""

import importlib

from django.apps import apps

from airlock.roles import Role
from devices.models import ApplicationState
from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD, DeviceFactory, UserFactory, make_application


def test_a_finding_goes_from_a_case_into_a_theme_and_the_programme_report(
    page, screenshot, reviewer, organisation
):
    # The browser tests' database is emptied between tests, migrations' rows with it.
    importlib.import_module("findings.migrations.0002_seed_challenge_areas").seed(apps, None)
    lead = UserFactory(role=Role.LEAD_REVIEWER, full_name="Leo Okafor")
    case = make_application(
        ApplicationState.IN_CONTROLLED_TESTING,
        organisation=organisation,
        device=DeviceFactory(organisation=organisation, name="LungScan COPD Detector"),
    )

    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="My work").wait_for()
    page.goto(f"/reviews/applications/{case.pk}/")
    page.get_by_role("navigation", name="Case sections").get_by_role(
        "link", name="Findings"
    ).click()
    page.get_by_role("heading", name="Record a finding").wait_for()
    page.get_by_role("button", name="Record the finding").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    page.get_by_label("Title").fill("No trigger for re-evaluating a locked model")
    page.get_by_label("The gap or lesson").fill(
        "Sensitivity dipped at one site; nothing says when a dip is a reportable trend."
    )
    page.get_by_label("Continuous post-market surveillance").check()
    page.get_by_label("Guidance").check()
    page.get_by_label("Evidence it came from").select_option(index=1)
    page.get_by_role("button", name="Record the finding").click()
    page.get_by_text("Finding recorded").wait_for()
    assert page.get_by_role(
        "heading", name="No trigger for re-evaluating a locked model"
    ).is_visible()
    screenshot("findings-01-case-tab")
    page.get_by_role("button", name="Sign out").click()

    login(page, lead.email, TEST_PASSWORD)
    page.get_by_role("heading", name="My work").wait_for()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Findings").click()
    page.get_by_role("heading", name="Findings", exact=True).wait_for()
    page.get_by_role("link", name="Themes").click()
    page.get_by_label("Name").fill("Evidence of performance after deployment")
    page.get_by_role("button", name="Create the theme").click()
    page.get_by_role("link", name="Evidence of performance after deployment").click()
    page.get_by_label("Finding to add").select_option(index=1)
    page.get_by_role("button", name="Add to the theme").click()
    page.get_by_text("Finding added to the theme").wait_for()
    assert page.get_by_role(
        "cell", name="No trigger for re-evaluating a locked model", exact=True
    ).is_visible()
    screenshot("findings-02-theme")

    page.get_by_role("link", name="Findings", exact=True).first.click()
    page.get_by_role("link", name="Programme reports").click()
    page.get_by_role("link", name=case.cohort.name).click()
    page.get_by_role("heading", name=f"Programme report: {case.cohort.name}").wait_for()
    findings = page.locator(
        "section", has=page.get_by_role("heading", name="5. Findings, by theme")
    )
    assert findings.get_by_role(
        "heading", name="Evidence of performance after deployment"
    ).is_visible()
    assert findings.get_by_text("No trigger for re-evaluating a locked model").is_visible()
    # Left out as confidential by default.
    assert "LungScan COPD Detector" not in page.content()
    screenshot("findings-03-programme-report")
