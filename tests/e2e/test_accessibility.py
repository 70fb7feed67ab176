"""Every page of the site through axe-core, as the person who uses it.

The pages and who uses them come from the fuzz table (TARGETS in tests/fuzz/targets.py),
which must name every route in the URLconf: a page added to the site is checked here from then
on. Each page is shown in chromium as its persona, with the records it names, and must have no
accessibility violation of serious or critical impact and no id used twice (a label pointing at
a duplicated id reaches the wrong field); a page with a form is then sent empty and the page
that comes back (error summary, field errors, its "Error: " title) is checked too. Responses
that are not whole HTML pages (the CSV export, downloads, htmx partials, /healthz/) are
skipped; Django's admin is Django's.

Each page is also photographed for a person to look at, per role
(tests/e2e/screenshots/pages/<persona>/<route>.png, not committed), and shown 320 pixels wide
(WCAG 1.4.10 reflow), where the page itself must not scroll sideways: a wide table scrolls
inside its own box instead.
"""

from django.conf import settings
from django.test import Client
from django.urls import reverse

from airlock.roles import Role
from tests.e2e.conftest import (
    FAILING_IMPACTS,
    SCREENSHOTS,
    axe_violations,
    describe,
    duplicate_ids,
    seed_eligibility_criteria,
)
from tests.factories import UserFactory
from tests.fuzz.stage import ADMIN, LEAD, MANUFACTURER, OBSERVER, REVIEWER, Stage
from tests.fuzz.targets import TARGETS


def _as(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _is_page(client: Client, url: str) -> bool:
    """A whole HTML page (not a download, a CSV, JSON or an htmx partial)."""
    response = client.get(url, follow=True)
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return False
    return response.content.lstrip()[:15].lower() == b"<!doctype html>"


FORM = """() => [...document.querySelectorAll("main form")].find(
  (f) => f.method === "post" && new URL(f.action).pathname === location.pathname
)"""
EMPTY_AND_SUBMIT = """(form) => {
  form.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), textarea")
    .forEach((field) => { field.value = ""; });
  // The server's errors are the point, not the browser's own required-field bubbles.
  form.noValidate = true;
  form.requestSubmit();
}"""


def _submit_empty(page) -> bool:
    """Blank every field a person types into and send the page's own form, as someone
    pressing the button too early would; the page that comes back shows the errors."""
    form = page.evaluate_handle(FORM).as_element()
    if form is None:
        return False
    with page.expect_navigation():
        form.evaluate(EMPTY_AND_SUBMIT)
    return True


def _problems(page, where: str, persona: str) -> list[str]:
    problems = []
    violations = [v for v in axe_violations(page) if v["impact"] in FAILING_IMPACTS]
    if violations:
        problems.append(f"{where} ({page.url}) as {persona}:\n{describe(violations)}")
    if twice := duplicate_ids(page):
        problems.append(f"{where} ({page.url}) as {persona}: ids used twice: {', '.join(twice)}")
    return problems


SIDEWAYS = """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""
NARROW = {"width": 320, "height": 640}


def _reflow_problems(narrow, url: str, where: str, persona: str) -> list[str]:
    """At 320px wide the page must not scroll sideways (only a table's own box may). `narrow`
    is a second browser page, 320px wide and signed in as the same person: resizing the main
    page back and forth leaves chromium unable to take its next full-page screenshot."""
    narrow.goto(url)
    overflow = narrow.evaluate(SIDEWAYS)
    if overflow > 0:
        return [f"{where} ({url}) as {persona}: scrolls {overflow}px sideways at 320px"]
    return []


def _photograph(page, name: str, persona: str, suffix: str = "") -> None:
    folder = SCREENSHOTS / "pages" / persona.lower()
    folder.mkdir(parents=True, exist_ok=True)
    # The first screen of the page: a full-page capture of a very tall page (the help page)
    # leaves headless chromium unable to capture the next one.
    page.screenshot(path=str(folder / f"{name.replace(':', '-')}{suffix}.png"))


def _pages():
    """Every target whose URL is a page of its own (not only the address a form posts to)."""
    for name, targets in TARGETS.items():
        if name.startswith("admin:"):
            continue
        for target in targets:
            if target.form_on is None:
                yield name, target


def test_no_page_has_a_serious_accessibility_violation(
    page, browser, live_server, manufacturer, reviewer, lead_reviewer, admin_user
):
    seed_eligibility_criteria()
    # Some eighty pages, each loaded, checked, photographed and sent empty: on a busy machine
    # one of them can take longer than a journey's ten seconds to come back.
    page.set_default_timeout(30_000)
    people = {
        MANUFACTURER: manufacturer,
        REVIEWER: reviewer,
        LEAD: lead_reviewer,
        ADMIN: admin_user,
        # An NHS body following granted cases (issue 16): its pages are checked as it sees them.
        OBSERVER: UserFactory(email="observer@example.test", role=Role.OBSERVER),
    }
    stage = Stage(people)
    checked, found = [], []
    narrow_context = browser.new_context(base_url=live_server.url, viewport=NARROW)
    narrow = narrow_context.new_page()
    for name, target in _pages():
        url = reverse(name, kwargs=target.setup(stage))
        client = _as(people.get(target.persona))
        if not _is_page(client, url):
            continue
        # The browser shares the Django client's session: signed in without the sign-in form.
        for context in (page.context, narrow_context):
            context.clear_cookies()
            if session := client.cookies.get(settings.SESSION_COOKIE_NAME):
                context.add_cookies(
                    [{"name": session.key, "value": session.value, "url": live_server.url}]
                )
        page.goto(url)
        checked.append(name)
        found += _problems(page, name, target.persona)
        _photograph(page, name, target.persona)
        found += _reflow_problems(narrow, url, name, target.persona)
        if target.posts and _submit_empty(page):
            found += _problems(page, f"{name}, sent empty", target.persona)
            _photograph(page, name, target.persona, "-errors")
            if page.locator("#error-summary").count():
                # The GOV.UK pattern: the title says so, and the focus is on the summary.
                if not page.title().startswith("Error: "):
                    found.append(f"{name}, sent empty: the title does not start 'Error: '")
                if not page.evaluate("document.activeElement.id === 'error-summary'"):
                    found.append(f"{name}, sent empty: the focus is not on the error summary")

    narrow_context.close()
    assert len(checked) > 40
    assert not found, "\n\n".join(found)
