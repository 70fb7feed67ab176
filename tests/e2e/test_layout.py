"""Layout a person notices at narrower widths: a wrapped label never runs into the row below."""

from tests.e2e.conftest import login
from tests.factories import TEST_PASSWORD, make_application

# Each label's text bottom and the next label's text top, in every summary list on the page.
GAPS = """() => [...document.querySelectorAll("dl.govuk-summary-list")].flatMap((list) => {
  const labels = [...list.querySelectorAll(":scope > .govuk-summary-list__row > dt")];
  return labels.slice(1).map((label, n) => ({
    label: labels[n].textContent.trim(),
    // Between the labels' text: the padding inside each row is the gap a person sees.
    gap: (label.getBoundingClientRect().top + parseFloat(getComputedStyle(label).paddingTop))
      - (labels[n].getBoundingClientRect().bottom
         - parseFloat(getComputedStyle(labels[n]).paddingBottom)),
  }));
})"""


def test_a_wrapped_label_leaves_a_gap_before_the_next_row(page, screenshot, reviewer):
    application = make_application(
        "in_controlled_testing",
        assignee=reviewer,
        device__ai_type="adaptive",
        device__pccp_summary="Retraining each quarter on new trusts' data, within set bounds.",
    )
    login(page, reviewer.email, TEST_PASSWORD)
    page.set_viewport_size({"width": 800, "height": 900})

    page.goto(f"/reviews/applications/{application.pk}/")

    gaps = page.evaluate(GAPS)
    assert any(g["label"] == "Predetermined change control plan" for g in gaps)
    tight = [g for g in gaps if g["gap"] < 4]
    assert not tight, tight
    screenshot("case-at-800px")
