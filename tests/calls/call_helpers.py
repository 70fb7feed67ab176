"""What the call management tests share: a fixed moment, a call's terms, an open call and a
scored one."""

from dataclasses import replace
from datetime import timedelta

from django.utils import timezone

from calls.models import Call, SelectionScore
from calls.services import CallTerms, CriterionTerms, call_save
from devices.models import ApplicationState
from tests.factories import (
    CohortFactory,
    make_application,
)

NOW = timezone.make_aware(timezone.datetime(2026, 6, 1, 12, 0))


def call_terms(**changes) -> CallTerms:
    terms = CallTerms(
        title="Phase 3: AI in diagnostics",
        challenge_areas="Drift in practice\nLarge language models",
        opens_at=NOW + timedelta(days=1),
        closes_at=NOW + timedelta(days=60),
        capacity=7,
        moderation_margin=15,
        cohort=CohortFactory(name="Phase 3 cohort"),
        criteria=(
            CriterionTerms(title="Novel regulatory question", weight=3),
            CriterionTerms(title="Patient and NHS benefit", weight=1, description="Measurable."),
        ),
    )
    return replace(terms, **changes)


def open_call(lead) -> Call:
    call, _ = call_save(
        actor=lead,
        terms=call_terms(opens_at=NOW - timedelta(days=5), closes_at=NOW + timedelta(days=5)),
    )
    return call


def scored(call: Call, reviewer) -> None:
    application = make_application(ApplicationState.SCREENING, call=call)
    SelectionScore.objects.create(
        application=application, reviewer=reviewer, scores={}, total=50, comment="x"
    )
