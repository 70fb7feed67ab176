"""Two people press a button on the same application at the same moment: exactly one wins."""

import threading

import pytest
from django.db import connection, connections

from devices.models import ApplicationEvent, ApplicationState
from devices.services import TransitionRefused, application_transition
from tests.factories import UserFactory, make_application
from tests.needs import missing, require


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("first", "second"),
    [("start_screening", "start_screening"), ("reject", "accept")],
)
def test_it_lets_exactly_one_concurrent_transition_win(first, second):
    # Row locks: SQLite serialises whole transactions, so there is no race to lose there.
    require(missing(vendor=connection.vendor, redis_url="", needs_postgresql=True))
    from airlock.roles import Role

    start = ApplicationState.SUBMITTED if first == "start_screening" else ApplicationState.SCREENING
    application = make_application(start)
    reviewers = [UserFactory(role=Role.REVIEWER), UserFactory(role=Role.REVIEWER)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(action, reviewer):
        try:
            barrier.wait(timeout=5)
            application_transition(
                application_id=application.pk, action=action, actor=reviewer, reason="Race."
            )
            outcomes.append("won")
        except TransitionRefused as refused:
            outcomes.append(f"refused: {refused}")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=attempt, args=(action, reviewer))
        for action, reviewer in zip((first, second), reviewers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["refused", "won"]
    assert ApplicationEvent.objects.filter(application=application).count() == 1
    refusal = next(outcome for outcome in outcomes if outcome.startswith("refused"))
    assert "only possible when an application is" in refusal
