"""The committed state diagram and the help page are generated from the state machine, so they
cannot drift from the code."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from devices.models import TRANSITIONS, ApplicationState
from devices.selectors import STATE_EXPLANATIONS

DOCS = Path(settings.BASE_DIR) / "docs"


def _dot_lines(source: str) -> list[str]:
    # graph_transitions walks Python sets, so its line order follows the hash seed; the graph
    # is the same whatever the order.
    return sorted(line.strip() for line in source.splitlines() if line.strip())


def test_the_committed_dot_file_matches_the_state_machine():
    generated = io.StringIO()
    call_command("graph_transitions", "devices.Application", stdout=generated)

    committed = (DOCS / "state-diagram.dot").read_text()

    assert _dot_lines(committed) == _dot_lines(generated.getvalue()), (
        "The state machine changed: run `make diagram` and commit docs/ and static/docs/."
    )


def test_the_help_page_shows_the_same_svg_as_docs():
    assert (DOCS / "state-diagram.svg").read_bytes() == (
        Path(settings.BASE_DIR) / "static" / "docs" / "state-diagram.svg"
    ).read_bytes()


def test_every_state_is_explained():
    assert set(STATE_EXPLANATIONS) == set(ApplicationState)


@pytest.mark.django_db
def test_the_help_page_lists_every_state_and_transition(client):
    response = client.get(reverse("help"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "/static/docs/state-diagram.svg" in body
    assert len(response.context["transitions"]) == len(TRANSITIONS)
    for state in ApplicationState:
        assert state.label in body
    assert "Countersign clearance" in body
    assert "Four eyes: not the proposer." in body
    assert '<th class="govuk-table__header" scope="col">Who</th>' in body


@pytest.mark.django_db
def test_the_help_page_is_get_only_and_linked_from_every_page(client):
    assert client.post(reverse("help")).status_code == 405
    assert reverse("help") in client.get(reverse("login")).content.decode()


def test_the_help_page_says_what_blocks_each_decision(client):
    page = client.get(reverse("help")).content.decode()

    assert "What blocks each decision" in page
    for decision in (
        "Begin controlled testing",
        "Resume testing",
        "Complete testing",
        "Propose clearance",
        "Countersign clearance",
    ):
        assert f'<th class="govuk-table__header" scope="row">{decision}</th>' in page, decision
    assert "a safety signal is open or under investigation" in page


def test_states_md_says_what_blocks_each_decision(settings):
    states = (settings.BASE_DIR / "docs" / "STATES.md").read_text()

    assert "## What blocks each decision" in states
    assert "**any safety signal open or under investigation**" in states
