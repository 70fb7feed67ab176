import csv
import io
from datetime import date

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from airlock.roles import Role
from devices.models import Application, ApplicationState, ClinicalArea, ClockStage, MdrClass
from reviews.models import Assignment, ConflictOfInterest
from reviews.selectors import (
    ClockStatus,
    QueueFilters,
    queue_state_counts,
    queue_total,
    review_queue,
)
from tests.factories import CohortFactory, DeviceFactory, UserFactory, make_application

S = ApplicationState
QUEUE = reverse("reviews:queue")


def _references(response) -> list[str]:
    return [application.reference for application in response.context["page"]]


def _set(application: Application, **fields) -> Application:
    Application.objects.filter(pk=application.pk).update(**fields)
    application.refresh_from_db()
    return application


# --- Access ----------------------------------------------------------------------------------


def test_it_shows_reviewers_the_queue(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert application.reference in response.content.decode()


@pytest.mark.parametrize("persona", ["manufacturer", "other_manufacturer", "user_without_role"])
def test_it_refuses_people_who_are_not_reviewers(client, request, persona):
    client.force_login(request.getfixturevalue(persona))

    for name in ("queue", "queue-export", "home", "conflicts"):
        assert client.get(reverse(f"reviews:{name}")).status_code == 403, name


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_refuses_wrong_methods(client, lead_reviewer):
    client.force_login(lead_reviewer)

    assert client.post(QUEUE).status_code == 405
    assert client.post(reverse("reviews:queue-export")).status_code == 405
    assert client.get(reverse("reviews:bulk-assign")).status_code == 405


def test_it_hides_drafts_and_conflicted_organisations(client, reviewer):
    draft = make_application(S.DRAFT)
    conflicted = make_application(S.SUBMITTED)
    visible = make_application(S.SUBMITTED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Former employer."
    )
    client.force_login(reviewer)

    references = _references(client.get(QUEUE))

    assert references == [visible.reference]
    assert draft.reference not in references


# --- Filters, search, sort, pagination -------------------------------------------------------


def test_it_filters_by_each_field(client, reviewer, lead_reviewer):
    cohort = CohortFactory(name="Pilot (2025-26)")
    radiology = DeviceFactory(
        name="ChestView",
        clinical_area=ClinicalArea.RADIOLOGY,
        mdr_class=MdrClass.III,
        significance="treat_diagnose",
    )
    match = make_application(
        S.SCREENING, device=radiology, organisation=radiology.organisation, cohort=cohort
    )
    _set(match, assignee=reviewer)
    make_application(S.SUBMITTED)
    make_application(S.EVIDENCE_REVIEW)
    client.force_login(reviewer)

    for params in (
        {"state": "screening"},
        {"mdr_class": "III"},
        {"imdrf_category": radiology.imdrf_category},
        {"clinical_area": "radiology"},
        {"cohort": cohort.pk},
        {"assignee": "me"},
        {"assignee": reviewer.pk},
        {"q": match.reference.lower()},
        {"q": "chestv"},
        {"q": match.organisation.name.upper()},
    ):
        assert _references(client.get(QUEUE, params)) == [match.reference], params
    assert match.reference not in _references(client.get(QUEUE, {"assignee": "none"}))
    assert _references(client.get(QUEUE, {"assignee": lead_reviewer.pk})) == []


def test_the_search_finds_references_by_start_or_digits_and_names_with_digits(client, reviewer):
    scan = make_application(S.SUBMITTED, reference="AIA-2026-0042")
    _set(scan, device=DeviceFactory(name="RetinaScan 2", organisation=scan.organisation))
    other = make_application(S.SUBMITTED, reference="AIA-2026-0107")
    client.force_login(reviewer)

    def found(q: str) -> set[str]:
        return set(_references(client.get(QUEUE, {"q": q})))

    assert found("aia-2026-004") == {scan.reference}
    assert found("AIA") == {scan.reference, other.reference}
    assert found("0042") == {scan.reference}
    assert found("26-01") == {other.reference}
    assert found("retinascan 2") == {scan.reference}
    assert found("scan 9") == set()


@time_machine.travel(date(2026, 6, 1))
def test_it_filters_by_clock_status(client, reviewer):
    on_track = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2026, 6, 30)
    )
    due_soon = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2026, 6, 3)
    )
    breached = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2026, 5, 29)
    )
    paused = _set(
        make_application(S.INFORMATION_REQUESTED),
        clock_stage="screening",
        clock_due_on=date(2026, 5, 1),
        clock_paused_on=date(2026, 4, 20),
    )
    none = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    expected = {
        "on_track": on_track,
        "due_soon": due_soon,
        "breached": breached,
        "paused": paused,
        "none": none,
    }
    for status, application in expected.items():
        assert _references(client.get(QUEUE, {"clock": status})) == [application.reference]
        # The SQL rules and the model's own property always agree.
        assert ClockStatus(application.clock_status or "none") == status
    page = client.get(QUEUE).content.decode()
    for label in ("On track", "Due soon", "Breached", "Paused"):
        assert label in page


@time_machine.travel(date(2026, 12, 18))
def test_due_soon_counts_working_days_across_christmas(reviewer):
    # Five working days after Friday 18 December 2026 are 21-24 December and, skipping
    # Christmas Day and the Boxing Day substitute (Monday 28th), Tuesday 29 December.
    inside = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2026, 12, 29)
    )
    outside = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2026, 12, 30)
    )

    queue = {
        a.reference: a.clock_state for a in review_queue(user=reviewer, filters=QueueFilters())
    }

    assert queue[inside.reference] == ClockStatus.DUE_SOON == inside.clock_status
    assert queue[outside.reference] == ClockStatus.ON_TRACK == outside.clock_status


def test_it_sorts_by_clock_due_date_with_no_clock_last(client, reviewer):
    late = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2030, 3, 1)
    )
    early = _set(
        make_application(S.SCREENING), clock_stage="screening", clock_due_on=date(2030, 1, 1)
    )
    no_clock = make_application(S.ACCEPTED)
    client.force_login(reviewer)

    assert _references(client.get(QUEUE)) == [early.reference, late.reference, no_clock.reference]
    assert _references(client.get(QUEUE, {"sort": "-clock"})) == [
        late.reference,
        early.reference,
        no_clock.reference,
    ]


def test_it_pages_the_queue_and_caps_the_page_size(client, reviewer):
    for _ in range(3):
        make_application(S.SUBMITTED)
    client.force_login(reviewer)

    first = client.get(QUEUE, {"per_page": 2})
    second = client.get(QUEUE, {"per_page": 2, "page": 2})
    huge = client.get(QUEUE, {"per_page": 5000})
    nonsense = client.get(QUEUE, {"page": "last-but-one", "per_page": "lots"})

    assert len(first.context["page"]) == 2
    assert len(second.context["page"]) == 1
    assert huge.context["page"].paginator.per_page == 100
    assert nonsense.status_code == 200
    assert nonsense.context["form"].errors.keys() == {"per_page"}
    assert nonsense.context["page"].paginator.per_page == 25


def test_it_shows_field_errors_for_bad_filters_and_ignores_them(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.get(QUEUE, {"state": "nonsense", "cohort": "999999", "clock": "late"})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"state", "cohort", "clock"}
    assert "There is a problem" in response.content.decode()
    assert _references(response) == [application.reference]


def test_it_counts_each_state_under_the_other_filters(client, reviewer):
    make_application(S.SUBMITTED)
    make_application(S.SUBMITTED)
    screening = make_application(S.SCREENING)
    _set(screening, assignee=reviewer)
    client.force_login(reviewer)

    counts = dict(client.get(QUEUE, {"state": "screening"}).context["state_counts"])
    mine = dict(queue_state_counts(user=reviewer, filters=QueueFilters(assignee="me")))

    assert counts[S.SUBMITTED] == 2
    assert counts[S.SCREENING] == 1
    assert counts[S.CLEARED] == 0
    assert S.DRAFT not in counts
    assert mine[S.SUBMITTED] == 0
    assert mine[S.SCREENING] == 1


def _queue_queries(client, count: int, per_page: int = 100) -> int:
    for _ in range(count):
        application = make_application(S.SCREENING, cohort=CohortFactory())
        _set(application, assignee=UserFactory(role=Role.REVIEWER), clock_stage="screening")
    # Nothing cached: the counts and the forms' menus are all read, the most a page costs.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(QUEUE, {"per_page": per_page})
    assert response.status_code == 200
    shown = min(per_page, Application.objects.filter(state=S.SCREENING).count())
    assert len(response.context["page"]) == shown
    return len(queries)


def test_the_queue_costs_the_same_queries_for_5_or_60_applications(client, lead_reviewer):
    client.force_login(lead_reviewer)

    with_5 = _queue_queries(client, 5)
    with_60 = _queue_queries(client, 55)

    assert with_5 == with_60


def test_the_queue_costs_the_same_queries_for_25_or_100_a_page(client, lead_reviewer):
    client.force_login(lead_reviewer)

    page_of_25 = _queue_queries(client, 30, per_page=25)
    page_of_100 = _queue_queries(client, 0, per_page=100)

    assert page_of_25 == page_of_100


def test_the_queue_reuses_its_counts_and_menus_until_an_application_changes(client, lead_reviewer):
    make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)
    client.get(QUEUE)

    with CaptureQueriesContext(connection) as warm:
        response = client.get(QUEUE, {"page": 1})
    counted = [
        q["sql"]
        for q in warm.captured_queries
        # The header's unread notifications are counted on every page (one indexed read).
        if "COUNT(" in q["sql"].upper() and "notification" not in q["sql"]
    ]
    assert counted == []
    assert dict(response.context["state_counts"])[S.SUBMITTED] == 1

    added = make_application(S.SUBMITTED)
    response = client.get(QUEUE)
    assert dict(response.context["state_counts"])[S.SUBMITTED] == 2
    assert response.context["page"].paginator.count == 2
    assert added.reference in response.content.decode()


def test_a_conflict_declared_hides_the_cases_at_once_despite_the_cache(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)
    assert application.reference in client.get(QUEUE).content.decode()

    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=application.organisation, reason="Shareholder."
    )
    response = client.get(QUEUE)

    assert application.reference not in response.content.decode()
    assert dict(response.context["state_counts"])[S.SUBMITTED] == 0


def test_the_counts_are_kept_apart_per_reviewer_and_filters(client, reviewer, lead_reviewer):
    mine = _set(make_application(S.SCREENING), assignee=reviewer)
    make_application(S.SCREENING)
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=mine.organisation, reason="Advised them."
    )
    client.force_login(reviewer)
    everyone = dict(client.get(QUEUE).context["state_counts"])
    assigned = dict(client.get(QUEUE, {"assignee": "me"}).context["state_counts"])
    client.force_login(lead_reviewer)
    lead = dict(client.get(QUEUE).context["state_counts"])

    assert (everyone[S.SCREENING], assigned[S.SCREENING], lead[S.SCREENING]) == (2, 1, 1)


def test_the_total_comes_from_the_state_counts(reviewer):
    counts = [(S.SUBMITTED, 3), (S.SCREENING, 2)]

    assert queue_total(counts, QueueFilters()) == 5
    assert queue_total(counts, QueueFilters(state="screening")) == 2


# --- CSV export ------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="review-queue-')
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_it_exports_the_filtered_queue_as_csv(client, reviewer):
    wanted = make_application(S.SCREENING)
    make_application(S.SUBMITTED)
    client.force_login(reviewer)

    rows = _csv(client.get(reverse("reviews:queue-export"), {"state": "screening"}))

    assert rows[0][:3] == ["Reference", "State", "Device"]
    assert [row[0] for row in rows[1:]] == [wanted.reference]
    assert rows[1][1] == "Screening"
    assert rows[1][4] == wanted.organisation.name


def test_the_csv_export_neutralises_spreadsheet_formulas(client, reviewer):
    device = DeviceFactory(name='=HYPERLINK("http://evil.example")', version="-1")
    make_application(S.SUBMITTED, device=device, organisation=device.organisation)
    client.force_login(reviewer)

    row = _csv(client.get(reverse("reviews:queue-export")))[1]

    assert row[2] == '\'=HYPERLINK("http://evil.example")'
    assert row[3] == "'-1"


def test_the_csv_export_leaves_out_what_the_reviewer_cannot_see(client, reviewer):
    conflicted = make_application(S.SUBMITTED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Shares."
    )
    client.force_login(reviewer)

    assert _csv(client.get(reverse("reviews:queue-export")))[1:] == []


# --- Bulk assignment -------------------------------------------------------------------------


def test_a_lead_assigns_ticked_applications_in_bulk(client, lead_reviewer, reviewer):
    first = make_application(S.SUBMITTED)
    second = make_application(S.SCREENING)
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("reviews:bulk-assign"),
        {
            "applications": [first.pk, second.pk],
            "reviewer": reviewer.pk,
            "query": "state=submitted",
        },
    )

    assert response.status_code == 302
    assert response.url == f"{QUEUE}?state=submitted"
    for application in (first, second):
        application.refresh_from_db()
        assert application.assignee == reviewer
        assignment = Assignment.objects.get(application=application)
        assert (assignment.reviewer, assignment.assigned_by) == (reviewer, lead_reviewer)


def test_bulk_assignment_refuses_conflicted_and_closed_cases_with_reasons(
    client, lead_reviewer, reviewer
):
    ok = make_application(S.SUBMITTED)
    conflicted = make_application(S.SUBMITTED)
    closed = make_application(S.CLEARED)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=conflicted.organisation, reason="Former employer."
    )
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("reviews:bulk-assign"),
        {"applications": [ok.pk, conflicted.pk, closed.pk], "reviewer": reviewer.pk},
        follow=True,
    )

    page = response.content.decode()
    assert "has declared a conflict of interest" in page
    assert "needs no reviewer now" in page
    conflicted.refresh_from_db()
    closed.refresh_from_db()
    ok.refresh_from_db()
    assert ok.assignee == reviewer
    assert conflicted.assignee is None
    assert closed.assignee is None


def test_bulk_assignment_shows_field_errors_for_bad_input(client, lead_reviewer):
    make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("reviews:bulk-assign"), {"applications": ["abc"], "reviewer": "", "query": "q=x"}
    )

    assert response.status_code == 200
    assert response.context["bulk_form"].errors.keys() == {"applications", "reviewer"}
    assert "There is a problem" in response.content.decode()


@pytest.mark.parametrize("pk", ["9223372036854775808", "9" * 40, "-1", "²"])
def test_bulk_assignment_treats_an_impossible_id_as_a_wrong_choice(
    client, lead_reviewer, reviewer, pk
):
    application = make_application(S.SUBMITTED)
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("reviews:bulk-assign"),
        {"applications": [str(application.pk), pk], "reviewer": reviewer.pk},
    )

    assert response.status_code == 200
    assert list(response.context["bulk_form"].errors) == ["applications"]
    application.refresh_from_db()
    assert application.assignee is None


def test_reviewers_cannot_assign_in_bulk(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.post(
        reverse("reviews:bulk-assign"), {"applications": [application.pk], "reviewer": reviewer.pk}
    )

    assert response.status_code == 403
    assert "Assign the ticked" not in client.get(QUEUE).content.decode()


# --- My work ---------------------------------------------------------------------------------


def test_home_sends_reviewers_to_their_work(client, reviewer, lead_reviewer, admin_user):
    for user in (reviewer, lead_reviewer):
        client.force_login(user)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response.url == reverse("reviews:home")
    client.force_login(admin_user)
    assert client.get(reverse("home")).status_code == 200


@time_machine.travel(date(2026, 6, 1))
def test_my_work_lists_my_cases_new_submissions_requests_and_countersignatures(
    client, lead_reviewer
):
    mine = _set(
        make_application(S.SCREENING),
        assignee=lead_reviewer,
        clock_stage=ClockStage.SCREENING,
        clock_due_on=date(2026, 6, 2),
    )
    new = make_application(S.SUBMITTED)
    asked = make_application(S.INFORMATION_REQUESTED)
    asked.information_requests.update(due_on=date(2026, 6, 3))
    clearance = make_application(S.EVIDENCE_REVIEW)
    client.force_login(lead_reviewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reviews:home"))

    work = response.context["work"]
    assert work.assigned == [mine]
    assert work.unassigned_new == [new]
    assert [r.application for r in work.requests_due_soon] == [asked]
    assert [d.application for d in work.pending_countersignatures] == [clearance]
    page = response.content.decode()
    assert "Due soon" in page
    assert len(queries) < 25


def test_the_state_links_and_pages_keep_the_other_filters(client, reviewer):
    for _ in range(3):
        make_application(S.SUBMITTED)
    client.force_login(reviewer)

    page = client.get(QUEUE, {"state": "submitted", "q": "AIA", "per_page": 2}).content.decode()

    assert f'href="{QUEUE}?q=AIA&amp;per_page=2"' in page  # "All states"
    assert f'href="{QUEUE}?state=submitted&amp;q=AIA&amp;per_page=2&amp;page=2"' in page
    assert 'export.csv?state=submitted&amp;q=AIA&amp;per_page=2"' in page
