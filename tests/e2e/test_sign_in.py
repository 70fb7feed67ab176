from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD


def test_a_reviewer_signs_in_sees_their_workspace_and_signs_out(page, screenshot, reviewer):
    page.goto("/")
    assert page.url.endswith("/accounts/login/?next=/")

    page.get_by_role("button", name="Sign in").click()
    # wait_for, not is_visible: the click returns before the error page has loaded.
    page.get_by_role("alert").get_by_text("There is a problem").wait_for()
    screenshot("errors")

    login(page, reviewer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="My work").wait_for()
    assert page.get_by_text("Reviewer", exact=True).is_visible()
    screenshot("home")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="You have signed out").wait_for()


def test_the_skip_link_is_the_first_thing_keyboard_users_reach(page, manufacturer):
    login(page, manufacturer.email, TEST_PASSWORD)
    page.get_by_role("heading", name="Needs your attention").wait_for()

    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
