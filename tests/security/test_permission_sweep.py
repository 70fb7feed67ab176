"""Every routed URL x every outsider x one organisation's records: never the records' data.

The URLs come from django.urls.get_resolver(), so a page is swept the moment it is routed; no
one has to remember to add it here. Each URL parameter is filled from PARAMETERS (and `pk`
from PK_MODELS, by the path segment before it) with records that belong to the manufacturer
persona's organisation. A parameter the tables do not know fails
test_every_url_parameter_has_a_value, which says what to add: no page can escape the sweep.

Each URL is requested with GET and with an empty POST as:
- an anonymous visitor: sent to sign in, or 401/403/404/405;
- another organisation's manufacturer (session, and its API token on the API);
- a reviewer and a lead reviewer who declared a conflict of interest with the organisation;
- the organisation's own manufacturer, on the reviewer-only pages;
- an unconflicted reviewer, lead reviewer and administrator, on a draft and on a draft
  withdrawn without ever being submitted (still the manufacturer's own, whatever hangs off
  them: evidence, messages, a checkpoint, a signal).
For a URL naming one of the organisation's records the answer must be 403, 404 or 405 (the
wrong method reveals nothing). For any URL, the body must never contain the organisation's
case references or the marker written into every one of its records, and nothing may raise.
"""

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import cycle, islice

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from airlock.models import TwoFactorEnrolment
from airlock.roles import Role
from calls.models import Call, SelectionOutcome, SelectionScore
from devices.models import (
    TRANSITIONS,
    Application,
    ApplicationEvent,
    ApplicationState,
    CheckpointReport,
    EvidenceDocument,
    IncidentReport,
    IncidentSeverity,
    Membership,
    Message,
)
from documents.models import CaseDocument, DocumentKind
from findings.models import ChallengeArea, Finding, FindingEvent, ProgrammeReport, Theme
from notifications.models import Notification
from observers.models import ObserverGrant
from reviews.models import (
    Assignment,
    ChangeKind,
    Checkpoint,
    ConflictOfInterest,
    Decision,
    DecisionKind,
    EvidenceAssessment,
    GmlpRating,
    IncomingAlert,
    InformationRequest,
    InternalNote,
    ModelChange,
    ModelChangeStatus,
    PartnerRegulator,
    PlanVersion,
    SafetySignal,
    ScreeningAssessment,
    SignalSeverity,
    SignalSource,
    TestingPlan,
)
from reviews.views.case import PANEL_ACTIONS
from teams.api_keys import api_key_create
from teams.models import ApiKey, Invitation, TeamEvent
from teams.services import invitation_send
from tests.factories import (
    DeviceFactory,
    UserFactory,
    add_evidence,
    make_application,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db

# Written into every record of the organisation: it must never reach an outsider.
MARKER = "ZQX-CONFIDENTIAL-7731"

# Includes not swept, and why.
SKIPPED_INCLUDES = {
    # Django's admin has its own staff-only gate and permission system, tested in
    # tests/airlock/test_auth.py and tests/devices/test_admin.py.
    "admin",
    # Django's sign-in, sign-out and password-reset views: public by design and object-free
    # (tests/airlock/test_auth.py and tests/security/test_lockout.py cover them).
    "django.contrib.auth.urls",
}
# Our own overrides of those same auth views, for the same reason.
SKIPPED_NAMES = {"login", "password_reset", "password_reset_confirm"}
# Static files are not in the URLconf at all: the web server (or, under runserver, the static
# files handler) answers them, and they are public.

# What a `pk` names, by the path segment before it ("applications/<int:pk>/" -> application).
PK_MODELS = {
    "applications": "application",
    "devices": "device",
    "evidence": "evidence",
    "signals": "signal",
    "notifications": "notification",
    # Partners' alerts are the regulator's, not an organisation's: every reviewer sees them
    # (REGULATOR_WIDE), and the sweep checks everyone else is refused.
    "incoming": "incoming_alert",
    "model-changes": "model_change",
    "members": "membership",
    "invitations": "invitation",
    "api-keys": "api_key",
    "calls": "call",
    "organisations": "organisation",
    "documents": "document",
    "findings": "finding",
    # Themes, cohorts and their programme reports are the regulator's own, not an
    # organisation's; the pages show only the findings and cases the reader may see.
    "themes": "theme",
    "cohorts": "cohort",
    "programme-reports": "programme_report",
}
# Records that belong to no organisation: open to every reviewer, conflicted or not.
REGULATOR_WIDE = {"incoming_alert", "theme", "cohort", "programme_report"}


@dataclass
class World:
    """One organisation's records, in every state, each carrying MARKER somewhere."""

    applications: list
    device: object
    evidence: list
    signal: object
    references: list[str]
    notifications: list
    # A colleague's two-factor set-up link: no one else may use it.
    enrolment_token: str = ""
    incoming_alerts: list = field(default_factory=list)
    model_changes: list = ()
    # The organisation's team: a member, an invitation waiting, an API key.
    memberships: list = field(default_factory=list)
    invitations: list = field(default_factory=list)
    api_keys: list = field(default_factory=list)
    organisations: list = field(default_factory=list)
    # A grant to an observer who is not among the visitors: no visitor may see or revoke it.
    observer_grants: list = field(default_factory=list)
    # Issued decision documents (documents.CaseDocument).
    documents: list = field(default_factory=list)
    # A finding on a case, the theme it is in, the case's cohort and a PDF of its report.
    findings: list = field(default_factory=list)
    themes: list = field(default_factory=list)
    cohorts: list = field(default_factory=list)
    programme_reports: list = field(default_factory=list)

    def pks(self, model: str) -> list[int]:
        return {
            "application": [application.pk for application in self.applications],
            "device": [self.device.pk],
            "evidence": [document.pk for document in self.evidence],
            "signal": [self.signal.pk],
            "notification": [notification.pk for notification in self.notifications],
            "incoming_alert": [alert.pk for alert in self.incoming_alerts],
            "model_change": [change.pk for change in self.model_changes],
            "membership": [membership.pk for membership in self.memberships],
            "invitation": [invitation.pk for invitation in self.invitations],
            "api_key": [key.pk for key in self.api_keys],
            "call": sorted({application.call_id for application in self.applications}),
            "organisation": [organisation.pk for organisation in self.organisations],
            "document": [document.pk for document in self.documents],
            "finding": [finding.pk for finding in self.findings],
            "theme": [theme.pk for theme in self.themes],
            "cohort": [cohort.pk for cohort in self.cohorts],
            "programme_report": [report.pk for report in self.programme_reports],
        }[model]


# Records every organisation shares (a call for applications): the URL naming one may answer,
# but must still show none of the organisation's records.
SHARED_PK_MODELS = {"call"}

# Every other parameter: the values to try, given the world.
PARAMETERS = {
    "step": lambda world: [1, 2, 3, 4],
    "sequence": lambda world: [1, 2],
    "action": lambda world: sorted(set(TRANSITIONS) | set(PANEL_ACTIONS)),
    "reference": lambda world: world.references,
    "token": lambda world: [world.enrolment_token],
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str

    @property
    def namespace(self) -> str:
        return self.name.split(":", 1)[0] if ":" in self.name else ""

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter in the full path, includes' too (path() "<int:pk>" and re_path()
        "(?P<pk>...)" alike)."""
        return tuple(re.findall(r"<(?:\w+:)?(\w+)>", self.path))

    @property
    def is_reviewer_page(self) -> bool:
        """The regulator's pages: the reviews app, and other apps' pages under /reviews/."""
        return self.namespace == "reviews" or self.path.startswith("reviews/")

    @property
    def pk_segment(self) -> str:
        match = re.search(r"([\w-]+)/(?:\(\?P)?<(?:\w+:)?pk>", self.path)
        return match.group(1) if match else ""


def _skipped(resolver: URLResolver) -> bool:
    # include("dotted.path") hands the resolver the imported module.
    module = getattr(resolver.urlconf_name, "__name__", resolver.urlconf_name)
    return resolver.app_name in SKIPPED_INCLUDES or module in SKIPPED_INCLUDES


def routes(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URL pattern, through every include, with its full path and namespaced name."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if _skipped(entry):
                continue
            inner = entry.namespace or ""
            yield from routes(
                entry.url_patterns,
                prefix + str(entry.pattern),
                f"{namespace}:{inner}".strip(":") if inner else namespace,
            )
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            if entry.name in SKIPPED_NAMES and not namespace:
                continue
            yield Route(name=name, path=prefix + str(entry.pattern))


def unknown_parameters(route: Route) -> list[str]:
    problems = []
    if not route.name:
        problems.append(f"{route.path!r} has no name, so it cannot be reversed: name it.")
    for parameter in route.parameters:
        if parameter == "pk":
            segment = route.pk_segment
            if segment not in PK_MODELS:
                problems.append(
                    f"{route.name} ({route.path}): add {segment!r} to PK_MODELS in "
                    "tests/security/test_permission_sweep.py, naming the model its pk is."
                )
        elif parameter not in PARAMETERS:
            problems.append(
                f"{route.name} ({route.path}): add {parameter!r} to PARAMETERS in "
                "tests/security/test_permission_sweep.py, with values from the world fixture."
            )
    return problems


def urls_for(route: Route, world: World) -> list[str]:
    """The URL filled with the world's records: every value of every parameter at least once
    (the lists are cycled side by side, not multiplied, to keep the sweep quick)."""
    names = route.parameters
    if not names:
        return [reverse(route.name)]
    columns = []
    for name in names:
        if name == "pk":
            columns.append(world.pks(PK_MODELS[route.pk_segment]))
        else:
            columns.append(PARAMETERS[name](world))
    longest = max(len(column) for column in columns)
    rows = zip(*(islice(cycle(column), longest) for column in columns), strict=True)
    return [reverse(route.name, kwargs=dict(zip(names, row, strict=True))) for row in rows]


def all_routes() -> list[Route]:
    return sorted(routes(), key=lambda route: route.name)


@pytest.fixture(autouse=True)
def _no_api_rate_limits(settings):
    # Each visitor asks for hundreds of URLs from one address, the anonymous one with no
    # token: the limits (tests/security/test_api_limits.py) would answer 429 before the
    # answers this sweep is here to judge.
    settings.API_ADDRESS_FAILED_AUTHS_PER_HOUR = 100_000
    settings.API_ADDRESS_REQUESTS_PER_MINUTE = 100_000
    settings.API_TOKEN_REQUESTS_PER_MINUTE = 100_000


# --- The organisation's records ------------------------------------------------------------


@pytest.fixture
def world(manufacturer, running_stack) -> World:
    organisation = manufacturer.membership.organisation
    device = DeviceFactory(
        organisation=organisation, name=f"Sentinel {MARKER}", created_by=manufacturer
    )
    colleague = UserFactory(role=Role.REVIEWER, full_name="Unconflicted Reviewer")
    lead = UserFactory(role=Role.LEAD_REVIEWER, full_name="Unconflicted Lead")
    applications = []
    for state in ApplicationState:
        application = make_application(
            state,
            organisation=organisation,
            device=device,
            created_by=manufacturer,
            regulatory_challenge=f"Drift monitoring in practice. {MARKER}",
            patient_benefit=f"Earlier diagnosis. {MARKER}",
        )
        applications.append(application)
        Message.objects.create(
            application=application, author=manufacturer, from_regulator=False, body=MARKER
        )
        if state != ApplicationState.DRAFT:
            Message.objects.create(
                application=application, author=colleague, from_regulator=True, body=MARKER
            )
            InternalNote.objects.create(application=application, author=colleague, body=MARKER)
            Assignment.objects.create(application=application, reviewer=colleague, assigned_by=lead)
            application.assignee = colleague
            application.save(update_fields=["assignee"])
    by_state = {application.state: application for application in applications}
    InformationRequest.objects.filter(application__in=applications).update(
        questions=f"Which sites? {MARKER}"
    )
    Decision.objects.filter(application__in=applications).update(rationale=MARKER)
    cleared = by_state[ApplicationState.CLEARED]
    Decision.objects.create(
        application=cleared,
        kind=DecisionKind.CLEAR,
        rationale=MARKER,
        decided_by=colleague,
        countersigned_by=lead,
        countersigned_at=timezone.now(),
    )
    EvidenceAssessment.objects.create(
        application=by_state[ApplicationState.EVIDENCE_REVIEW],
        principle=1,
        rating=GmlpRating.values[0],
        comment=MARKER,
        assessor=colleague,
    )
    testing = by_state[ApplicationState.IN_CONTROLLED_TESTING]
    for state in (
        ApplicationState.ACCEPTED,
        ApplicationState.IN_CONTROLLED_TESTING,
        ApplicationState.SUSPENDED,
        ApplicationState.EVIDENCE_REVIEW,
    ):
        Checkpoint.objects.create(
            application=by_state[state], sequence=1, due_on=timezone.localdate()
        )
    Checkpoint.objects.create(
        application=testing, sequence=2, due_on=timezone.localdate() + timedelta(days=28)
    )
    report = CheckpointReport.objects.create(
        checkpoint=testing.checkpoints.get(sequence=1),
        submitted_by=manufacturer,
        cases_processed=500,
        metrics={"sensitivity": 0.71},
        narrative=MARKER,
    )
    incident = IncidentReport.objects.create(
        application=testing,
        reported_by=manufacturer,
        severity=IncidentSeverity.OTHER_SERIOUS,
        occurred_on=timezone.localdate(),
        aware_on=timezone.localdate(),
        description=MARKER,
    )
    signal = SafetySignal.objects.create(
        application=testing,
        checkpoint_report=report,
        incident=incident,
        metric="sensitivity",
        observed_value="0.71",
        severity=SignalSeverity.HIGH,
        source=SignalSource.CHECKPOINT_BREACH,
        title=f"Sensitivity below threshold {MARKER}",
        description=MARKER,
    )
    titled = add_evidence(testing, "other", by=manufacturer)
    titled.title = MARKER
    titled.save(update_fields=["title"])
    evidence = [titled, *testing.evidence.exclude(pk=titled.pk)[:1]]
    # What the organisation's people and its reviewer were told: theirs alone.
    notifications = [
        Notification.objects.create(
            recipient=person,
            email_to=person.email,
            application=testing,
            kind="message",
            key=f"sweep:{person.pk}",
            title=f"{testing.reference}: {MARKER}",
            body=MARKER,
            url=reverse("devices:application-detail", args=[testing.pk]),
        )
        for person in (manufacturer, colleague)
    ]
    # A change to the model held for a reviewer: the manufacturer's words on the regulator's
    # page.
    model_change = ModelChange.objects.create(
        application=testing,
        kind=ChangeKind.NEW_USE,
        version_label=f"9.{MARKER}"[:50],
        released_on=timezone.localdate(),
        description=MARKER,
        status=ModelChangeStatus.HELD,
        notified_by=manufacturer,
    )
    return World(
        applications=applications,
        device=device,
        evidence=evidence,
        signal=signal,
        references=[application.reference for application in applications],
        notifications=notifications,
        enrolment_token=_enrolment_link(colleague),
        incoming_alerts=[
            IncomingAlert.objects.create(
                partner=PartnerRegulator.objects.create(name="Sweep Regulator", country="X"),
                external_id="SWEEP-1",
                title="A partner's alert",
                severity=SignalSeverity.HIGH,
                summary="Seen elsewhere.",
                payload={},
            )
        ],
        model_changes=[model_change],
        documents=[_document(testing)],
        **_team(manufacturer),
        **_findings(testing, colleague, lead),
    )


def _findings(testing, colleague, lead) -> dict:
    """A marked finding on the case in testing, in a theme; the case's cohort, with a PDF of
    its programme report whose file carries MARKER (made directly: the sweep is about who
    may fetch it)."""
    finding = Finding.objects.create(
        application=testing,
        title=f"Drift unexplained {MARKER}",
        description=MARKER,
        challenge_area=ChallengeArea.objects.get_or_create(name="Explainability")[0],
        suggests="guidance",
        evidence=testing.evidence.first(),
        recorded_by=colleague,
    )
    theme = Theme.objects.create(name="Drift in practice", created_by=lead)
    theme.findings.add(finding)
    report = ProgrammeReport(cohort=testing.cohort, requested_by=lead, drawn_at=timezone.now())
    content = f"%PDF-1.7 {MARKER} {testing.reference}".encode()
    report.file.save("report.pdf", ContentFile(content), save=False)
    report.sha256 = hashlib.sha256(content).hexdigest()
    report.size = len(content)
    report.save()
    return {
        "findings": [finding],
        "themes": [theme],
        "cohorts": [testing.cohort],
        "programme_reports": [report],
    }


def _team(manufacturer) -> dict:
    """A contributor and a viewer (not marked: their own pages show their name), an
    invitation waiting and a marked API key."""
    organisation = manufacturer.membership.organisation
    members = [
        make_manufacturer(organisation, org_role=role).membership
        for role in ("contributor", "viewer")
    ]
    invitation = invitation_send(
        actor=manufacturer, email="invitee-zqx7731@example.test", role="viewer"
    )
    key, _secret = api_key_create(
        actor=manufacturer, name=f"Monitoring {MARKER}", scope="report", expires_in_days=30
    )
    submitted = Application.objects.filter(
        organisation=organisation, submitted_at__isnull=False
    ).first()
    grant = ObserverGrant.objects.create(
        observer=UserFactory(role=Role.OBSERVER),
        application=submitted,
        evidence=True,
        granted_by=UserFactory(role=Role.ADMINISTRATOR),
    )
    return {
        "memberships": members,
        "invitations": [invitation],
        "api_keys": [key],
        "organisations": [organisation],
        "observer_grants": [grant],
    }


def _document(application) -> CaseDocument:
    """An issued document of the case, its file carrying MARKER (drawn directly: the sweep
    is about who may fetch it, not how it is drawn)."""
    content = f"%PDF-1.7 {MARKER} {application.reference}".encode()
    document = CaseDocument(
        application=application,
        kind=DocumentKind.REJECTED,
        reference=f"AIRLOCK-SWEEP-{application.pk}",
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        pdf_variant="pdf/a-3b",
    )
    document.file.save("document.pdf", ContentFile(content), save=False)
    document.save()
    return document


def _enrolment_link(person) -> str:
    token = f"enrolment-{MARKER}"
    TwoFactorEnrolment.objects.create(
        user=person,
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    return token


def _conflicted(role: Role, organisation):
    user = UserFactory(role=role)
    ConflictOfInterest.objects.create(
        reviewer=user, organisation=organisation, reason="Former employee."
    )
    return user


# --- Who asks --------------------------------------------------------------------------------


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


def _session_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def visitors(world, manufacturer, other_manufacturer) -> dict[str, Visitor]:
    organisation = manufacturer.membership.organisation
    reviewer = _conflicted(Role.REVIEWER, organisation)
    lead = _conflicted(Role.LEAD_REVIEWER, organisation)
    return {
        "anonymous": Visitor("anonymous", Client(), signed_in=False),
        "other_manufacturer": Visitor(
            "another organisation's manufacturer",
            _session_client(other_manufacturer),
            token=Token.objects.create(user=other_manufacturer).key,
            # For them the record does not exist.
            api_refusals=frozenset({404, 405}),
        ),
        "conflicted_reviewer": Visitor(
            "a reviewer conflicted with the organisation",
            _session_client(reviewer),
            is_reviewer=True,
            token=Token.objects.create(user=reviewer).key,
        ),
        "conflicted_lead_reviewer": Visitor(
            "a lead reviewer conflicted with the organisation",
            _session_client(lead),
            is_reviewer=True,
            token=Token.objects.create(user=lead).key,
        ),
        "owner_on_reviewer_pages": Visitor(
            "the organisation's own manufacturer, on a reviewer-only page",
            _session_client(manufacturer),
            only_namespace="reviews",
        ),
        "observer": Visitor(
            "an observer granted none of the organisation's cases",
            _session_client(UserFactory(role=Role.OBSERVER)),
        ),
        **{
            f"{membership.role}_on_reviewer_pages": Visitor(
                f"the organisation's own {membership.role}, on a reviewer-only page",
                _session_client(membership.user),
                only_namespace="reviews",
            )
            for membership in world.memberships
        },
    }


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _problems(route: Route, url: str, method: str, visitor: Visitor, response, world) -> list:
    where = f"{method} {url} ({route.name}) as {visitor.label}"
    status = response.status_code
    problems = []
    body = _body(response)
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


def _request(visitor: Visitor, method: str, url: str, token: str | None):
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
        sorted(Call.objects.values_list("pk", "selection_made_at")),
        sorted(ObserverGrant.objects.values_list("pk", "revoked_at")),
        sorted(Finding.objects.values_list("pk", "title", "suggests", "updated_at")),
        sorted(Finding.related.through.objects.values_list("from_finding_id", "to_finding_id")),
        sorted(Theme.objects.values_list("pk", "name", "summary")),
        sorted(Theme.findings.through.objects.values_list("theme_id", "finding_id")),
        FindingEvent.objects.count(),
        ProgrammeReport.objects.count(),
    )


# --- The tests -------------------------------------------------------------------------------


def test_every_url_parameter_has_a_value():
    problems = [problem for route in all_routes() for problem in unknown_parameters(route)]

    assert not problems, "\n".join(problems)


def test_a_url_with_an_unknown_parameter_fails_with_what_to_add():
    widget = Route("devices:widget", "widgets/<int:pk>/")
    invite = Route("devices:invite", "invites/<slug:code>/")

    (pk_problem,) = unknown_parameters(widget)
    (token_problem,) = unknown_parameters(invite)

    assert "add 'widgets' to PK_MODELS" in pk_problem
    assert "add 'code' to PARAMETERS" in token_problem


def test_the_sweep_reaches_every_part_of_the_site():
    names = {route.name for route in all_routes()}

    assert {"devices:application-detail", "reviews:application", "api:application"} <= names
    assert {"two-factor-setup", "home", "help"} <= names
    assert not any(name.startswith("admin:") for name in names)
    assert "login" not in names


def test_the_marker_is_on_the_pages_its_owners_see(client, world, manufacturer, lead_reviewer):
    """The control for the sweep: the records' marker and references do reach the people
    entitled to them, so their absence elsewhere means something."""
    testing = next(a for a in world.applications if a.state == "in_controlled_testing")
    client.force_login(manufacturer)
    page = _body(client.get(reverse("devices:application-detail", args=[testing.pk])))
    assert MARKER in page
    assert testing.reference in page

    client.force_login(lead_reviewer)
    for url in (
        reverse("reviews:application", args=[testing.pk]),
        reverse("reviews:signal-detail", args=[world.signal.pk]),
        reverse("reviews:queue"),
        reverse("findings:case-findings", args=[testing.pk]),
        reverse("findings:register"),
        reverse("findings:theme", args=[world.themes[0].pk]),
        reverse("findings:programme-report", args=[world.cohorts[0].pk]),
    ):
        assert MARKER in _body(client.get(url)) or testing.reference in _body(client.get(url))

    token = Token.objects.create(user=manufacturer).key
    api = client.get(
        reverse("api:application", args=[testing.reference]),
        headers={"Authorization": f"Token {token}"},
    )
    assert api.status_code == 200
    assert testing.reference in _body(api)


@pytest.mark.parametrize(
    "who",
    [
        "anonymous",
        "other_manufacturer",
        "conflicted_reviewer",
        "conflicted_lead_reviewer",
        "owner_on_reviewer_pages",
        "contributor_on_reviewer_pages",
        "viewer_on_reviewer_pages",
        "observer",
    ],
)
def test_no_url_shows_an_organisation_s_records_to_an_outsider(world, visitors, who):
    visitor = visitors[who]
    problems = []
    swept = 0
    before = fingerprint(world)
    for route in all_routes():
        if unknown_parameters(route) or not visitor.covers(route):
            continue
        token = visitor.token if route.namespace == "api" else None
        for url in urls_for(route, world):
            for method in ("GET", "POST"):
                swept += 1
                try:
                    response = _request(visitor, method, url, token)
                except Exception as error:  # the point is to report every one, not stop
                    problems.append(f"{method} {url} as {visitor.label} raised {error!r}")
                    continue
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {visitor.label}: {response.status_code}")
                problems.extend(_problems(route, url, method, visitor, response, world))

    assert swept > 100
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(world) == before, f"{visitor.label} changed the organisation's records"


def test_a_viewer_changes_nothing_anywhere(world):
    """A viewer reads their organisation's pages; every POST on the manufacturer's side and
    the team's pages is refused (never a 500), and nothing changes."""
    viewer = next(m.user for m in world.memberships if m.role == "viewer")
    client = _session_client(viewer)
    problems = []
    before = fingerprint(world)
    for route in all_routes():
        if unknown_parameters(route) or route.namespace == "api":
            continue
        for url in urls_for(route, world):
            for method in ("GET", "POST"):
                try:
                    response = client.post(url, {}) if method == "POST" else client.get(url)
                except Exception as error:  # the point is to report every one, not stop
                    problems.append(f"{method} {url} as a viewer raised {error!r}")
                    continue
                status = response.status_code
                if status >= 500:
                    problems.append(f"{method} {url} as a viewer: {status}")
                refused = status in {403, 404, 405}
                # The portal and the team's pages; sign-up's public forms change nothing of
                # the organisation's (a signed-in person is sent home).
                portal = route.namespace == "devices" or route.path.startswith("team/")
                if method == "POST" and portal and not refused:
                    problems.append(f"POST {url} ({route.name}) as a viewer: {status}")

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(world) == before, "a viewer changed the organisation's records"


def test_a_viewer_reads_the_organisation_s_cases(client, world):
    """The control for the test above: the viewer is refused changes, not reading."""
    viewer = next(m.user for m in world.memberships if m.role == "viewer")
    client.force_login(viewer)
    testing = next(a for a in world.applications if a.state == "in_controlled_testing")

    page = client.get(reverse("devices:application-detail", args=[testing.pk]))

    assert page.status_code == 200
    assert testing.reference in _body(page)


# --- The regulator on a manufacturer's unsubmitted cases --------------------------------------


@pytest.fixture
def drafts(manufacturer, running_stack) -> World:
    """A draft, and a draft withdrawn without being submitted, with everything that can hang
    off a case (each carrying MARKER); the rest of the site has a submitted case of the same
    organisation, so the regulator's pages are not empty."""
    organisation = manufacturer.membership.organisation
    device = DeviceFactory(
        organisation=organisation, name=f"Prototype {MARKER}", created_by=manufacturer
    )
    make_application(ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer)
    applications = []
    for state in (ApplicationState.DRAFT, ApplicationState.WITHDRAWN):
        application = make_application(
            ApplicationState.DRAFT,
            organisation=organisation,
            device=device,
            created_by=manufacturer,
            regulatory_challenge=f"Unsent question. {MARKER}",
        )
        # Withdrawn straight from draft: never submitted, so never the regulator's.
        Application.objects.filter(pk=application.pk).update(state=state)
        Message.objects.create(
            application=application, author=manufacturer, from_regulator=False, body=MARKER
        )
        Checkpoint.objects.create(application=application, sequence=1, due_on=timezone.localdate())
        applications.append(application)
    # Records no one should be able to attach to a draft, made directly as legacy data or a
    # bug elsewhere might: the download and signal pages must still follow the case.
    signal = SafetySignal.objects.create(
        application=applications[0],
        severity=SignalSeverity.HIGH,
        source=SignalSource.REVIEWER,
        title=f"Draft signal {MARKER}",
        description=MARKER,
        shared_at=timezone.now(),
    )
    evidence = list(EvidenceDocument.objects.filter(application__in=applications))
    for document in evidence:
        document.title = MARKER
        document.save(update_fields=["title"])
    # What the draft's own team was told about it: the regulator's notification pages must not
    # show it either.
    notifications = [
        Notification.objects.create(
            recipient=manufacturer,
            email_to=manufacturer.email,
            application=applications[0],
            kind="message",
            key=f"draft:{manufacturer.pk}",
            title=f"{applications[0].reference}: {MARKER}",
            body=MARKER,
            url=reverse("devices:application-detail", args=[applications[0].pk]),
        )
    ]
    # Not possible through the service (a draft is not in testing), made directly as legacy
    # data might be: the reviewer's change page must still follow the case.
    model_change = ModelChange.objects.create(
        application=applications[0],
        kind=ChangeKind.NEW_USE,
        version_label="9.0",
        released_on=timezone.localdate(),
        description=MARKER,
        status=ModelChangeStatus.HELD,
        notified_by=manufacturer,
    )
    return World(
        applications=applications,
        device=device,
        evidence=evidence,
        signal=signal,
        references=[application.reference for application in applications],
        notifications=notifications,
        enrolment_token=_enrolment_link(UserFactory(role=Role.REVIEWER)),
        model_changes=[model_change],
        documents=[_document(applications[0])],
    )


@pytest.fixture
def regulators() -> dict[str, Visitor]:
    people = {
        "reviewer": UserFactory(role=Role.REVIEWER),
        "lead_reviewer": UserFactory(role=Role.LEAD_REVIEWER),
        "administrator": UserFactory(role=Role.ADMINISTRATOR),
    }
    return {
        name: Visitor(
            f"an unconflicted {name.replace('_', ' ')}, on a draft",
            _session_client(person),
            is_reviewer=True,
            token=Token.objects.create(user=person).key,
        )
        for name, person in people.items()
    }


@pytest.mark.parametrize("who", ["reviewer", "lead_reviewer", "administrator"])
def test_no_url_shows_a_draft_or_anything_attached_to_it_to_the_regulator(drafts, regulators, who):
    """The regulator's side sees a case from its submission on. Evidence ids are sequential:
    a download (or signal) of a draft's record must be as invisible as the draft itself."""
    visitor = regulators[who]
    problems = []
    before = fingerprint(drafts)
    for route in all_routes():
        if unknown_parameters(route):
            continue
        token = visitor.token if route.namespace == "api" else None
        for url in urls_for(route, drafts):
            for method in ("GET", "POST"):
                try:
                    response = _request(visitor, method, url, token)
                except Exception as error:  # the point is to report every one, not stop
                    problems.append(f"{method} {url} as {visitor.label} raised {error!r}")
                    continue
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {visitor.label}: {response.status_code}")
                problems.extend(_problems(route, url, method, visitor, response, drafts))

    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
    assert fingerprint(drafts) == before, f"{visitor.label} changed a draft"


def test_the_draft_s_own_team_can_download_its_evidence(client, drafts, manufacturer):
    """The control for the sweep above: the draft's evidence is there, for its owners."""
    client.force_login(manufacturer)

    response = client.get(reverse("devices:evidence-download", args=[drafts.evidence[0].pk]))

    assert response.status_code == 200
