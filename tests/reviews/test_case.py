import pytest
from django.urls import reverse

from airlock.roles import Role
from devices.models import ApplicationEvent, ApplicationState, Message
from devices.selectors import timeline
from notifications.models import Notification
from reviews.models import Assignment, ConflictOfInterest, Decision, DecisionKind, InternalNote
from tests.factories import UserFactory, add_evidence, make_application

S = ApplicationState


def _url(name: str, application, *args) -> str:
    return reverse(f"reviews:{name}", args=[application.pk, *args])


CASE_PAGES = [
    "application",
    "screening",
    "information-request",
    "testing-plan",
    "evidence-review",
    "decision",
    "exit-report",
]
CASE_POSTS = [
    ("claim", ()),
    ("assign", ()),
    ("note-add", ()),
    ("message-add", ()),
    ("transition", ("suspend",)),
    ("accept", ()),
    ("reject", ()),
    ("testing-plan-send", ()),
    ("testing-plan-withdraw", ()),
    ("countersign", ()),
    ("withdraw-clearance", ()),
]
# Actions whose page (GET) is the confirmation step before the POST that acts.
CONFIRMED_BY_A_PAGE = {"countersign"}


# --- Who may open a case ---------------------------------------------------------------------


@pytest.mark.parametrize("page", CASE_PAGES)
def test_every_case_page_opens_for_reviewers_in_every_state(client, reviewer, page):
    client.force_login(reviewer)
    for state in S:
        if state == S.DRAFT:
            continue
        application = make_application(state)
        assert client.get(_url(page, application)).status_code == 200, (page, state)


@pytest.mark.parametrize("page", CASE_PAGES)
@pytest.mark.parametrize("persona", ["manufacturer", "other_manufacturer", "user_without_role"])
def test_case_pages_refuse_people_who_are_not_reviewers(
    client, request, organisation, page, persona
):
    application = make_application(S.SCREENING, organisation=organisation)
    client.force_login(request.getfixturevalue(persona))

    assert client.get(_url(page, application)).status_code == 403


@pytest.mark.parametrize(("name", "args"), CASE_POSTS)
@pytest.mark.parametrize("persona", ["manufacturer", "other_manufacturer"])
def test_case_actions_refuse_manufacturers(client, request, organisation, persona, name, args):
    application = make_application(S.EVIDENCE_REVIEW, organisation=organisation)
    client.force_login(request.getfixturevalue(persona))

    assert client.post(_url(name, application, *args), {"body": "x"}).status_code == 403
    assert not InternalNote.objects.exists()


@pytest.mark.parametrize("page", CASE_PAGES)
def test_a_conflicted_reviewer_cannot_open_the_case(client, reviewer, page):
    application = make_application(S.SCREENING)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=application.organisation, reason="Former employer."
    )
    client.force_login(reviewer)

    assert client.get(_url(page, application)).status_code == 404


@pytest.mark.parametrize(("name", "args"), CASE_POSTS)
def test_a_conflicted_lead_cannot_act_on_the_case(client, lead_reviewer, name, args):
    application = make_application(S.EVIDENCE_REVIEW)
    ConflictOfInterest.objects.create(
        reviewer=lead_reviewer, organisation=application.organisation, reason="Shares."
    )
    client.force_login(lead_reviewer)

    assert client.post(_url(name, application, *args), {"body": "x"}).status_code == 404


def test_drafts_and_missing_cases_are_not_found(client, reviewer):
    draft = make_application(S.DRAFT)
    client.force_login(reviewer)

    assert client.get(_url("application", draft)).status_code == 404
    assert client.get(reverse("reviews:application", args=[999999])).status_code == 404
    assert client.post(reverse("reviews:claim", args=[999999])).status_code == 404


@pytest.mark.parametrize(("name", "args"), CASE_POSTS)
def test_case_actions_refuse_get(client, lead_reviewer, name, args):
    application = make_application(S.SCREENING)
    client.force_login(lead_reviewer)

    expected = 200 if name in CONFIRMED_BY_A_PAGE else 405
    assert client.get(_url(name, application, *args)).status_code == expected


def test_case_pages_refuse_other_methods(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    assert client.post(_url("application", application)).status_code == 405
    assert client.post(_url("exit-report", application)).status_code == 405
    assert client.delete(_url("screening", application)).status_code == 405


# --- What the review page shows --------------------------------------------------------------


def test_the_review_page_shows_the_application_device_evidence_and_timeline(
    client, reviewer, manufacturer, organisation
):
    application = make_application(S.SCREENING, organisation=organisation)
    old = application.evidence.get(kind="risk_management")
    old.is_current = False
    old.save()
    newer = add_evidence(application, "risk_management", version=2)
    Message.objects.create(
        application=application, author=manufacturer, from_regulator=False, body="Sites agreed."
    )
    client.force_login(reviewer)

    response = client.get(_url("application", application))

    page = response.content.decode()
    device = application.device
    for text in (
        application.reference,
        application.regulatory_challenge,
        application.patient_benefit,
        "Leeds Teaching Hospitals",
        device.intended_purpose,
        device.model_summary,
        device.training_data_summary,
        "Class IIa",
        "Category II",
        "Risk management file",
        "Superseded",
        "Sites agreed.",
        "Internal notes",
    ):
        assert text in page, text
    for document in (old, newer):
        assert reverse("devices:evidence-download", args=[document.pk]) in page


def test_the_action_panel_says_why_an_action_is_not_possible_yet(client, reviewer):
    application = make_application(S.ACCEPTED)
    application.testing_plan.delete()
    client.force_login(reviewer)

    page = client.get(_url("application", application)).content.decode()

    assert "Begin controlled testing" in page
    assert "Agree a testing plan with the manufacturer first" in page


def test_the_review_page_keeps_its_query_count_bounded(
    client, reviewer, django_assert_max_num_queries
):
    application = make_application(S.EVIDENCE_REVIEW)
    for n in range(5):
        InternalNote.objects.create(application=application, author=reviewer, body=f"Note {n}")
    client.force_login(reviewer)

    with django_assert_max_num_queries(40):
        assert client.get(_url("application", application)).status_code == 200


def test_the_review_page_costs_the_same_queries_however_long_the_history(
    client, reviewer, django_assert_max_num_queries
):
    application = make_application(S.EVIDENCE_REVIEW)
    url = _url("application", application)
    client.force_login(reviewer)
    client.get(url)
    with django_assert_max_num_queries(40) as short:
        assert client.get(url).status_code == 200

    for n in range(20):
        ApplicationEvent.objects.create(
            application=application,
            actor=reviewer,
            transition="extend_testing",
            from_state=S.EVIDENCE_REVIEW,
            to_state=S.IN_CONTROLLED_TESTING,
            reason=f"Round {n}.",
        )
        Message.objects.create(
            application=application, author=reviewer, from_regulator=True, body=f"Message {n}"
        )
        InternalNote.objects.create(application=application, author=reviewer, body=f"Note {n}")
    for kind in application.evidence.values_list("kind", flat=True).distinct():
        for version in (2, 3):
            application.evidence.filter(kind=kind).update(is_current=False)
            add_evidence(application, kind, version=version)

    with django_assert_max_num_queries(len(short.captured_queries)):
        assert client.get(url).status_code == 200


# --- Internal notes and messages -------------------------------------------------------------


def test_a_reviewer_adds_an_internal_note_the_manufacturer_never_sees(
    client, reviewer, manufacturer, organisation
):
    application = make_application(S.SCREENING, organisation=organisation)
    client.force_login(reviewer)

    response = client.post(_url("note-add", application), {"note-body": "Possible overlap with X."})

    assert response.status_code == 302
    note = InternalNote.objects.get()
    assert (note.author, note.body) == (reviewer, "Possible overlap with X.")
    assert (
        "Possible overlap with X." in client.get(_url("application", application)).content.decode()
    )
    assert all("Possible overlap" not in entry.body for entry in timeline(application))
    client.force_login(manufacturer)
    for url in (
        reverse("devices:application-detail", args=[application.pk]),
        reverse("devices:application-timeline", args=[application.pk]),
        reverse("devices:home"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Possible overlap" not in response.content.decode(), url


def test_an_empty_note_shows_a_field_error(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    response = client.post(_url("note-add", application), {"note-body": "  "})

    assert response.status_code == 200
    assert response.context["note_form"].errors.keys() == {"body"}
    assert "There is a problem" in response.content.decode()
    assert not InternalNote.objects.exists()


def test_a_reviewer_messages_the_manufacturer(client, reviewer, organisation, manufacturer):
    application = make_application(S.SCREENING, organisation=organisation)
    client.force_login(reviewer)

    response = client.post(
        _url("message-add", application), {"message-body": "Please call us."}, follow=True
    )

    message = Message.objects.get()
    assert (message.author, message.from_regulator, message.body) == (
        reviewer,
        True,
        "Please call us.",
    )
    assert "The manufacturer&#x27;s team (1 person) has been told." in response.content.decode()
    assert Notification.objects.get().recipient == manufacturer
    assert client.post(_url("message-add", application), {"message-body": ""}).status_code == 200
    assert Message.objects.count() == 1


def test_the_note_and_message_fields_have_ids_of_their_own(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    page = client.get(_url("application", application)).content.decode()

    assert page.count('id="id_note-body"') == 1
    assert page.count('id="id_message-body"') == 1
    assert 'for="id_note-body"' in page
    assert 'for="id_message-body"' in page
    assert 'id="id_body"' not in page


# --- Claim, assign, reassign -----------------------------------------------------------------


def test_a_reviewer_claims_an_unassigned_case(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    client.post(_url("claim", application))

    application.refresh_from_db()
    assert application.assignee == reviewer
    assert Assignment.objects.get().assigned_by == reviewer


def test_a_reviewer_cannot_claim_someone_elses_case(client, reviewer):
    colleague = UserFactory(role=Role.REVIEWER)
    application = make_application(S.SUBMITTED, assignee=colleague)
    client.force_login(reviewer)

    response = client.post(_url("claim", application), follow=True)

    assert "ask a lead reviewer to reassign it" in response.content.decode()
    application.refresh_from_db()
    assert application.assignee == colleague


def test_a_reviewer_cannot_assign_others(client, reviewer):
    application = make_application(S.SUBMITTED)
    client.force_login(reviewer)

    response = client.post(_url("assign", application), {"reviewer": reviewer.pk})

    assert response.status_code == 403


def test_a_lead_assigns_and_reassigns_keeping_the_history(client, lead_reviewer, reviewer):
    colleague = UserFactory(role=Role.REVIEWER, full_name="Colin Reed")
    application = make_application(S.SCREENING)
    client.force_login(lead_reviewer)

    client.post(_url("assign", application), {"reviewer": reviewer.pk})
    client.post(_url("assign", application), {"reviewer": colleague.pk})

    application.refresh_from_db()
    assert application.assignee == colleague
    history = list(Assignment.objects.order_by("assigned_at", "pk"))
    assert [a.reviewer for a in history] == [reviewer, colleague]
    assert history[0].ended_at is not None
    assert history[1].ended_at is None


def test_a_conflicted_reviewer_cannot_be_assigned(client, lead_reviewer, reviewer):
    application = make_application(S.SCREENING)
    ConflictOfInterest.objects.create(
        reviewer=reviewer, organisation=application.organisation, reason="Former employer."
    )
    client.force_login(lead_reviewer)

    response = client.post(_url("assign", application), {"reviewer": reviewer.pk}, follow=True)

    assert "has declared a conflict of interest" in response.content.decode()
    application.refresh_from_db()
    assert application.assignee is None
    assert not Assignment.objects.exists()


def test_assigning_a_non_reviewer_shows_a_field_error(client, lead_reviewer, manufacturer):
    application = make_application(S.SCREENING)
    client.force_login(lead_reviewer)

    response = client.post(_url("assign", application), {"reviewer": manufacturer.pk})

    assert response.status_code == 200
    assert response.context["assign_form"].errors.keys() == {"reviewer"}


# --- State changes from the action panel -----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "action", "target"),
    [
        (S.SUBMITTED, "start_screening", S.SCREENING),
        (S.ACCEPTED, "begin_testing", S.IN_CONTROLLED_TESTING),
        (S.IN_CONTROLLED_TESTING, "suspend", S.SUSPENDED),
        (S.SUSPENDED, "resume", S.IN_CONTROLLED_TESTING),
        (S.EVIDENCE_REVIEW, "extend_testing", S.IN_CONTROLLED_TESTING),
    ],
)
@pytest.mark.parametrize("persona", ["reviewer", "lead_reviewer"])
def test_reviewers_move_the_case_from_the_action_panel(
    client, request, persona, state, action, target
):
    actor = request.getfixturevalue(persona)
    application = make_application(state)
    client.force_login(actor)

    response = client.post(
        _url("transition", application, action),
        {f"{action}-reason": "Agreed at the review meeting.", "expected_state": state},
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.state == target
    event = ApplicationEvent.objects.get(application=application)
    assert (event.actor, event.transition) == (actor, action)


def test_extending_testing_records_the_decision_and_sets_aside_a_pending_clearance(
    client, reviewer
):
    application = make_application(S.EVIDENCE_REVIEW)
    client.force_login(reviewer)

    client.post(
        _url("transition", application, "extend_testing"),
        {"extend_testing-reason": "Too few cases at site B."},
    )

    decision = Decision.objects.get(application=application, kind=DecisionKind.EXTEND_TESTING)
    assert decision.rationale == "Too few cases at site B."
    assert application.pending_clearance() is None


def test_suspending_without_a_reason_shows_a_field_error(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    response = client.post(_url("transition", application, "suspend"), {"suspend-reason": ""})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.IN_CONTROLLED_TESTING


def test_a_refused_transition_is_explained_and_changes_nothing(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    response = client.post(
        _url("transition", application, "suspend"), {"suspend-reason": "x"}, follow=True
    )

    assert "only possible when an application is in controlled testing" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.SCREENING


def test_a_stale_page_is_refused(client, reviewer):
    application = make_application(S.IN_CONTROLLED_TESTING)
    client.force_login(reviewer)

    response = client.post(
        _url("transition", application, "suspend"),
        {"suspend-reason": "Site audit.", "expected_state": S.SUSPENDED},
        follow=True,
    )

    assert "Someone else changed this application" in response.content.decode()
    application.refresh_from_db()
    assert application.state == S.IN_CONTROLLED_TESTING


def test_unknown_panel_actions_are_not_found(client, reviewer):
    application = make_application(S.SCREENING)
    client.force_login(reviewer)

    for action in ("withdraw", "clear", "accept", "complete_testing", "nonsense"):
        assert client.post(_url("transition", application, action)).status_code == 404
