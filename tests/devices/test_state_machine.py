"""Every (state, action, role) triple: allowed ones succeed and write one audit row; the rest
are refused with a reason and change nothing.

The expected table is written out from DESIGN.md, not derived from the model, so a change to the
model that breaks the design fails here.
"""

import pytest

from airlock.roles import Role
from devices.models import TRANSITIONS, Application, ApplicationEvent, ApplicationState
from devices.selectors import transition_table
from devices.services import TransitionRefused, application_transition
from tests.factories import UserFactory, make_application, make_manufacturer

S = ApplicationState
FINAL = {S.CLEARED, S.NOT_CLEARED, S.REJECTED, S.WITHDRAWN}
MANUFACTURERS = {"manufacturer", "contributor", "admin"}
REVIEWERS = {"reviewer", "lead_reviewer", "admin"}

# action: (states it may start from, roles that may take it, target state)
EXPECTED = {
    "submit": ({S.DRAFT}, MANUFACTURERS, S.SUBMITTED),
    "start_screening": ({S.SUBMITTED}, REVIEWERS, S.SCREENING),
    "request_information": (
        {S.SCREENING, S.EVIDENCE_REVIEW},
        REVIEWERS,
        S.INFORMATION_REQUESTED,
    ),
    "respond": ({S.INFORMATION_REQUESTED}, MANUFACTURERS, S.SCREENING),
    "reject": ({S.SCREENING}, REVIEWERS, S.REJECTED),
    "accept": ({S.SCREENING}, REVIEWERS, S.ACCEPTED),
    "begin_testing": ({S.ACCEPTED}, REVIEWERS, S.IN_CONTROLLED_TESTING),
    "suspend": ({S.IN_CONTROLLED_TESTING}, REVIEWERS, S.SUSPENDED),
    "resume": ({S.SUSPENDED}, REVIEWERS, S.IN_CONTROLLED_TESTING),
    "complete_testing": ({S.IN_CONTROLLED_TESTING}, REVIEWERS, S.EVIDENCE_REVIEW),
    "extend_testing": ({S.EVIDENCE_REVIEW}, REVIEWERS, S.IN_CONTROLLED_TESTING),
    # Countersigning: a lead reviewer who did not propose the clearance.
    "clear": ({S.EVIDENCE_REVIEW}, {"lead_reviewer", "admin"}, S.CLEARED),
    "not_clear": ({S.EVIDENCE_REVIEW}, REVIEWERS, S.NOT_CLEARED),
    "withdraw": (set(S) - FINAL, MANUFACTURERS, S.WITHDRAWN),
}
# A viewer in the organisation reads its cases but takes no transition, so it is in no row.
ROLES = [
    "manufacturer",
    "contributor",
    "viewer",
    "other_manufacturer",
    "reviewer",
    "lead_reviewer",
    "admin",
]


def test_the_table_covers_every_transition():
    assert set(EXPECTED) == set(TRANSITIONS)


def _actor(role: str, application: Application):
    if role == "manufacturer":
        return make_manufacturer(application.organisation)
    if role in ("contributor", "viewer"):
        return make_manufacturer(application.organisation, org_role=role)
    if role == "other_manufacturer":
        return make_manufacturer()
    return UserFactory(
        role={
            "reviewer": Role.REVIEWER,
            "lead_reviewer": Role.LEAD_REVIEWER,
            "admin": Role.ADMINISTRATOR,
        }[role]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("action", TRANSITIONS)
@pytest.mark.parametrize("state", list(S))
def test_transition_table(state, action):
    sources, roles, target = EXPECTED[action]
    for role in ROLES:
        application = make_application(state)
        actor = _actor(role, application)
        allowed = state in sources and role in roles

        if allowed:
            application_transition(
                application_id=application.pk,
                action=action,
                actor=actor,
                reason="Recorded in the table test.",
                # Completing testing early needs this too (tested on its own).
                confirmed=True,
            )
            application.refresh_from_db()
            assert application.state == target, (state, action, role)
            event = ApplicationEvent.objects.get(application=application)
            assert (event.from_state, event.to_state, event.actor) == (state, target, actor)
            assert event.reason == "Recorded in the table test."
        else:
            with pytest.raises(TransitionRefused) as refused:
                application_transition(
                    application_id=application.pk,
                    action=action,
                    actor=actor,
                    reason="Recorded in the table test.",
                )
            assert str(refused.value), (state, action, role)
            application.refresh_from_db()
            assert application.state == state, (state, action, role)
            assert not ApplicationEvent.objects.filter(application=application).exists()


def test_the_help_pages_table_is_the_state_machine_as_declared():
    # The help page prints transition_table(); it must say what the model enforces.
    rows = {row.action: row for row in transition_table()}

    assert list(rows) == list(TRANSITIONS)
    for action, (sources, _, target) in EXPECTED.items():
        row = rows[action]
        assert set(row.sources) == sources, action
        assert target in row.targets, action
    assert rows["respond"].targets == [S.SCREENING, S.EVIDENCE_REVIEW]
    assert (rows["submit"].label, rows["submit"].actor, rows["submit"].help_text) == (
        "Submit",
        "manufacturer",
        "",
    )
    assert (rows["clear"].label, rows["clear"].actor, rows["clear"].help_text) == (
        "Countersign clearance",
        "lead reviewer",
        "Four eyes: not the proposer.",
    )
    actors = {side: set() for side in ("manufacturer", "reviewer")}
    for action, (_, roles, _) in EXPECTED.items():
        if roles in (MANUFACTURERS, REVIEWERS):
            actors["manufacturer" if roles == MANUFACTURERS else "reviewer"].add(rows[action].actor)
    assert actors == {"manufacturer": {"manufacturer"}, "reviewer": {"reviewer"}}
