"""A reviewer works with the keyboard alone (WCAG 2.1.1, 2.4.3, 2.4.7): signs in, skips to the
content, reaches the queue from the service navigation, filters it, removes the filter from the
selected-filter tags, and opens a case, pressing only Tab, Shift+Tab, Enter and arrow keys.
Every element the focus lands on must show the GOV.UK focus style (a yellow highlight)."""

from devices.models import ApplicationState
from tests.factories import TEST_PASSWORD, make_application

# GOV.UK Frontend's focus state: the yellow (#ffdd00) background or outline of links, buttons
# and inputs; the box-shadow or outline carries it on inputs.
FOCUS_VISIBLE = """() => {
  const el = document.activeElement, s = getComputedStyle(el);
  const yellow = (v) => v.includes("255, 221, 0");
  return yellow(s.backgroundColor) || yellow(s.outlineColor) && s.outlineStyle !== "none"
    || yellow(s.boxShadow) || s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
}"""


def _tab_to(page, test: str, limit: int = 80) -> None:
    """Press Tab until `test` (a JS expression on `el`, the focused element) holds; each stop
    must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            continue  # the browser's own first stop, before the page's first link
        assert page.evaluate(FOCUS_VISIBLE), page.evaluate("document.activeElement.outerHTML")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {test}; }})()"):
            return
    raise AssertionError(f"Tab never reached an element where {test}")


def test_a_reviewer_uses_the_queue_with_the_keyboard_alone(page, screenshot, reviewer):
    application = make_application(ApplicationState.SUBMITTED)
    make_application(ApplicationState.EVIDENCE_REVIEW)

    page.goto("/accounts/login/")
    _tab_to(page, "el.textContent.trim() === 'Skip to main content'")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"
    _tab_to(page, "el.name === 'username'")
    page.keyboard.type(reviewer.email)
    _tab_to(page, "el.name === 'password'")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="My work").wait_for()

    _tab_to(page, "el.textContent.trim() === 'Queue'")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Review queue").wait_for()

    # The state filter: a select changed with the arrow keys, then the Apply button.
    _tab_to(page, "el.name === 'state'")
    page.keyboard.press("ArrowDown")  # "Submitted", the first state after "Any state"
    _tab_to(page, "el.textContent.trim() === 'Apply filters'")
    page.keyboard.press("Enter")
    page.wait_for_url("**state=submitted**")
    screenshot("queue-filtered-by-keyboard")

    # The selected filter is a tag whose link removes it.
    _tab_to(page, "(el.getAttribute('class') || '').includes('moj-filter__tag')")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "state=" not in url)
    assert page.get_by_role("table").get_by_role("row").count() == 3

    _tab_to(page, f"el.textContent.trim() === '{application.reference}'")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=application.reference).wait_for()
    screenshot("case-by-keyboard")
