"""Browser journeys: Playwright driving Debian's chromium against pytest-django's live server.

Without /usr/bin/chromium the journeys are skipped, unless AIRLOCK_REQUIRE_BROWSER is set (as
in CI), where a missing browser is a failure rather than a silent skip.

Every journey fails on a script error or a Content-Security-Policy refusal in the browser's
console. Every screenshot is also an accessibility check: after taking it, the `screenshot`
fixture runs axe-core on the page and fails the journey on any violation of "serious" or
"critical" impact, or on an id used twice, so every page a journey shows a person is checked.
Call the `axe` fixture directly for a page that is not worth a picture;
tests/e2e/test_accessibility.py checks every page of the site.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.apps import apps

CHROMIUM = "/usr/bin/chromium"
# CI runs its two suites side by side; each keeps its pictures in its own folder (.ci/run).
SCREENSHOTS = Path(os.environ.get("AIRLOCK_SCREENSHOTS", Path(__file__).parent / "screenshots"))
# axe-core 4.11.0 (MPL-2.0), for the tests only: it is not under static/ and never served.
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
FAILING_IMPACTS = {"serious", "critical"}

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still synchronous, so Django's async guard must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("AIRLOCK_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    # A British browser, as most of the service's users have: dates in date inputs read
    # day/month/year, as the pages around them do.
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="Europe/London",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    # A script error or a Content-Security-Policy refusal breaks a page for real users without
    # failing any assertion; collect them and fail the journey at the end.
    errors = []
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    yield page
    context.close()
    assert not errors, "\n".join(errors)


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.2 A/AA and best practice)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, which the page's Content-Security-Policy
        # does not govern. page.add_script_tag would insert an inline <script>, which our
        # script-src 'self' rightly refuses; a context with bypass_csp=True would work too, but
        # would also hide any real CSP breakage from the journeys.
        page.evaluate(AXE_SCRIPT.read_text())
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )


DUPLICATE_IDS = """() => {
  const seen = new Set(), twice = new Set();
  for (const element of document.querySelectorAll("[id]")) {
    (seen.has(element.id) ? twice : seen).add(element.id);
  }
  return [...twice];
}"""


def duplicate_ids(page) -> list[str]:
    """Ids used more than once on the page: a label or link pointing at one reaches the first
    only (axe rates this "minor", so it is checked on its own)."""
    return page.evaluate(DUPLICATE_IDS)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"  at {' '.join(map(str, node['target']))}")
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"     {summary}")
    return "\n".join(lines)


@pytest.fixture
def axe(page):
    """Check the page with axe-core; fail on any serious or critical violation."""

    def check(where: str = "") -> None:
        violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
        if violations:
            pytest.fail(
                f"Accessibility violations on {where or page.url} ({page.url}):\n"
                + describe(violations),
                pytrace=False,
            )
        if twice := duplicate_ids(page):
            pytest.fail(f"Ids used twice on {where or page.url}: {', '.join(twice)}", pytrace=False)

    return check


@pytest.fixture
def screenshot(page, request, axe):
    """Save a full-page screenshot under tests/e2e/screenshots/ for a person to look at, then
    check the page with axe-core (after, so a failing page still leaves its picture)."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        axe(name)
        return path

    return take


def seed_eligibility_criteria() -> None:
    """Put back the five criteria the data migration seeds: browser tests run on a database
    that is emptied after each test, which removes those rows too."""
    importlib.import_module("reviews.migrations.0002_seed_eligibility_criteria").seed(apps, None)


def login(page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def fill_date(page, legend: str, value) -> None:
    """Type a date into a GOV.UK date input (day, month and year boxes under one legend)."""
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(value.day))
    group.get_by_label("Month").fill(str(value.month))
    group.get_by_label("Year").fill(str(value.year))
