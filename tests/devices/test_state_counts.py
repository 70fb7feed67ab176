"""The review queue's per-state counts (devices/state_counts.py): moved by the transition
service in its own transaction, recomputed by a set-based repair job."""

import pytest
from django.db.models import Count

from airlock.celery import app
from devices.models import Application, ApplicationState, ApplicationStateCount
from devices.services import TransitionRefused, application_transition
from devices.state_counts import state_counts_for, state_counts_repair
from devices.tasks import repair_state_counts
from reviews.models import ConflictOfInterest
from tests.factories import make_application

S = ApplicationState


def _kept(organisation_id: int) -> dict[str, int]:
    return {
        row.state: row.total
        for row in ApplicationStateCount.objects.filter(organisation_id=organisation_id)
        if row.total
    }


def _actual(organisation_id: int) -> dict[str, int]:
    return dict(
        Application.objects.filter(organisation_id=organisation_id, submitted_at__isnull=False)
        .values_list("state")
        .annotate(n=Count("*"))
    )


def test_it_moves_the_counts_with_each_transition(manufacturer, reviewer):
    draft = make_application(S.DRAFT, organisation=manufacturer.membership.organisation)
    organisation_id = draft.organisation_id
    assert _kept(organisation_id) == {}

    application_transition(application_id=draft.pk, action="submit", actor=manufacturer)
    assert _kept(organisation_id) == {S.SUBMITTED: 1}

    application_transition(application_id=draft.pk, action="start_screening", actor=reviewer)
    assert _kept(organisation_id) == {S.SCREENING: 1}
    assert _kept(organisation_id) == _actual(organisation_id)


def test_a_draft_withdrawn_unsubmitted_is_never_counted(manufacturer):
    draft = make_application(S.DRAFT, organisation=manufacturer.membership.organisation)

    application_transition(
        application_id=draft.pk, action="withdraw", actor=manufacturer, reason="Not ready."
    )

    assert Application.objects.get(pk=draft.pk).state == S.WITHDRAWN
    assert _kept(draft.organisation_id) == {}


def test_a_refused_transition_leaves_the_counts(manufacturer, reviewer):
    application = make_application(S.SUBMITTED)
    before = _kept(application.organisation_id)

    with pytest.raises(TransitionRefused):
        application_transition(application_id=application.pk, action="clear", actor=reviewer)

    assert _kept(application.organisation_id) == before == {S.SUBMITTED: 1}


def test_the_repair_corrects_counts_written_round_the_service(db):
    moved = make_application(S.SUBMITTED)
    other = make_application(S.SCREENING)
    Application.objects.filter(pk=moved.pk).update(state=S.SCREENING)
    ApplicationStateCount.objects.filter(organisation_id=other.organisation_id).delete()

    wrong = state_counts_repair()

    # Submitted emptied, screening moved up, and the deleted row made again.
    assert wrong == 3
    assert _kept(moved.organisation_id) == _actual(moved.organisation_id) == {S.SCREENING: 1}
    assert _kept(other.organisation_id) == {S.SCREENING: 1}
    assert state_counts_repair() == 0


def test_a_reviewer_sees_every_organisation_but_their_conflicts(reviewer, lead_reviewer):
    conflicted = make_application(S.SUBMITTED)
    make_application(S.SUBMITTED)
    make_application(S.SCREENING)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Former employer."
    )

    assert state_counts_for(reviewer) == {S.SUBMITTED: 1, S.SCREENING: 1}
    assert state_counts_for(lead_reviewer) == {S.SUBMITTED: 2, S.SCREENING: 1}


def test_the_repair_runs_on_beat_on_the_sweeps_queue(db, settings):
    make_application(S.SUBMITTED)
    ApplicationStateCount.objects.all().delete()

    assert repair_state_counts.apply().get() == 1

    entries = [e for e in app.conf.beat_schedule.values() if e["task"] == repair_state_counts.name]
    assert len(entries) == 1
    assert settings.CELERY_TASK_ROUTES[repair_state_counts.name] == {"queue": "sweeps"}
