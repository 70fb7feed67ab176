from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from airlock.roles import Role
from devices.models import ApplicationState, CheckpointReport
from reviews.decisions import clearance_countersign
from reviews.models import (
    Checkpoint,
    CheckpointStatus,
    EvidenceAssessment,
    GmlpPrinciple,
    GmlpRating,
    InternalNote,
    Metric,
    MetricThreshold,
)
from reviews.selectors import exit_report
from tests.factories import UserFactory, make_application, make_manufacturer

S = ApplicationState


def _cleared_case():
    application = make_application(S.EVIDENCE_REVIEW)
    plan = application.testing_plan
    MetricThreshold.objects.create(
        plan=plan,
        metric=Metric.OVERRIDE_RATE,
        comparator="lte",
        value="0.20",
        critical_value="0.30",
    )
    manufacturer = make_manufacturer(application.organisation)
    today = timezone.localdate()
    for sequence, metrics in (
        (1, {"sensitivity": 0.93, "override_rate": 0.1}),
        (2, {"sensitivity": 0.78}),
    ):
        checkpoint = Checkpoint.objects.create(
            application=application,
            sequence=sequence,
            due_on=today - timedelta(days=60 - 28 * sequence),
            status=CheckpointStatus.SUBMITTED,
        )
        CheckpointReport.objects.create(
            checkpoint=checkpoint, submitted_by=manufacturer, cases_processed=400, metrics=metrics
        )
    Checkpoint.objects.create(application=application, sequence=3, due_on=today, status="overdue")
    assessor = application.pending_clearance().decided_by
    for principle in GmlpPrinciple:
        EvidenceAssessment.objects.create(
            application=application,
            principle=principle,
            rating=GmlpRating.MET if principle != 7 else GmlpRating.PARTLY_MET,
            comment=f"Comment on {principle.value}.",
            assessor=assessor,
        )
    countersigner = UserFactory(role=Role.LEAD_REVIEWER, full_name="Carla Second")
    clearance_countersign(application_id=application.pk, actor=countersigner)
    application.refresh_from_db()
    return application


def test_the_exit_report_compares_checkpoints_with_thresholds(db):
    application = _cleared_case()

    report = exit_report(application)

    first, second, third = report.checkpoints
    by_metric = {r.threshold.metric: r for r in first.metrics}
    assert by_metric["sensitivity"].observed == Decimal("0.93")
    assert by_metric["sensitivity"].met is True
    assert by_metric["override_rate"].met is True
    second_sensitivity = next(r for r in second.metrics if r.threshold.metric == "sensitivity")
    assert (second_sensitivity.met, second_sensitivity.critical) == (False, True)
    assert next(r for r in second.metrics if r.threshold.metric == "override_rate").met is None
    assert third.report is None
    assert (report.screening_met, report.gmlp_met, report.is_final) == (0, 9, True)


def test_the_exit_report_page_states_everything_and_prints_without_navigation(client, reviewer):
    application = _cleared_case()
    client.force_login(reviewer)

    response = client.get(reverse("reviews:exit-report", args=[application.pk]))

    page = response.content.decode()
    for text in (
        "Taking part in the sandbox is not approval.",
        "Exit report",
        "Testing plan",
        "at least 0.9",
        '0.93 <span class="govuk-tag govuk-tag--green">Met</span>',
        "Critical breach",
        "Not reported",
        "Missed",
        "Safety signals (",
        "Threshold breaches (",
        "Serious incidents (",
        "Checkpoints missed or reported late (",
        "Comment on 7.",
        "Partly met",
        "9 of 10 principles met.",
        "Carla Second",
        "Proposing Reviewer",
    ):
        assert text in page, text
    assert "Interim report" not in page
    assert "css/print.css" in page


def test_an_open_case_gets_an_interim_report(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    page = client.get(reverse("reviews:exit-report", args=[application.pk])).content.decode()

    assert "Interim report" in page
    assert "No checkpoints were scheduled." in page


def test_the_manufacturer_gets_their_copy_once_the_case_is_decided(
    client, manufacturer, organisation
):
    decided = make_application(S.NOT_CLEARED, organisation=organisation)
    open_case = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    InternalNote.objects.create(application=decided, author=decided.created_by, body="Internal!")
    client.force_login(manufacturer)

    case_page = client.get(reverse("devices:application-detail", args=[decided.pk]))
    copy = client.get(reverse("devices:exit-report", args=[decided.pk]))
    early = client.get(reverse("devices:exit-report", args=[open_case.pk]), follow=True)

    url = reverse("devices:exit-report", args=[decided.pk])
    assert url in case_page.content.decode()
    page = copy.content.decode()
    assert copy.status_code == 200
    assert f"Exit report: {decided.title}" in page
    assert "Taking part in the sandbox is not approval." in page
    assert "Internal!" not in page
    assert "The exit report is issued when the case is decided" in early.content.decode()


def test_no_one_else_gets_the_manufacturer_s_copy(client, other_manufacturer, reviewer):
    decided = make_application(S.CLEARED)
    url = reverse("devices:exit-report", args=[decided.pk])

    client.force_login(other_manufacturer)
    assert client.get(url).status_code == 404
    client.force_login(reviewer)
    assert client.get(url).status_code == 403


def test_the_exit_report_is_for_reviewers_only(client, manufacturer, organisation):
    application = make_application(S.CLEARED, organisation=organisation)
    client.force_login(manufacturer)

    assert client.get(reverse("reviews:exit-report", args=[application.pk])).status_code == 403


def test_the_print_stylesheet_hides_the_navigation(settings):
    stylesheet = (settings.BASE_DIR / "static" / "css" / "print.css").read_text()

    assert "@media print" in stylesheet
    assert "header, footer, nav" in stylesheet
