"""Who the permission sweep sends, how it asks, and what it counts as a leak."""

from dataclasses import dataclass

from django.test import Client
from django.urls import reverse

from calls.models import Call, CallEvent, SelectionCriterion, SelectionOutcome, SelectionScore
from devices.models import (
    Application,
    ApplicationEvent,
    CheckpointReport,
    EvidenceDocument,
    IncidentReport,
    Membership,
    Message,
)
from findings.models import Finding, FindingEvent, ProgrammeReport, Theme
from notifications.models import Notification
from observers.models import ObserverGrant
from reviews.models import (
    Assignment,
    Decision,
    EvidenceAssessment,
    InformationRequest,
    InternalNote,
    ModelChange,
    PlanVersion,
    SafetySignal,
    ScreeningAssessment,
    TestingPlan,
)
from teams.models import ApiKey, Invitation, TeamEvent
from tests.security.sweep_routes import (
    MARKER,
    PK_MODELS,
    REGULATOR_WIDE,
    SHARED_PK_MODELS,
    Route,
    World,
)


@dataclass
class Visitor:
    label: str
    client: Client
    signed_in: bool = True
    is_reviewer: bool = False
    # Their API token, and what the API must answer it for one of the organisation's records.
    token: str | None = None
    api_refusals: frozenset[int] = frozenset({403, 404, 405})
    # Which URLs this visitor is an outsider to (the owner is one only on reviewer pages).
    only_namespace: str | None = None

    def covers(self, route: Route) -> bool:
        if self.only_namespace == "reviews":
            return route.is_reviewer_page
        return self.only_namespace is None or route.namespace == self.only_namespace


def session_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def response_text(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def problems_in_answer(
    route: Route, url: str, method: str, visitor: Visitor, response, world
) -> list:
    where = f"{method} {url} ({route.name}) as {visitor.label}"
    status = response.status_code
    problems = []
    body = response_text(response)
    leaked = [needle for needle in [MARKER, *world.references] if needle in body]
    if leaked:
        problems.append(f"{where}: {status} response shows {', '.join(leaked)}")
    names_a_record = bool(route.parameters) and not (
        (
            visitor.is_reviewer
            and "pk" in route.parameters
            and PK_MODELS.get(route.pk_segment) in REGULATOR_WIDE
        )
        or (route.parameters == ("pk",) and PK_MODELS.get(route.pk_segment) in SHARED_PK_MODELS)
    )
    if not visitor.signed_in:
        signed_out = status in {401, 403, 404, 405} or (
            status == 302 and response.url.startswith(reverse("login"))
        )
        if names_a_record and not signed_out:
            problems.append(f"{where}: {status}, expected a redirect to sign in, 401, 403 or 404")
    elif route.namespace == "api":
        if names_a_record and visitor.token and status not in visitor.api_refusals:
            problems.append(f"{where}: {status}, expected one of {sorted(visitor.api_refusals)}")
    else:
        reviewer_only = route.is_reviewer_page and not visitor.is_reviewer
        if (names_a_record or reviewer_only) and status not in {403, 404, 405}:
            problems.append(
                f"{where}: {status}, expected 403, 404 or 405"
                + (f" (redirected to {response.url})" if status == 302 else "")
            )
    return problems


def ask(visitor: Visitor, method: str, url: str, token: str | None):
    """The answer to one request. A signed-in visitor's GET that redirects to another of our
    pages is followed (at most three hops): the case page that emails link to sends reviewers
    on to their own view of the case, which is where the refusal must come. A POST is never
    followed: it must be refused where it lands, not after doing something."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    if method == "POST":
        return visitor.client.post(url, {}, headers=headers)
    response = visitor.client.get(url, headers=headers)
    for _hop in range(3):
        if not (visitor.signed_in and response.status_code == 302 and response.url[:1] == "/"):
            break
        response = visitor.client.get(response.url, headers=headers)
    return response


def fingerprint(world: World) -> tuple:
    """What an outsider's requests must never change: every case's state and assignee, and
    how many records of each kind hang off them."""
    applications = Application.objects.filter(pk__in=world.pks("application"))
    return (
        sorted(applications.values_list("pk", "state", "assignee_id")),
        *(
            model.objects.filter(application__in=applications).count()
            for model in (
                ApplicationEvent,
                Assignment,
                Decision,
                EvidenceAssessment,
                EvidenceDocument,
                IncidentReport,
                InformationRequest,
                InternalNote,
                Message,
                ModelChange,
                SafetySignal,
                ScreeningAssessment,
                TestingPlan,
            )
        ),
        sorted(SafetySignal.objects.values_list("pk", "status", "shared_at")),
        CheckpointReport.objects.count(),
        sorted(Decision.objects.values_list("pk", "countersigned_by_id", "withdrawn_at")),
        sorted(
            PlanVersion.objects.values_list("pk", "reviewer_agreed_at", "manufacturer_agreed_at")
        ),
        sorted(Notification.objects.values_list("pk", "read_at")),
        sorted(Membership.objects.values_list("pk", "role")),
        sorted(Invitation.objects.values_list("pk", "cancelled_at", "accepted_at")),
        sorted(ApiKey.objects.values_list("pk", "revoked_at")),
        TeamEvent.objects.count(),
        SelectionScore.objects.count(),
        sorted(SelectionOutcome.objects.values_list("pk", "moderated_total", "selected")),
        sorted(
            Call.objects.values_list(
                "pk", "title", "opens_at", "closes_at", "capacity", "cohort", "selection_made_at"
            )
        ),
        sorted(SelectionCriterion.objects.values_list("pk", "call", "title", "weight")),
        CallEvent.objects.count(),
        sorted(ObserverGrant.objects.values_list("pk", "revoked_at")),
        sorted(Finding.objects.values_list("pk", "title", "suggests", "updated_at")),
        sorted(Finding.related.through.objects.values_list("from_finding_id", "to_finding_id")),
        sorted(Theme.objects.values_list("pk", "name", "summary")),
        sorted(Theme.findings.through.objects.values_list("theme_id", "finding_id")),
        FindingEvent.objects.count(),
        ProgrammeReport.objects.count(),
    )
