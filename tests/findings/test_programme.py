"""A cohort's programme report: stage times from the transitions, clocks met and breached,
signals, findings by theme, confidential fields left out by the setting; the page's queries;
the PDF drawn on the documents queue, stored with its SHA-256."""

import hashlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState, ClockStage
from findings.models import ChallengeArea, ProgrammeReport, Suggestion
from findings.programme import programme_report
from findings.reports import programme_report_draw, programme_report_request
from findings.services import FindingDetails, finding_record, theme_create, theme_finding_add
from findings.tasks import draw_missing_programme_reports
from reviews.models import (
    ClockNotice,
    ClockNoticeKind,
    ConflictOfInterest,
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from tests.factories import CohortFactory, DeviceFactory, UserFactory, make_application

pytestmark = pytest.mark.django_db
S = ApplicationState


def _in(cohort, state, **fields):
    """A case of `cohort` (make_application puts a tested case in its own cohort)."""
    application = make_application(state, **fields)
    application.cohort = cohort
    application.save(update_fields=["cohort"])
    return application


def _events(application, steps, start):
    state = S.DRAFT
    for day, transition, to_state in steps:
        ApplicationEvent.objects.create(
            application=application,
            transition=transition,
            from_state=state,
            to_state=to_state,
            created_at=start + timedelta(days=day),
        )
        state = to_state


@pytest.fixture
def cohort(organisation, manufacturer, other_manufacturer, reviewer, lead_reviewer):
    """Two cases of two organisations: one in testing, one rejected after a breached
    screening clock; a signal, and findings in a theme and out of one."""
    cohort = CohortFactory(name="Pilot (2024-25)")
    start = timezone.now() - timedelta(days=30)
    testing = _in(
        cohort,
        S.IN_CONTROLLED_TESTING,
        organisation=organisation,
        device=DeviceFactory(organisation=organisation, name="LungScan Secret"),
    )
    testing.clock_stage = ""
    testing.save(update_fields=["clock_stage"])
    _events(
        testing,
        [
            (0, "submit", S.SUBMITTED),
            (2, "start_screening", S.SCREENING),
            (10, "accept", S.ACCEPTED),
            (20, "begin_testing", S.IN_CONTROLLED_TESTING),
        ],
        start,
    )
    other_org = other_manufacturer.membership.organisation
    rejected = _in(cohort, S.REJECTED, organisation=other_org)
    _events(
        rejected,
        [
            (0, "submit", S.SUBMITTED),
            (1, "start_screening", S.SCREENING),
            (29, "reject", S.REJECTED),
        ],
        start,
    )
    ClockNotice.objects.create(
        application=rejected,
        stage=ClockStage.SCREENING,
        kind=ClockNoticeKind.BREACH,
        due_on=timezone.localdate(),
        sent_at=timezone.now(),
    )
    SafetySignal.objects.create(
        application=testing,
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title="Sensitivity fell at the Leeds site",
        description="Seen at checkpoint 2.",
    )
    area = ChallengeArea.objects.get(name="Hallucination")
    kept = finding_record(
        actor=reviewer,
        application_id=testing.pk,
        details=FindingDetails(
            "Reports invent priors", "Seen twice.", area.pk, Suggestion.GUIDANCE
        ),
    )
    finding_record(
        actor=reviewer,
        application_id=rejected.pk,
        details=FindingDetails("No synthetic data rules", "None apply.", area.pk, Suggestion.NONE),
    )
    theme = theme_create(actor=lead_reviewer, name="Generated text", summary="What LLMs add.")
    theme_finding_add(actor=lead_reviewer, theme_id=theme.pk, finding_id=kept.pk)
    return cohort


def test_it_times_each_stage_from_the_transitions(cohort, lead_reviewer):
    report = programme_report(lead_reviewer, cohort)

    times = {
        row.state: (row.cases, row.median_days, row.longest_days) for row in report["stage_times"]
    }
    assert times[S.SUBMITTED] == (2, 1.5, 2.0)
    assert times[S.SCREENING] == (2, 18.0, 28.0)
    assert times[S.ACCEPTED] == (1, 10.0, 10.0)
    # Still in testing: counted until now.
    assert times[S.IN_CONTROLLED_TESTING][0] == 1
    assert times[S.IN_CONTROLLED_TESTING][1] == pytest.approx(10.0, abs=0.1)


def test_it_counts_clocks_met_and_breached(cohort, lead_reviewer):
    clocks = {tally.stage: tally for tally in programme_report(lead_reviewer, cohort)["clocks"]}

    assert (clocks[ClockStage.SCREENING].met, clocks[ClockStage.SCREENING].breached) == (1, 1)
    assert (clocks[ClockStage.PLAN].met, clocks[ClockStage.PLAN].breached) == (1, 0)
    assert clocks[ClockStage.EVIDENCE_REVIEW].met == 0


def test_it_groups_findings_by_theme_and_outcomes_by_state(cohort, lead_reviewer):
    report = programme_report(lead_reviewer, cohort)

    groups = [(group.name, [f.title for f in group.findings]) for group in report["theme_groups"]]
    assert groups == [
        ("Generated text", ["Reports invent priors"]),
        ("Not yet in a theme", ["No synthetic data rules"]),
    ]
    assert dict(report["outcomes"]) == {S.IN_CONTROLLED_TESTING: 1, S.REJECTED: 1}
    assert dict(report["signal_counts"])[SignalSeverity.HIGH] == 1


def test_the_page_leaves_confidential_fields_out_by_default(client, cohort, lead_reviewer):
    client.force_login(lead_reviewer)

    page = client.get(reverse("findings:programme-report", args=[cohort.pk])).content.decode()

    assert "Reports invent priors" in page
    assert "Generated text" in page
    for secret in ("Demo Diagnostics Ltd", "LungScan Secret", "Sensitivity fell", "Rachel Evans"):
        assert secret not in page
    assert "Left out as confidential: Organisation names" in page


def test_the_setting_shows_a_field_when_asked(client, cohort, lead_reviewer, settings):
    settings.PROGRAMME_REPORT_CONFIDENTIAL = ["case_reference"]
    client.force_login(lead_reviewer)

    page = client.get(reverse("findings:programme-report", args=[cohort.pk])).content.decode()

    assert "Demo Diagnostics Ltd" in page
    assert "LungScan Secret" in page
    assert "Sensitivity fell at the Leeds site" in page
    reference = cohort.applications.first().reference
    assert reference not in page
    assert "Case 1" in page


def test_the_page_reads_in_a_fixed_number_of_queries(
    client, cohort, lead_reviewer, reviewer, django_assert_max_num_queries
):
    client.force_login(lead_reviewer)
    url = reverse("findings:programme-report", args=[cohort.pk])
    client.get(url)
    area = ChallengeArea.objects.first()
    for _ in range(5):
        case = _in(cohort, S.SCREENING)
        _events(case, [(0, "submit", S.SUBMITTED)], timezone.now() - timedelta(days=3))
        finding_record(
            actor=reviewer,
            application_id=case.pk,
            details=FindingDetails("More", "More.", area.pk, Suggestion.STANDARD),
        )

    with django_assert_max_num_queries(13):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.context["cases"]) == 7


def test_a_conflicted_lead_sees_the_cohort_without_that_organisation(client, cohort, organisation):
    lead = UserFactory(role=Role.LEAD_REVIEWER)
    ConflictOfInterest.objects.create(reviewer=lead, organisation=organisation, reason="Ex.")
    client.force_login(lead)

    response = client.get(reverse("findings:programme-report", args=[cohort.pk]))

    page = response.content.decode()
    assert len(response.context["cases"]) == 1
    assert "Reports invent priors" not in page
    assert "No synthetic data rules" in page
    assert "conflict of interest" in page
    assert "Draw a PDF" not in page


@pytest.mark.parametrize("who", ["reviewer", "manufacturer"])
def test_only_leads_open_the_programme_report(client, cohort, reviewer, manufacturer, who):
    client.force_login({"reviewer": reviewer, "manufacturer": manufacturer}[who])

    assert client.get(reverse("findings:programme-report", args=[cohort.pk])).status_code == 403
    assert (
        client.post(reverse("findings:programme-report-pdf", args=[cohort.pk])).status_code == 403
    )


# --- The PDF ---------------------------------------------------------------------------------


def test_it_draws_the_pdf_once_and_stores_its_hash(client, cohort, lead_reviewer):
    report = programme_report_request(actor=lead_reviewer, cohort_id=cohort.pk)

    drawn = programme_report_draw(report_id=report.pk)

    with drawn.file.open("rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF-")
    assert hashlib.sha256(content).hexdigest() == drawn.sha256
    assert drawn.size == len(content)
    # A rerun (the sweep after the task) draws nothing new.
    assert programme_report_draw(report_id=report.pk).sha256 == drawn.sha256
    assert draw_missing_programme_reports() == 0

    client.force_login(lead_reviewer)
    download = client.get(reverse("findings:programme-report-download", args=[report.pk]))
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == drawn.sha256
    page = client.get(reverse("findings:programme-report", args=[cohort.pk])).content.decode()
    assert drawn.sha256[:10] in page


def test_the_sweep_draws_a_report_whose_message_was_lost(cohort, lead_reviewer):
    report = programme_report_request(actor=lead_reviewer, cohort_id=cohort.pk)

    assert draw_missing_programme_reports() == 1

    report.refresh_from_db()
    assert report.drawn_at is not None


def test_a_conflicted_lead_cannot_download_the_pdf(client, cohort, lead_reviewer, organisation):
    report = programme_report_draw(
        report_id=programme_report_request(actor=lead_reviewer, cohort_id=cohort.pk).pk
    )
    lead = UserFactory(role=Role.LEAD_REVIEWER)
    ConflictOfInterest.objects.create(reviewer=lead, organisation=organisation, reason="Ex.")
    client.force_login(lead)

    response = client.get(reverse("findings:programme-report-download", args=[report.pk]))

    assert response.status_code == 403
    assert ProgrammeReport.objects.count() == 1
