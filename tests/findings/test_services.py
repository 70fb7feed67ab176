"""The findings services called directly: every refusal, with the boundary values, and the
audit rows (chained) each change writes."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState
from findings.models import (
    ChallengeArea,
    Finding,
    FindingEvent,
    FindingEventKind,
    ProgrammeEvent,
    ProgrammeEventKind,
    ProgrammeReport,
    Suggestion,
    Theme,
)
from findings.reports import programme_report_request
from findings.services import (
    FindingDetails,
    finding_edit,
    finding_record,
    theme_create,
    theme_edit,
    theme_finding_add,
    theme_finding_remove,
)
from ledger.models import ChainLink
from ledger.verify import chain_verify
from reviews.models import Checkpoint, ConflictOfInterest
from tests.factories import UserFactory, add_evidence, make_application

pytestmark = pytest.mark.django_db
S = ApplicationState


@pytest.fixture
def area():
    return ChallengeArea.objects.get(name="Explainability")


@pytest.fixture
def case(organisation, manufacturer):
    return make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)


@pytest.fixture
def other_case(other_manufacturer):
    return make_application(S.SCREENING, organisation=other_manufacturer.membership.organisation)


def details(area, **overrides) -> FindingDetails:
    fields = {
        "title": "Saliency maps do not explain the score",
        "description": "Clinicians could not tell why a study was flagged.",
        "challenge_area_id": area.pk,
        "suggests": Suggestion.GUIDANCE,
    }
    return FindingDetails(**(fields | overrides))


def conflicted(role, organisation):
    person = UserFactory(role=role)
    ConflictOfInterest.objects.create(reviewer=person, organisation=organisation, reason="Ex.")
    return person


def test_it_seeds_the_pilot_and_phase_2_challenge_areas():
    names = set(ChallengeArea.objects.values_list("name", flat=True))

    assert {
        "Synthetic data validation",
        "Explainability",
        "Hallucination",
        "Continuous post-market surveillance",
        "Generative AI drifting from its intended purpose",
        "The PCCP and post-market surveillance lifecycle",
        "Performance evaluation of AI diagnostic tests",
    } <= names


def test_it_records_a_finding_with_its_source_and_a_chained_audit_row(reviewer, case, area):
    evidence = case.evidence.first()
    checkpoint = Checkpoint.objects.create(application=case, sequence=1, due_on=timezone.now())

    finding = finding_record(
        actor=reviewer,
        application_id=case.pk,
        details=details(area, evidence_id=evidence.pk, checkpoint_id=checkpoint.pk),
    )

    assert (finding.evidence, finding.checkpoint, finding.recorded_by) == (
        evidence,
        checkpoint,
        reviewer,
    )
    event = FindingEvent.objects.get(finding=finding)
    assert (event.kind, event.application, event.actor) == (
        FindingEventKind.RECORDED,
        case,
        reviewer,
    )
    assert ChainLink.objects.filter(source="findings.findingevent", object_id=event.pk).exists()
    assert chain_verify().ok


@pytest.mark.parametrize("who", ["manufacturer", "observer", "no role"])
def test_it_refuses_anyone_outside_the_regulator(who, manufacturer, case, area):
    actor = {
        "manufacturer": manufacturer,
        "observer": UserFactory(role=Role.OBSERVER),
        "no role": UserFactory(),
    }[who]

    with pytest.raises(PermissionDenied, match="Only the regulator's reviewers"):
        finding_record(actor=actor, application_id=case.pk, details=details(area))

    assert not Finding.objects.exists()


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.LEAD_REVIEWER])
def test_it_refuses_a_reviewer_conflicted_with_the_organisation(role, organisation, case, area):
    with pytest.raises(PermissionDenied, match="no such case"):
        finding_record(
            actor=conflicted(role, organisation), application_id=case.pk, details=details(area)
        )

    assert not Finding.objects.exists()


def test_it_refuses_a_draft_which_is_still_the_manufacturer_s(reviewer, organisation, area):
    draft = make_application(S.DRAFT, organisation=organisation)

    with pytest.raises(PermissionDenied):
        finding_record(actor=reviewer, application_id=draft.pk, details=details(area))


def test_it_refuses_evidence_of_another_case(reviewer, case, other_case, area):
    foreign = add_evidence(other_case, "other")

    with pytest.raises(ValidationError) as refused:
        finding_record(
            actor=reviewer, application_id=case.pk, details=details(area, evidence_id=foreign.pk)
        )

    assert "evidence" in refused.value.message_dict
    assert case.reference in refused.value.message_dict["evidence"][0]
    assert not Finding.objects.exists()


def test_it_refuses_a_checkpoint_of_another_case(reviewer, case, other_case, area):
    foreign = Checkpoint.objects.create(
        application=other_case, sequence=1, due_on=timezone.localdate()
    )

    with pytest.raises(ValidationError) as refused:
        finding_record(
            actor=reviewer,
            application_id=case.pk,
            details=details(area, checkpoint_id=foreign.pk),
        )

    assert "checkpoint" in refused.value.message_dict


def test_it_refuses_a_retired_challenge_area(reviewer, case, area):
    ChallengeArea.objects.filter(pk=area.pk).update(is_active=False)

    with pytest.raises(ValidationError) as refused:
        finding_record(actor=reviewer, application_id=case.pk, details=details(area))

    assert "challenge_area" in refused.value.message_dict


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"description": "\n"}, "description"),
        ({"suggests": "a law"}, "suggests"),
        ({"challenge_area_id": 0}, "challenge_area"),
    ],
)
def test_it_refuses_missing_or_unknown_values(reviewer, case, area, overrides, field):
    with pytest.raises(ValidationError) as refused:
        finding_record(actor=reviewer, application_id=case.pk, details=details(area, **overrides))

    assert field in refused.value.message_dict


def test_it_accepts_a_one_character_title(reviewer, case, area):
    finding = finding_record(
        actor=reviewer, application_id=case.pk, details=details(area, title="X")
    )

    assert finding.title == "X"


# --- Editing and linking across cases --------------------------------------------------------


@pytest.fixture
def finding(reviewer, case, area):
    return finding_record(actor=reviewer, application_id=case.pk, details=details(area))


@pytest.fixture
def elsewhere(reviewer, other_case, area):
    return finding_record(
        actor=reviewer, application_id=other_case.pk, details=details(area, title="Elsewhere")
    )


def test_it_edits_and_links_findings_across_cases_both_ways(reviewer, finding, elsewhere, area):
    finding_edit(
        actor=reviewer,
        finding_id=finding.pk,
        details=details(area, suggests=Suggestion.STANDARD),
        related_ids=[elsewhere.pk],
    )

    finding.refresh_from_db()
    assert finding.suggests == Suggestion.STANDARD
    assert list(elsewhere.related.all()) == [finding]
    kinds = list(FindingEvent.objects.filter(finding=finding).values_list("kind", flat=True))
    assert kinds == [FindingEventKind.RECORDED, FindingEventKind.EDITED, FindingEventKind.LINKED]

    finding_edit(actor=reviewer, finding_id=finding.pk, details=details(area), related_ids=[])

    assert not finding.related.exists()
    assert FindingEvent.objects.filter(finding=finding, kind=FindingEventKind.UNLINKED).exists()


def test_it_refuses_a_link_to_a_finding_on_the_same_case(reviewer, finding, case, area):
    sibling = finding_record(
        actor=reviewer, application_id=case.pk, details=details(area, title="Sibling")
    )

    with pytest.raises(ValidationError) as refused:
        finding_edit(
            actor=reviewer, finding_id=finding.pk, details=details(area), related_ids=[sibling.pk]
        )

    assert "related" in refused.value.message_dict
    assert not finding.related.exists()


def test_it_refuses_a_link_to_a_finding_the_reviewer_cannot_see(
    finding, elsewhere, other_manufacturer, area
):
    blind = conflicted(Role.REVIEWER, other_manufacturer.membership.organisation)

    with pytest.raises(ValidationError):
        finding_edit(
            actor=blind, finding_id=finding.pk, details=details(area), related_ids=[elsewhere.pk]
        )


def test_an_edit_keeps_links_the_editor_cannot_see(
    reviewer, finding, elsewhere, other_manufacturer, area
):
    finding.related.add(elsewhere)
    blind = conflicted(Role.REVIEWER, other_manufacturer.membership.organisation)

    finding_edit(actor=blind, finding_id=finding.pk, details=details(area), related_ids=[])

    assert list(finding.related.all()) == [elsewhere]


def test_it_refuses_to_edit_a_finding_of_a_conflicted_organisation(organisation, finding, area):
    with pytest.raises(PermissionDenied):
        finding_edit(
            actor=conflicted(Role.REVIEWER, organisation),
            finding_id=finding.pk,
            details=details(area, title="Changed"),
            related_ids=[],
        )

    finding.refresh_from_db()
    assert finding.title != "Changed"


def test_the_findings_trail_is_append_only(finding):
    event = FindingEvent.objects.get(finding=finding)

    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        FindingEvent.objects.filter(pk=event.pk).update(detail="rewritten")
    with pytest.raises(PermissionError):
        event.delete()


# --- Themes ----------------------------------------------------------------------------------


def test_a_lead_curates_a_theme_each_step_audited(lead_reviewer, finding):
    theme = theme_create(actor=lead_reviewer, name="  Explaining scores  ", summary="Why.")
    theme_finding_add(actor=lead_reviewer, theme_id=theme.pk, finding_id=finding.pk)
    theme_edit(actor=lead_reviewer, theme_id=theme.pk, name="Explaining a score", summary="Why.")
    theme_finding_remove(actor=lead_reviewer, theme_id=theme.pk, finding_id=finding.pk)

    theme.refresh_from_db()
    assert theme.name == "Explaining a score"
    assert not theme.findings.exists()
    assert list(ProgrammeEvent.objects.values_list("kind", flat=True)) == [
        ProgrammeEventKind.THEME_CREATED,
        ProgrammeEventKind.THEME_EDITED,
    ]
    assert list(FindingEvent.objects.filter(theme=theme).values_list("kind", flat=True)) == [
        FindingEventKind.THEMED,
        FindingEventKind.UNTHEMED,
    ]
    assert chain_verify().ok


def test_only_a_lead_curates_themes(reviewer, lead_reviewer, finding):
    theme = theme_create(actor=lead_reviewer, name="Drift")

    with pytest.raises(PermissionDenied, match="lead reviewer"):
        theme_create(actor=reviewer, name="Another")
    with pytest.raises(PermissionDenied):
        theme_edit(actor=reviewer, theme_id=theme.pk, name="Renamed")
    with pytest.raises(PermissionDenied):
        theme_finding_add(actor=reviewer, theme_id=theme.pk, finding_id=finding.pk)
    with pytest.raises(PermissionDenied):
        theme_finding_remove(actor=reviewer, theme_id=theme.pk, finding_id=finding.pk)

    assert Theme.objects.get().name == "Drift"
    assert not theme.findings.exists()


@pytest.mark.parametrize("name", ["", "   ", "drift", "DRIFT "])
def test_it_refuses_a_blank_or_taken_theme_name(lead_reviewer, name):
    theme_create(actor=lead_reviewer, name="Drift")

    with pytest.raises(ValidationError) as refused:
        theme_create(actor=lead_reviewer, name=name)

    assert "name" in refused.value.message_dict
    assert Theme.objects.count() == 1


def test_a_theme_keeps_its_own_name_on_edit(lead_reviewer):
    theme = theme_create(actor=lead_reviewer, name="Drift")

    theme_edit(actor=lead_reviewer, theme_id=theme.pk, name="Drift", summary="Now summarised.")

    theme.refresh_from_db()
    assert theme.summary == "Now summarised."


def test_it_refuses_a_finding_the_lead_cannot_see(organisation, finding):
    lead = conflicted(Role.LEAD_REVIEWER, organisation)
    theme = theme_create(actor=lead, name="Drift")

    with pytest.raises(ValidationError) as refused:
        theme_finding_add(actor=lead, theme_id=theme.pk, finding_id=finding.pk)

    assert "finding" in refused.value.message_dict
    assert not theme.findings.exists()


def test_it_refuses_adding_twice_or_removing_what_is_not_there(lead_reviewer, finding):
    theme = theme_create(actor=lead_reviewer, name="Drift")

    with pytest.raises(ValidationError, match="is not in this theme"):
        theme_finding_remove(actor=lead_reviewer, theme_id=theme.pk, finding_id=finding.pk)
    theme_finding_add(actor=lead_reviewer, theme_id=theme.pk, finding_id=finding.pk)
    with pytest.raises(ValidationError, match="already in this theme"):
        theme_finding_add(actor=lead_reviewer, theme_id=theme.pk, finding_id=finding.pk)

    assert FindingEvent.objects.filter(kind=FindingEventKind.THEMED).count() == 1


# --- Programme report PDFs -------------------------------------------------------------------


def test_a_lead_asks_for_a_programme_report_pdf_sent_after_commit(
    lead_reviewer, case, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("airlock.queue.enqueue", lambda name, *args: sent.append((name, args)))

    with django_capture_on_commit_callbacks(execute=True):
        report = programme_report_request(actor=lead_reviewer, cohort_id=case.cohort_id)

    assert sent == [("findings.tasks.draw_programme_report", (report.pk,))]
    assert report.hidden_fields == [
        "organisation",
        "device",
        "signal_detail",
        "finding_source",
        "people",
    ]
    assert ProgrammeEvent.objects.get(report=report).kind == ProgrammeEventKind.REPORT_REQUESTED


def test_it_refuses_a_report_pdf_to_a_reviewer_or_a_conflicted_lead(reviewer, organisation, case):
    with pytest.raises(PermissionDenied, match="lead reviewer"):
        programme_report_request(actor=reviewer, cohort_id=case.cohort_id)
    with pytest.raises(PermissionDenied, match="conflict of interest"):
        programme_report_request(
            actor=conflicted(Role.LEAD_REVIEWER, organisation), cohort_id=case.cohort_id
        )

    assert not ProgrammeReport.objects.exists()
