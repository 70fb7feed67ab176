"""On the demo data, each side's "Needs your attention" and notification centre, as they look."""

from django.core.management import call_command

from airlock.demo import DEMO_PASSWORD
from tests.e2e.conftest import login, seed_eligibility_criteria
from tests.reviews.test_attention import assert_counts_match


def test_the_demo_people_see_what_needs_them(page, screenshot):
    seed_eligibility_criteria()
    call_command("seed_demo")

    login(page, "maker@demo.airlock", DEMO_PASSWORD)
    page.get_by_role("heading", name="Needs your attention").wait_for()
    assert_counts_match(page.content())
    screenshot("01-manufacturer-dashboard")
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("heading", name="Notifications").wait_for()
    assert page.get_by_role("link", name="amendment 1 sent for your agreement").is_visible()
    screenshot("02-manufacturer-notifications")
    page.get_by_role("button", name="Sign out").click()

    login(page, "reviewer@demo.airlock", DEMO_PASSWORD)
    page.get_by_role("heading", name="Needs your attention").wait_for()
    assert_counts_match(page.content())
    screenshot("03-reviewer-home")
