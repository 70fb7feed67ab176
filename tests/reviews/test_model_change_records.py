"""What reviews.model_changes records and says, asked of the service itself: every field of a
notified change as stored, the version it puts in use, its audit row and notices, each
problem and refusal in words, and the limits of each field at, below and above.

test_model_changes.py follows a change through its statuses; mutation testing
(docs/TESTING.md) changed the stored fields, the messages and the limits without it noticing.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from airlock.roles import Role
from devices.models import (
    AiType,
    Application,
    ApplicationEvent,
    ApplicationState,
    ModelVersion,
)
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.model_changes import (
    ChangeDetails,
    evidence_required,
    model_change_decide,
    model_change_notify,
)
from reviews.models import (
    AuditAction,
    AuditEntry,
    ChangeKind,
    ConflictOfInterest,
    ModelChange,
    ModelChangeStatus,
)
from reviews.monitoring.reports import report_figures_clean
from tests.factories import UserFactory, make_application, make_manufacturer
from tests.refusals import refused

pytestmark = pytest.mark.django_db

S = ApplicationState
NOW = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))
GOOD = {"sensitivity": {"successes": 960, "trials": 1000}}
SHA = "ab" * 32
BAD_SHA = "A SHA-256 is 64 hexadecimal characters (or leave it empty)."


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    application = make_application(
        S.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    device = application.device
    device.ai_type = AiType.ADAPTIVE
    device.save()
    plan = application.testing_plan
    plan.allowed_change_kinds = [ChangeKind.RETRAINING, ChangeKind.RECALIBRATION]
    plan.change_evidence = "Validation report\n\n  Bias audit  \n"
    plan.save()
    return application


def details(**changes) -> ChangeDetails:
    return ChangeDetails(
        **{
            "kind": ChangeKind.RETRAINING,
            "version_label": "2.0",
            "released_on": date(2026, 6, 30),
            "description": "Retrained on 2026 Q2 data.",
            "validation_metrics": GOOD,
            "evidence": {"Validation report": "VR-7", "Bias audit": "BA-2"},
            **changes,
        }
    )


def notify(actor, case, **changes):
    return model_change_notify(actor=actor, application_id=case.pk, details=details(**changes))


def problems_of(actor, case, **changes) -> dict:
    with pytest.raises(ValidationError) as caught:
        notify(actor, case, **changes)
    return caught.value.message_dict


# --- Notifying -------------------------------------------------------------------------------


def test_it_reads_the_evidence_the_protocol_asks_for_one_item_a_line(case):
    assert evidence_required(case.testing_plan) == ["Validation report", "Bias audit"]
    assert evidence_required(None) == []


def test_it_stores_a_change_as_typed_but_trimmed_and_puts_its_version_in_use(
    manufacturer, reviewer, case
):
    change = notify(
        manufacturer,
        case,
        version_label=" 2.0 ",
        description=" Retrained on 2026 Q2 data.\n",
        training_data_summary="  Q2 2026, three sites. ",
        sha256=f" {SHA.upper()} ",
        evidence={
            "Validation report": "  VR-7 ",
            "Bias audit": "BA-2",
            "Unasked": "  ",
            "x" * 201: "y" * 2001,
        },
    )

    change.refresh_from_db()
    assert (change.application, change.kind, change.status, change.notified_by) == (
        case,
        ChangeKind.RETRAINING,
        ModelChangeStatus.RECORDED,
        manufacturer,
    )
    assert (change.version_label, change.description, change.training_data_summary) == (
        "2.0",
        "Retrained on 2026 Q2 data.",
        "Q2 2026, three sites.",
    )
    assert (change.released_on, change.sha256, change.problems) == (date(2026, 6, 30), SHA, [])
    assert change.evidence == {
        "Validation report": "VR-7",
        "Bias audit": "BA-2",
        "x" * 200: "y" * 2000,
    }
    assert change.validation_metrics == {"sensitivity": 0.96}
    assert change.validation_counts == {"sensitivity": [960, 1000]}
    version = ModelVersion.objects.get(pk=change.model_version_id)
    assert (version.device, version.label, version.released_on) == (
        case.device,
        "2.0",
        date(2026, 6, 30),
    )
    assert (version.changes, version.training_data_summary, version.sha256) == (
        "Retrained on 2026 Q2 data.",
        "Q2 2026, three sites.",
        SHA,
    )
    entry = AuditEntry.objects.get(model_change=change)
    assert (entry.application, entry.actor, entry.action, entry.summary, entry.detail) == (
        case,
        manufacturer,
        AuditAction.MODEL_CHANGE_NOTIFIED,
        "Model change to 2.0 notified: Within the change protocol: recorded.",
        "",
    )
    notice = Notification.objects.get(kind=NotificationKind.MODEL_CHANGE)
    assert (notice.recipient, notice.application, notice.key, notice.url) == (
        reviewer,
        case,
        f"model-change:{change.pk}:recorded",
        reverse("reviews:model-change", args=[change.pk]),
    )
    assert notice.title == (
        f"Model change on {case.reference}: within the change protocol: recorded"
    )
    assert notice.body == (
        "Model change to 2.0 notified: Within the change protocol: recorded.\n\n"
        "Retrained on 2026 Q2 data.\n"
    )


def test_it_lists_missing_evidence_before_the_protocol_s_problems(manufacturer, reviewer, case):
    change = notify(
        manufacturer, case, kind=ChangeKind.ARCHITECTURE, evidence={"Bias audit": "BA-2"}
    )

    assert change.status == ModelChangeStatus.REFUSED
    assert change.model_version is None
    assert change.problems == [
        "Evidence missing: Validation report.",
        "“A change of model architecture” is not a change the protocol allows.",
    ]
    entry = AuditEntry.objects.get(model_change=change)
    assert entry.summary == "Model change to 2.0 notified: Refused."
    assert entry.detail == "\n".join(change.problems)
    notice = Notification.objects.get(recipient=reviewer)
    assert notice.title == f"Model change on {case.reference}: refused"
    assert notice.body == "\n".join(
        [
            "Model change to 2.0 notified: Refused.",
            "",
            "Retrained on 2026 Q2 data.",
            "",
            *change.problems,
        ]
    )


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        (ChangeKind.RETRAINING, True),
        (ChangeKind.RECALIBRATION, True),
        (ChangeKind.ARCHITECTURE, True),
        (ChangeKind.NEW_POPULATION, True),
        (ChangeKind.NEW_INPUT, False),
        (ChangeKind.NEW_USE, False),
    ],
)
def test_only_a_kind_both_the_plan_and_the_protocol_allow_is_within_it(
    manufacturer, case, kind, allowed
):
    plan = case.testing_plan
    # A plan listing a kind no protocol may allow does not make it allowed.
    plan.allowed_change_kinds = [kind, ChangeKind.RECALIBRATION, ChangeKind.NEW_INPUT]
    plan.save()

    change = notify(manufacturer, case, kind=kind)

    assert (change.status == ModelChangeStatus.RECORDED) is allowed


def test_it_explains_each_protocol_problem_in_words(manufacturer, case):
    plan = case.testing_plan
    plan.thresholds.update(value="0.95", critical_value="0.90")

    no_figure = notify(manufacturer, case, version_label="3.1", validation_metrics={})
    breach = notify(
        manufacturer,
        case,
        version_label="3.2",
        validation_metrics={"sensitivity": {"successes": 950, "trials": 1000}},
    )
    case.device.ai_type = AiType.LOCKED
    case.device.save()
    locked = notify(manufacturer, case, version_label="3.3")

    assert no_figure.problems == ["No validation figure for sensitivity: the bounds need one."]
    assert breach.problems == [
        "Sensitivity validation (0.95, 95% CI 0.935 to 0.962) does not meet the bound: "
        "at least 0.95."
    ]
    assert locked.problems == [
        f"{case.device.name} is a locked model: any change to it is outside a change protocol."
    ]
    assert {no_figure.status, breach.status, locked.status} == {ModelChangeStatus.HELD}


def test_without_a_plan_there_is_no_protocol(manufacturer, case):
    case.testing_plan.delete()

    change = notify(manufacturer, case, evidence={})

    assert change.problems == ["There is no agreed testing plan, so no change protocol."]
    assert change.status == ModelChangeStatus.HELD


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"kind": "rewrite"}, {"kind": ["Choose the kind of change from the list."]}),
        (
            {"version_label": " "},
            {"version_label": ["Give the new version a label of up to 50 characters."]},
        ),
        (
            {"version_label": "v" * 51},
            {"version_label": ["Give the new version a label of up to 50 characters."]},
        ),
        ({"description": " \n"}, {"description": ["Say what changed in the model."]}),
        *(
            (
                {"sha256": sha},
                {"sha256": ["A SHA-256 is 64 hexadecimal characters (or leave it empty)."]},
            )
            for sha in ("a" * 63, "a" * 65, "g" * 64)
        ),
    ],
)
def test_it_explains_bad_details_by_field_in_words(manufacturer, case, changes, expected):
    assert problems_of(manufacturer, case, **changes) == expected
    assert not ModelChange.objects.exists()


def test_it_takes_the_longest_label_and_a_hash_at_its_length(manufacturer, case):
    change = notify(manufacturer, case, version_label="v" * 50, sha256="0123456789" * 6 + "cdef")

    assert (change.version_label, change.sha256) == ("v" * 50, "0123456789" * 6 + "cdef")


def test_it_joins_every_complaint_about_the_figures(manufacturer, case):
    problems = problems_of(
        manufacturer, case, validation_metrics={"sensitivity": 2, "specificity": -1}
    )

    with pytest.raises(ValidationError) as direct:
        report_figures_clean(
            metrics={"sensitivity": 2, "specificity": -1}, subgroup_metrics={}, required=[]
        )
    each = direct.value.message_dict["metrics"]
    assert len(each) == 2
    assert problems == {"validation_metrics": [" ".join(each)]}


def test_it_refuses_a_change_outside_testing_in_words(manufacturer, organisation):
    application = make_application(S.ACCEPTED, organisation=organisation)

    with refused(
        TransitionRefused,
        "Model changes are notified during controlled testing; this application is accepted "
        "into the sandbox.",
    ):
        notify(manufacturer, application)

    assert not ModelChange.objects.exists()


# --- Deciding --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "words", "status"),
    [
        ("accept", "accepted", ModelChangeStatus.ACCEPTED),
        ("refuse", "refused", ModelChangeStatus.REFUSED),
        ("suspend", "refused, and testing suspended", ModelChangeStatus.REFUSED),
    ],
)
def test_a_decision_is_recorded_audited_and_told_to_the_team(
    manufacturer, reviewer, organisation, case, decision, words, status
):
    colleague = make_manufacturer(organisation, email="colleague@example.test")
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)

    change = model_change_decide(
        actor=reviewer, change_id=held.pk, decision=decision, reason="  Figures too thin.\n"
    )

    change.refresh_from_db()
    assert (change.status, change.decided_by, change.decided_at) == (status, reviewer, NOW)
    assert (change.decision_reason, change.suspended_testing) == (
        "Figures too thin.",
        decision == "suspend",
    )
    assert (change.model_version is not None) is (decision == "accept")
    if decision == "accept":
        assert (change.model_version.label, change.model_version.device) == ("2.0", case.device)
    entry = AuditEntry.objects.get(action=AuditAction.MODEL_CHANGE_DECIDED)
    assert (entry.actor, entry.summary, entry.detail) == (
        reviewer,
        f"Model change to 2.0 {words}.",
        "Figures too thin.",
    )
    told = Notification.objects.filter(
        kind=NotificationKind.MODEL_CHANGE, recipient__in=[manufacturer, colleague]
    )
    assert sorted(told.values_list("recipient", flat=True)) == sorted(
        [manufacturer.pk, colleague.pk]
    )
    notice = told.first()
    assert (notice.application, notice.key, notice.url) == (
        case,
        f"model-change:{change.pk}:{status}",
        reverse("devices:model-changes", args=[case.pk]),
    )
    assert notice.title == f"Model change on {case.reference} {words}"
    assert notice.body == f"Model change to 2.0 {words}.\n\nFigures too thin."
    case.refresh_from_db()
    if decision == "suspend":
        event = ApplicationEvent.objects.get(application=case, transition="suspend")
        assert (event.actor, event.reason) == (
            reviewer,
            "Model change to 2.0 refused: Figures too thin.",
        )
        assert case.state == S.SUSPENDED
    else:
        assert case.state == S.IN_CONTROLLED_TESTING


def test_a_decision_is_refused_in_words(manufacturer, reviewer, case):
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)
    recorded = notify(manufacturer, case, version_label="3.1")

    def decide(change, actor=reviewer, decision="refuse", reason="Thin."):
        return model_change_decide(
            actor=actor, change_id=change.pk, decision=decision, reason=reason
        )

    with pytest.raises(ValidationError) as unknown:
        decide(held, decision="ignore")
    assert unknown.value.message_dict == {"decision": ["Choose what to do with the change."]}
    with pytest.raises(ValidationError) as empty:
        decide(held, reason=" \n")
    assert empty.value.message_dict == {"reason": ["Give the reason for the decision."]}
    with refused(PermissionError, "Only regulator reviewers can do this."):
        decide(held, actor=manufacturer)
    conflicted = UserFactory(role=Role.REVIEWER, email="conflicted@example.test")
    ConflictOfInterest.objects.create(
        reviewer=conflicted, organisation=case.organisation, reason="Shares."
    )
    with refused(
        PermissionError, f"You have declared a conflict of interest with {case.organisation}."
    ):
        decide(held, actor=conflicted)
    with refused(
        TransitionRefused,
        "This change is within the change protocol: recorded: there is nothing to decide.",
    ):
        decide(recorded)
    Application.objects.filter(pk=case.pk).update(state=S.SUSPENDED)
    with refused(TransitionRefused, "Testing cannot be suspended: the application is suspended."):
        decide(held, decision="suspend")

    held.refresh_from_db()
    assert (held.status, held.decided_by) == (ModelChangeStatus.HELD, None)
    assert not AuditEntry.objects.filter(action=AuditAction.MODEL_CHANGE_DECIDED).exists()
