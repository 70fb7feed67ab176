"""Model versions under change control: a change within the protocol is recorded, one
outside it is held for a reviewer (or refused when evidence is missing), and a reviewer
accepts, refuses, or refuses and suspends testing."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from devices.model_versions import current_model_version
from devices.models import AiType, ApplicationState, OrganisationRole
from devices.selectors import timeline
from devices.services import TransitionRefused
from notifications.models import Notification, NotificationKind
from reviews.model_changes import ChangeDetails, model_change_decide, model_change_notify
from reviews.models import (
    AuditAction,
    AuditEntry,
    ChangeDecision,
    ChangeKind,
    Checkpoint,
    ModelChange,
    ModelChangeStatus,
)
from reviews.monitoring import reports
from tests.factories import make_application, make_manufacturer
from tests.test_api import api_for

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/London"))
GOOD = {"sensitivity": {"successes": 960, "trials": 1000}}


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(organisation, reviewer):
    application = make_application(
        ApplicationState.IN_CONTROLLED_TESTING, organisation=organisation, assignee=reviewer
    )
    device = application.device
    device.ai_type = AiType.ADAPTIVE
    device.pccp_summary = "Quarterly retraining on new data from the same sites."
    device.save()
    plan = application.testing_plan
    plan.allowed_change_kinds = [ChangeKind.RETRAINING, ChangeKind.RECALIBRATION]
    plan.change_evidence = "Validation report"
    plan.save()
    return application


def details(**changes) -> ChangeDetails:
    return ChangeDetails(
        **{
            "kind": ChangeKind.RETRAINING,
            "version_label": "2.0",
            "released_on": date(2026, 7, 1),
            "description": "Retrained on 2026 Q2 data from the same three sites.",
            "validation_metrics": GOOD,
            "evidence": {"Validation report": "Evidence document VR-7"},
            **changes,
        }
    )


def notify(manufacturer, case, **changes):
    return model_change_notify(
        actor=manufacturer, application_id=case.pk, details=details(**changes)
    )


def test_it_records_a_change_within_the_protocol_and_tells_the_reviewer(
    manufacturer, reviewer, case
):
    change = notify(manufacturer, case)

    assert change.status == ModelChangeStatus.RECORDED
    assert change.problems == []
    assert current_model_version(case.device).label == "2.0"
    assert change.model_version.changes.startswith("Retrained")
    assert Notification.objects.filter(
        recipient=reviewer, kind=NotificationKind.MODEL_CHANGE
    ).exists()
    entry = AuditEntry.objects.get(model_change=change)
    assert entry.action == AuditAction.MODEL_CHANGE_NOTIFIED
    assert any("Model change to 2.0" in item.title for item in timeline(case))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"kind": ChangeKind.NEW_USE}, "is not a change the protocol allows"),
        (
            {"validation_metrics": {"sensitivity": {"successes": 27, "trials": 30}}},
            "does not meet the bound",
        ),
        ({"validation_metrics": {}}, "No validation figure for sensitivity"),
    ],
)
def test_it_holds_a_change_outside_the_protocol(manufacturer, case, changes, problem):
    change = notify(manufacturer, case, **changes)

    assert change.status == ModelChangeStatus.HELD
    assert any(problem in line for line in change.problems)
    assert change.model_version is None
    assert current_model_version(case.device).label != "2.0"


def test_it_refuses_a_change_without_the_evidence_the_protocol_needs(manufacturer, case):
    change = notify(manufacturer, case, evidence={})

    assert change.status == ModelChangeStatus.REFUSED
    assert change.problems[0] == "Evidence missing: Validation report."


def test_it_holds_any_change_to_a_locked_model(manufacturer, case):
    case.device.ai_type = AiType.LOCKED
    case.device.save()

    change = notify(manufacturer, case)

    assert change.status == ModelChangeStatus.HELD
    assert "locked model" in change.problems[0]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version_label": ""}, "version_label"),
        ({"description": " "}, "description"),
        ({"sha256": "xyz"}, "sha256"),
        ({"validation_metrics": {"sensitivity": 2}}, "validation_metrics"),
    ],
)
def test_it_explains_bad_details_by_field(manufacturer, case, changes, field):
    with pytest.raises(ValidationError) as caught:
        notify(manufacturer, case, **changes)

    assert field in caught.value.message_dict


def test_it_refuses_a_label_used_already(manufacturer, case):
    notify(manufacturer, case)

    with pytest.raises(ValidationError, match="recorded already"):
        notify(manufacturer, case)


def test_it_refuses_a_change_from_another_organisation(other_manufacturer, case):
    with pytest.raises(PermissionError):
        notify(other_manufacturer, case)


def test_it_refuses_a_change_from_a_viewer_of_the_organisation(case):
    """A viewer reads the case but changes nothing, here as in every manufacturer service."""
    viewer = make_manufacturer(case.organisation, org_role=OrganisationRole.VIEWER)

    with pytest.raises(PermissionError, match="only its administrators and contributors"):
        notify(viewer, case)

    assert not ModelChange.objects.filter(application=case).exists()


def test_a_viewers_post_of_a_change_is_forbidden(client, case):
    client.force_login(make_manufacturer(case.organisation, org_role=OrganisationRole.VIEWER))

    response = client.post(reverse("devices:model-changes", args=[case.pk]), {"kind": "x"})

    assert response.status_code == 403
    assert not ModelChange.objects.filter(application=case).exists()


@pytest.mark.parametrize(
    ("decision", "status", "state", "version"),
    [
        (ChangeDecision.ACCEPT, ModelChangeStatus.ACCEPTED, "in_controlled_testing", "2.0"),
        (ChangeDecision.REFUSE, ModelChangeStatus.REFUSED, "in_controlled_testing", None),
        (ChangeDecision.SUSPEND, ModelChangeStatus.REFUSED, "suspended", None),
    ],
)
def test_a_reviewer_decides_a_held_change(
    manufacturer, reviewer, case, decision, status, state, version
):
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)

    change = model_change_decide(
        actor=reviewer, change_id=held.pk, decision=decision, reason="Reviewed the validation."
    )

    case.refresh_from_db()
    assert change.status == status
    assert case.state == state
    assert (change.model_version.label if change.model_version else None) == version
    assert AuditEntry.objects.filter(
        model_change=change, action=AuditAction.MODEL_CHANGE_DECIDED
    ).exists()


def test_the_case_story_shows_each_model_change_entry_with_who_and_why_in_fixed_queries(
    manufacturer, reviewer, case
):
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        model_change_decide(
            actor=reviewer, change_id=held.pk, decision="accept", reason="Validation reviewed."
        )
    # An entry no person made (recorded by Airlock itself) is told apart from a person's.
    AuditEntry.objects.create(
        application=case,
        action=AuditAction.MODEL_CHANGE_DECIDED,
        summary="Model change to 2.0 noted.",
        model_change=held,
        created_at=NOW + timedelta(hours=2),
    )

    with CaptureQueriesContext(connection) as queries:
        entries = timeline(case)
    story = [(e.at, e.who, e.title, e.body) for e in entries if e.kind == "model_change"]

    # Events, messages, requests, model changes and incidents, each with its people: one query
    # apiece.
    assert len(queries) == 5
    assert story == [
        (
            NOW,
            str(manufacturer),
            "Model change to 2.0 notified: Outside the change protocol: held for a reviewer.",
            "\n".join(held.problems),
        ),
        (
            NOW + timedelta(hours=1),
            str(reviewer),
            "Model change to 2.0 accepted.",
            "Validation reviewed.",
        ),
        (NOW + timedelta(hours=2), "Airlock", "Model change to 2.0 noted.", ""),
    ]


def test_it_refuses_to_decide_a_change_twice_or_without_a_reason(manufacturer, reviewer, case):
    recorded = notify(manufacturer, case)

    with pytest.raises(ValidationError):
        model_change_decide(actor=reviewer, change_id=recorded.pk, decision="accept", reason="")
    with pytest.raises(TransitionRefused, match="nothing to decide"):
        model_change_decide(actor=reviewer, change_id=recorded.pk, decision="accept", reason="x")


def test_it_names_the_model_version_on_each_report(manufacturer, case):
    first = Checkpoint.objects.create(application=case, sequence=1, due_on=date(2026, 7, 1))
    second = Checkpoint.objects.create(application=case, sequence=2, due_on=date(2026, 7, 29))
    report = reports.checkpoint_report_submit(
        actor=manufacturer, checkpoint_id=first.pk, cases_processed=10, metrics=GOOD
    )
    notify(manufacturer, case)
    later = reports.checkpoint_report_submit(
        actor=manufacturer, checkpoint_id=second.pk, cases_processed=10, metrics=GOOD
    )

    assert report.model_version.label == case.device.version
    assert later.model_version.label == "2.0"


def test_it_refuses_a_report_naming_an_unknown_version(manufacturer, case):
    checkpoint = Checkpoint.objects.create(application=case, sequence=1, due_on=date(2026, 7, 1))

    with pytest.raises(ValidationError, match=r"no model version “9\.9”"):
        reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=10,
            metrics=GOOD,
            model_version="9.9",
        )


# --- Pages and the API -----------------------------------------------------------------------


def test_it_takes_a_change_from_the_web_form(client, manufacturer, case):
    client.force_login(manufacturer)
    url = reverse("devices:model-changes", args=[case.pk])

    response = client.post(
        url,
        {
            "kind": ChangeKind.RETRAINING,
            "version_label": "2.0",
            "released_on": "2026-07-01",
            "description": "Retrained.",
            "validation_figures": "sensitivity, 960/1000",
            "evidence_0": "VR-7",
        },
    )

    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Within the change protocol: recorded" in page
    assert "version 2.0 is recorded and in use" in page


def test_it_shows_form_errors_for_bad_figures(client, manufacturer, case):
    client.force_login(manufacturer)

    response = client.post(
        reverse("devices:model-changes", args=[case.pk]),
        {
            "kind": ChangeKind.RETRAINING,
            "version_label": "2.0",
            "released_on": "2026-07-01",
            "description": "Retrained.",
            "validation_figures": "sensitivity, 1200/1000",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["validation_figures"]


def test_the_reviewer_page_decides_a_held_change(client, manufacturer, reviewer, case):
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)
    client.force_login(reviewer)
    url = reverse("reviews:model-change", args=[held.pk])

    assert "is not a change the protocol allows" in client.get(url).content.decode()
    response = client.post(url, {"decision": "accept", "reason": "Validated on 1,000 cases."})

    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == ModelChangeStatus.ACCEPTED


def test_the_reviewer_page_shows_errors_not_a_500(client, manufacturer, reviewer, case):
    held = notify(manufacturer, case, kind=ChangeKind.ARCHITECTURE)
    client.force_login(reviewer)

    response = client.post(reverse("reviews:model-change", args=[held.pk]), {"decision": "x"})

    assert response.status_code == 200
    assert response.context["form"].errors


def test_the_api_takes_a_change(manufacturer, case):
    client = api_for(manufacturer)

    response = client.post(
        f"/api/applications/{case.reference}/model-changes/",
        {
            "kind": "retraining",
            "version_label": "2.0",
            "released_on": "2026-07-01",
            "description": "Retrained.",
            "validation_metrics": GOOD,
            "evidence": {"Validation report": "VR-7"},
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["status"] == "recorded"


def test_the_chart_marks_the_version_change_and_pools_figures_per_version(
    client, manufacturer, reviewer, case
):
    for sequence, counts in ((1, [90, 100]), (2, [92, 100]), (3, [190, 200])):
        checkpoint = Checkpoint.objects.create(
            application=case, sequence=sequence, due_on=date(2026, 7, sequence)
        )
        if sequence == 3:
            notify(manufacturer, case)
        reports.checkpoint_report_submit(
            actor=manufacturer,
            checkpoint_id=checkpoint.pk,
            cases_processed=100,
            metrics={"sensitivity": {"successes": counts[0], "trials": counts[1]}},
        )
    client.force_login(reviewer)

    response = client.get(reverse("reviews:performance", args=[case.pk]))

    (series,) = response.context["series"]
    assert series.chart_data()["labels"][2] == "Checkpoint 3 (model 2.0)"
    first, second = series.by_version()
    assert (first.checkpoints, first.interval.successes, first.interval.trials) == (2, 182, 200)
    assert (second.version, second.interval.trials) == ("2.0", 200)
    assert "by model version, pooled over its checkpoints" in response.content.decode()
