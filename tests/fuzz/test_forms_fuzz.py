"""Hostile input to every form on the site: never a 500, never the input's markup unescaped.

Every route in the URLconf must have an entry in TARGETS (test_every_route_has_a_fuzz_target
names any that does not): who may use it, what records its URL names, and whether it takes a
POST or reads a query string. The fields to fuzz are not listed by hand. They are read from
the <form> that the site itself renders for that URL (`form_on`, or the URL's own page), so a
field added to a template is fuzzed from then on, and a form that disappears fails loudly.

Each example starts from the rendered form and, field by field, keeps the rendered value, picks
another of the field's options, or sends something hostile instead: a huge or odd Unicode
string, a NUL byte, a number out of any range, an impossible date, SQL or markup injection, a
list where one value is expected, a missing field, a bogus id, bogus formset management
counts, a disguised or empty file. Some bodies are sent url-encoded with invalid UTF-8.
Every response must be below 500; an HTML page must not carry the input's markup unescaped; a
redirect must stay on this site, and the page it leads to must pass the same checks.

Each example runs in a savepoint that is rolled back, so examples do not depend on each other
and hypothesis (derandomized) generates the same examples on every run and every machine.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from html.parser import HTMLParser
from urllib.parse import quote, quote_from_bytes, urljoin, urlsplit

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from airlock.models import TwoFactorEnrolment
from airlock.roles import Role
from calls.models import SelectionCriterion, SelectionScore
from devices.models import Application, ApplicationState
from documents.services import case_documents_issue
from notifications.models import Notification
from observers.models import ObserverGrant
from reviews.models import (
    Checkpoint,
    IncomingAlert,
    PartnerRegulator,
    PlanVersion,
    PlanVersionThreshold,
    SafetySignal,
    SignalSeverity,
    SignalSource,
    TestingPlan,
)
from teams.api_keys import api_key_create
from teams.models import Invitation, SignUp
from teams.services import invitation_send
from tests.factories import (
    CohortFactory,
    DeviceFactory,
    OrganisationFactory,
    UserFactory,
    add_evidence,
    make_application,
    make_manufacturer,
)

pytestmark = pytest.mark.django_db

S = ApplicationState

POST_EXAMPLES = 20
QUERY_EXAMPLES = 10
FUZZ = settings(
    max_examples=POST_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Each example is its own rolled-back savepoint, so sharing the test's fixtures is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- What to send ----------------------------------------------------------------------------

# Whatever the browser would never send. The markup strings carry MARKUP_MARKERS, which must
# never come back unescaped in an HTML page.
HOSTILE = [
    "",
    " ",
    "\x00",
    "null\x00byte",
    "A" * 60_000,
    "😀" * 2_000,
    "\u202eevil\u200b\ufeff",
    "Ω≈ç√∫\u02dcµ≤≥÷ ǅ ﷺ",
    "\r\nSet-Cookie: fuzz=1",
    "\n" * 500,
    "-1",
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "0x1F",
    "9" * 40,
    "9223372036854775808",
    "-9223372036854775809",
    "1_000",
    "٣",
    "²",
    "Ⅻ",
    "0.00000000000000000001",
    "2026-02-30",
    "0000-00-00",
    "9999-12-31",
    "31/12/2026",
    "2026-13-45T25:61:00",
    "10000-01-01",
    "' OR '1'='1",
    "1; DROP TABLE devices_application;--",
    "%_\\",
    '<script>fz("xss")</script>',
    '"><img src=x onerror=fz(1)>',
    "'><svg onload=fz(1)>",
    "javascript:fz(1)",
    "{{ settings.SECRET_KEY }}{% debug %}",
    "../../../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
]
MARKUP_MARKERS = (b"<script>fz(", b"<img src=x onerror=fz(", b"<svg onload=fz(")
# The values that break parsers (ids past 64 bits, digits int() cannot read, impossible
# dates...): each is also sent in every field of every form at once, not left to chance.
SWEEP = [
    "",
    "\x00",
    "9" * 40,
    "9223372036854775808",
    "-9223372036854775809",
    "-1",
    "1e309",
    "NaN",
    "²",
    "٣",
    "2026-02-30",
    "10000-01-01",
    "A" * 60_000,
    '<script>fz("xss")</script>',
]
# Formset management forms get counts that break naive loops.
MANAGEMENT_COUNTS = ["-1", "0", "1000", "1001", "100000000", "2.5", "ten"]
# Names a form never has, in case a view reads request.POST directly or mass-assigns.
JUNK_FIELDS = [
    "id",
    "pk",
    "state",
    "organisation",
    "is_superuser",
    "expected_state",
    "next",
    "form-TOTAL_FORMS",
    "applications",
    "decided_by",
]

UPLOAD_CONTENTS = [
    b"",
    b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n",
    b"PK\x03\x04" + b"\x00" * 60,
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 16,
    b"\xff\xd8\xff\xe0" + b"\x00" * 16,
    b"name,value\nsensitivity,0.9\n",
    b'<html><script>fz("xss")</script></html>',
    b"MZ\x90\x00\x03" + b"\x00" * 60,
    b"%PDF-1.7\n" + b"A" * 4_000,
]
UPLOAD_NAMES = [
    "evidence.pdf",
    "report.PDF",
    "../../../etc/passwd",
    "data.csv",
    "model.docx",
    "scan.png",
    "a" * 300 + ".pdf",
    "résumé ✓.pdf",
    "x.pdf.exe",
    "no-extension",
    '"><img src=x onerror=fz(1)>.pdf',
    ".pdf",
]
# Small, so the oversized-upload path is exercised without sending megabytes.
UPLOAD_LIMIT_BYTES = 2_048

scalar = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
uploads = st.builds(
    lambda name, content, content_type: SimpleUploadedFile(name, content, content_type),
    st.sampled_from(UPLOAD_NAMES),
    st.sampled_from(UPLOAD_CONTENTS),
    st.sampled_from(["application/pdf", "text/html", "application/octet-stream", "", "x/\x00"]),
)


# --- Reading the form the site renders -------------------------------------------------------


@dataclass
class Field:
    name: str
    # "choice" (select, radio, checkbox, named button), "textarea", or the <input> type:
    # "text", "number", "date", "email", "password", "hidden", "file".
    kind: str
    values: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    id: str
    fields: dict[str, Field] = field(default_factory=dict)

    def add(self, name: str, kind: str, value: str | None) -> None:
        if name == "csrfmiddlewaretoken":
            return
        entry = self.fields.setdefault(name, Field(name, kind))
        if kind == "choice":
            entry.kind = "choice"
        if value is not None and value not in entry.values:
            entry.values.append(value)


class FormParser(HTMLParser):
    """Every <form> on a page with its fields, including fields outside it that name it with
    form="id" (the review queue's tick boxes) and htmx's hx-post forms."""

    BUTTONS = {"submit", "button", "image", "reset"}
    TYPED = {"number", "date", "email", "password", "hidden"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        # The open <select> or <textarea>, and the form it belongs to.
        self.select: tuple[Form, str] | None = None
        self.textarea: tuple[Form, str] | None = None
        self.text = ""

    def _owner(self, attrs: dict) -> Form | None:
        if attrs.get("form"):
            return next((f for f in self.forms if f.id == attrs["form"]), None)
        return self.current

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            action = attrs.get("hx-post") or attrs.get("action", "")
            method = "post" if attrs.get("hx-post") else attrs.get("method", "get").lower()
            self.current = Form(action=action, method=method, id=attrs.get("id", ""))
            self.forms.append(self.current)
            return
        if tag == "option" and self.select:
            owner, name = self.select
            owner.add(name, "choice", attrs.get("value", ""))
            return
        owner = self._owner(attrs)
        name = attrs.get("name")
        if owner is None or not name:
            return
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind == "file":
                owner.add(name, "file", None)
            elif kind in {"radio", "checkbox"} or kind in self.BUTTONS:
                owner.add(name, "choice", attrs.get("value", "on" if kind == "checkbox" else ""))
            else:
                typed = kind if kind in self.TYPED else "text"
                owner.add(name, typed, attrs.get("value", ""))
        elif tag == "button":
            owner.add(name, "choice", attrs.get("value", ""))
        elif tag == "select":
            owner.add(name, "choice", None)
            self.select = (owner, name)
        elif tag == "textarea":
            self.textarea, self.text = (owner, name), ""
            owner.add(name, "textarea", None)

    def handle_data(self, data):
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            owner, name = self.textarea
            owner.add(name, "textarea", self.text.lstrip("\n"))
            self.textarea = None


def forms_on(html: str, page_url: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urlsplit(urljoin(page_url, form.action)).path
    return parser.forms


# --- Who uses each URL, and with what ---------------------------------------------------------

ANONYMOUS, MANUFACTURER, REVIEWER, LEAD, ADMIN, OBSERVER = (
    "anonymous",
    "manufacturer",
    "reviewer",
    "lead_reviewer",
    "admin_user",
    "observer",
)


class Stage:
    """Builds, on demand, the records a URL names; all belong to the manufacturer persona's
    organisation, and cases are assigned to the reviewer persona."""

    def __init__(self, people: dict):
        self.people = people
        self.manufacturer = people[MANUFACTURER]
        self.organisation = self.manufacturer.membership.organisation

    def case(self, state: str, **kwargs):
        defaults = {
            "organisation": self.organisation,
            "created_by": self.manufacturer,
            "assignee": None if state == S.DRAFT else self.people[REVIEWER],
        }
        application = make_application(state, **(defaults | kwargs))
        if state in {S.IN_CONTROLLED_TESTING, S.SUSPENDED}:
            Checkpoint.objects.create(
                application=application, sequence=1, due_on=timezone.localdate()
            )
        return application

    def pk(self, state: str, **kwargs) -> dict:
        return {"pk": self.case(state, **kwargs).pk}

    def open_cohort(self) -> None:
        CohortFactory(name="Fuzz cohort (open)")

    def plan(self, *, sent: bool) -> dict:
        """An accepted case whose first plan is drafted but not agreed by both sides: sent to
        the manufacturer, or still the reviewer's draft."""
        application = self.case(S.ACCEPTED)
        TestingPlan.objects.filter(application=application).delete()
        PlanVersion.objects.filter(application=application).update(
            reviewer_agreed_by=self.people[REVIEWER] if sent else None,
            reviewer_agreed_at=timezone.now() if sent else None,
            manufacturer_agreed_by=None,
            manufacturer_agreed_at=None,
        )
        return {"pk": application.pk}

    def amendment(self) -> dict:
        """A case in testing with an amendment drafted to its plan in force."""
        application = self.case(S.IN_CONTROLLED_TESTING)
        plan = application.testing_plan
        version = PlanVersion.objects.create(
            application=application,
            number=2,
            environment=plan.environment,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=14,
            drafted_by=self.people[REVIEWER],
        )
        PlanVersionThreshold.objects.create(version=version, metric="sensitivity", value="0.9")
        return {"pk": application.pk}

    def notifications(self) -> dict:
        """Notifications of the persona's, read and unread; returns one of them."""
        application = self.case(S.SUBMITTED)
        first = None
        for n, person in enumerate([self.manufacturer, self.people[REVIEWER]] * 2):
            notification = Notification.objects.create(
                recipient=person,
                email_to=person.email,
                application=application,
                kind="transition",
                key=f"fuzz:{application.pk}:{n}",
                title=f"{application.reference}: now submitted",
                body="Changed by: Fuzz",
                url=f"/applications/{application.pk}/",
                read_at=timezone.now() if n > 1 else None,
            )
            first = first or notification
        return {"pk": first.pk}

    def device(self) -> dict:
        device = DeviceFactory(organisation=self.organisation, created_by=self.manufacturer)
        return {"pk": device.pk}

    def evidence(self) -> dict:
        application = self.case(S.SUBMITTED)
        return {"pk": add_evidence(application, "other", by=self.manufacturer).pk}

    def model_change(self) -> dict:
        """A change held outside the protocol, waiting for the reviewer's decision."""
        from reviews.model_changes import ChangeDetails, model_change_notify

        application = self.case(S.IN_CONTROLLED_TESTING)
        change = model_change_notify(
            actor=self.manufacturer,
            application_id=application.pk,
            details=ChangeDetails(
                kind="new_intended_use",
                version_label="9.0",
                released_on=timezone.localdate(),
                description="A new intended use.",
            ),
        )
        return {"pk": change.pk}

    def signal(self) -> dict:
        PartnerRegulator.objects.get_or_create(
            name="Fuzz Regulator",
            defaults={"country": "Nowhere", "webhook_url": "https://partner.example/hook"},
        )
        signal = SafetySignal.objects.create(
            application=self.case(S.IN_CONTROLLED_TESTING),
            metric="sensitivity",
            observed_value="0.71",
            severity=SignalSeverity.HIGH,
            source=SignalSource.REVIEWER,
            title="Sensitivity below threshold",
            description="Seen at one site.",
        )
        return {"pk": signal.pk}

    def shared_signal(self) -> dict:
        built = self.signal()
        SafetySignal.objects.filter(pk=built["pk"]).update(shared_at=timezone.now())
        return built

    def incoming_alert(self) -> dict:
        partner, _ = PartnerRegulator.objects.get_or_create(
            name="Fuzz Regulator",
            defaults={"country": "Nowhere", "webhook_url": "https://partner.example/hook"},
        )
        alert = IncomingAlert.objects.create(
            partner=partner,
            external_id=f"FUZZ-{IncomingAlert.objects.count() + 1}",
            title="Drift in a triage model",
            severity=SignalSeverity.HIGH,
            summary="Specificity fell.",
            payload={"data": {"imdrf_codes": [{"code": "A09"}], "device": {"name": "X"}}},
        )
        return {"pk": alert.pk}

    def document(self) -> dict:
        application = self.case(S.SCREENING)
        Application.objects.filter(pk=application.pk).update(state=S.REJECTED)
        [document] = case_documents_issue(application_id=application.pk)
        return {"pk": document.pk}

    def finding(self) -> dict:
        """A finding on a case in testing (with a checkpoint and evidence to choose from), and
        one on another case to link it to."""
        from findings.models import ChallengeArea
        from findings.services import FindingDetails, finding_record

        # get_or_create: the browser sweep's database has lost the migration's rows.
        area, _ = ChallengeArea.objects.get_or_create(name="Explainability")
        made = [
            finding_record(
                actor=self.people[REVIEWER],
                application_id=self.case(state).pk,
                details=FindingDetails(f"Gap {state}", "Seen in testing.", area.pk, "guidance"),
            )
            for state in (S.IN_CONTROLLED_TESTING, S.SCREENING)
        ]
        return {"pk": made[0].pk}

    def theme(self) -> dict:
        """A theme with one finding in it and another to add (the browser sweep builds it
        again on the same database: made once)."""
        from findings.models import Finding, Theme

        found = self.finding()
        theme, _ = Theme.objects.get_or_create(
            name="Fuzz theme", defaults={"created_by": self.people[LEAD]}
        )
        theme.findings.add(Finding.objects.get(pk=found["pk"]))
        return {"pk": theme.pk}

    def cohort(self) -> dict:
        """The cohort of a case with a finding, and a PDF of its report drawn."""
        from findings.reports import programme_report_draw, programme_report_request

        finding = self.finding()
        cohort_id = Application.objects.get(findings__pk=finding["pk"]).cohort_id
        report = programme_report_request(actor=self.people[LEAD], cohort_id=cohort_id)
        programme_report_draw(report_id=report.pk)
        return {"pk": cohort_id, "report": report.pk}

    def reset_link(self) -> dict:
        user = self.manufacturer
        return {
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        }

    def authenticator(self) -> dict:
        TOTPDevice.objects.create(user=self.people[REVIEWER], name="Phone", confirmed=True)
        return {}

    def enrolment_link(self) -> dict:
        token = "fuzz-enrolment-token"
        TwoFactorEnrolment.objects.create(
            user=self.people[REVIEWER],
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(hours=1),
        )
        return {"token": token}

    def member(self) -> dict:
        colleague = make_manufacturer(self.organisation, org_role="contributor")
        return {"pk": colleague.membership.pk}

    def invitation(self) -> dict:
        invitation = invitation_send(
            actor=self.manufacturer, email="fuzz@example.test", role="viewer"
        )
        return {"pk": invitation.pk}

    def invitation_link(self) -> dict:
        token = "fuzz-invitation-token"
        Invitation.objects.create(
            organisation=self.organisation,
            email="fuzz-join@example.test",
            role="contributor",
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            invited_by=self.manufacturer,
            expires_at=timezone.now() + timedelta(days=1),
        )
        return {"token": token}

    def signup_link(self) -> dict:
        token = "fuzz-signup-token"
        SignUp.objects.create(
            email="fuzz-founder@example.test",
            full_name="Fuzz Founder",
            password_hash="!",
            organisation_name="Fuzz Founders Ltd",
            companies_house_number="12345678",
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=timezone.now() + timedelta(days=1),
        )
        return {"token": token}

    def waiting_organisation(self) -> dict:
        return {"pk": OrganisationFactory(name="Fuzz Waiting Ltd", approved_at=None).pk}

    def scorable(self) -> dict:
        """An eligible application (screened, every criterion met) on a call with weighted
        selection criteria."""
        application = self.case(S.SCREENING)
        for order, title in enumerate(["Novel question", "Benefit"]):
            SelectionCriterion.objects.get_or_create(
                call=application.call, title=title, defaults={"weight": order + 1}
            )
        return {"pk": application.pk}

    def disagreement(self) -> dict:
        """An eligible application two reviewers scored far apart: flagged for moderation."""
        kwargs = self.scorable()
        application = Application.objects.get(pk=kwargs["pk"])
        for total, person in ((20, self.people[REVIEWER]), (90, self.people[ADMIN])):
            SelectionScore.objects.create(
                application=application, reviewer=person, scores={}, total=total, comment="x"
            )
        return kwargs

    def call(self) -> dict:
        return {"pk": Application.objects.get(pk=self.disagreement()["pk"]).call_id}

    def observed(self, evidence: bool = True) -> ObserverGrant:
        """A submitted case granted to the observer persona (made on first use)."""
        return ObserverGrant.objects.create(
            observer=self.people[OBSERVER],
            application=self.case(S.SUBMITTED),
            evidence=evidence,
            granted_by=self.people[ADMIN],
        )

    def api_key(self) -> dict:
        key, _secret = api_key_create(
            actor=self.manufacturer, name="Fuzz", scope="read", expires_in_days=30
        )
        return {"pk": key.pk}


QUEUE_FILTERS = (
    "q",
    "state",
    "mdr_class",
    "imdrf_category",
    "clinical_area",
    "cohort",
    "assignee",
    "clock",
    "sort",
    "per_page",
    "page",
)


@dataclass(frozen=True)
class Target:
    persona: str
    # Creates what the URL names; returns the URL's arguments.
    setup: Callable[[Stage], dict] = lambda stage: {}
    # True: fuzz POST bodies, reading the fields from the form that posts to this URL on the
    # page named by form_on (default: the URL's own page).
    posts: bool = False
    form_on: str | None = None
    # Query-string parameters the page reads, fuzzed on GET.
    query: tuple[str, ...] = ()
    headers: dict = field(default_factory=dict)
    label: str = ""


def case(state, **kwargs) -> Callable[[Stage], dict]:
    return lambda stage: stage.pk(state, **kwargs)


def with_(extra: dict, build: Callable[[Stage], dict]) -> Callable[[Stage], dict]:
    return lambda stage: build(stage) | extra


def listing(build: Callable[[Stage], object]) -> Callable[[Stage], dict]:
    """For a URL that names no record: create the records its page lists."""

    def setup(stage: Stage) -> dict:
        build(stage)
        return {}

    return setup


def accepting(state) -> Callable[[Stage], dict]:
    def build(stage: Stage) -> dict:
        stage.open_cohort()
        return stage.pk(state)

    return build


def transition(action: str, state: str) -> Target:
    return Target(
        REVIEWER,
        with_({"action": action}, case(state)),
        posts=True,
        form_on="reviews:application",
        label=action,
    )


def admin_transition(action: str, state: str) -> Target:
    def build(stage: Stage) -> dict:
        stage.open_cohort()
        return {"object_id": str(stage.case(state).pk), "transition_name": action}

    return Target(ADMIN, build, posts=True, label=action)


TARGETS: dict[str, list[Target]] = {
    # --- Signing in and accounts -------------------------------------------------------------
    "home": [Target(ADMIN)],
    "healthz": [Target(ANONYMOUS)],
    "healthz-ready": [Target(ANONYMOUS)],
    "help": [Target(ANONYMOUS)],
    "favicon": [Target(ANONYMOUS)],
    "login": [Target(ANONYMOUS, posts=True, query=("next",))],
    "logout": [Target(MANUFACTURER, posts=True, form_on="devices:home")],
    "two-factor-setup": [Target(REVIEWER, posts=True, query=("next",))],
    "two-factor-verify": [Target(REVIEWER, lambda stage: stage.authenticator(), posts=True)],
    "two-factor-enrol": [Target(REVIEWER, lambda stage: stage.enrolment_link())],
    "password_change": [Target(MANUFACTURER, posts=True)],
    "password_change_done": [Target(MANUFACTURER)],
    "password_reset": [Target(ANONYMOUS, posts=True)],
    "password_reset_done": [Target(ANONYMOUS)],
    "password_reset_confirm": [
        Target(ANONYMOUS, lambda stage: stage.reset_link(), posts=True, query=("next",))
    ],
    "password_reset_complete": [Target(ANONYMOUS)],
    # Django's admin is Django's; its one view of ours is the transition form.
    "admin:devices_application_transition": [
        admin_transition("start_screening", S.SUBMITTED),
        admin_transition("accept", S.SCREENING),
        admin_transition("request_information", S.SCREENING),
        admin_transition("respond", S.INFORMATION_REQUESTED),
        admin_transition("reject", S.SCREENING),
    ],
    # --- The manufacturer portal -------------------------------------------------------------
    "devices:home": [Target(MANUFACTURER)],
    "devices:device-list": [Target(MANUFACTURER)],
    "devices:device-create": [Target(MANUFACTURER, posts=True)],
    "devices:imdrf-category": [Target(MANUFACTURER, query=("significance", "situation"))],
    "devices:device-detail": [Target(MANUFACTURER, lambda stage: stage.device())],
    "devices:device-edit": [Target(MANUFACTURER, lambda stage: stage.device(), posts=True)],
    "devices:device-directory": [
        Target(
            MANUFACTURER,
            lambda stage: stage.device(),
            posts=True,
            form_on="devices:device-detail",
        )
    ],
    "devices:application-list": [Target(MANUFACTURER)],
    "devices:application-start": [
        Target(MANUFACTURER, listing(lambda stage: stage.device()), posts=True, query=("device",))
    ],
    "devices:application-step": [
        Target(MANUFACTURER, with_({"step": step}, case(S.DRAFT)), posts=True, label=f"step {step}")
        for step in (1, 2, 3, 4)
    ],
    "devices:application-review": [Target(MANUFACTURER, case(S.DRAFT))],
    "devices:application-submit": [Target(MANUFACTURER, case(S.DRAFT), posts=True)],
    "devices:application-detail": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "devices:application-timeline": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "devices:application-withdraw": [Target(MANUFACTURER, case(S.SUBMITTED), posts=True)],
    "devices:application-respond": [
        Target(MANUFACTURER, case(S.INFORMATION_REQUESTED), posts=True)
    ],
    "devices:message-create": [
        Target(
            MANUFACTURER,
            case(S.SUBMITTED),
            posts=True,
            form_on="devices:application-detail",
            headers=headers,
            label=label,
        )
        for label, headers in [("page", {}), ("htmx", {"HX-Request": "true"})]
    ],
    "devices:evidence-upload": [
        Target(MANUFACTURER, case(S.SUBMITTED), posts=True, query=("kind",))
    ],
    "devices:evidence-download": [Target(MANUFACTURER, lambda stage: stage.evidence())],
    "devices:testing": [Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING))],
    "devices:checkpoint-report": [
        Target(
            MANUFACTURER,
            with_({"sequence": 1}, case(S.IN_CONTROLLED_TESTING)),
            posts=True,
        )
    ],
    "devices:incident-report": [Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "devices:model-changes": [Target(MANUFACTURER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "devices:testing-plan": [Target(MANUFACTURER, lambda stage: stage.plan(sent=True))],
    "devices:testing-plan-agree": [
        Target(
            MANUFACTURER,
            lambda stage: stage.plan(sent=True),
            posts=True,
            form_on="devices:testing-plan",
        )
    ],
    "devices:testing-plan-return": [
        Target(
            MANUFACTURER,
            lambda stage: stage.plan(sent=True),
            posts=True,
            form_on="devices:testing-plan",
        )
    ],
    "devices:exit-report": [Target(MANUFACTURER, case(S.CLEARED))],
    # --- Notifications -----------------------------------------------------------------------
    "notifications:list": [
        Target(MANUFACTURER, listing(lambda stage: stage.notifications()), query=("show", "page"))
    ],
    "notifications:open": [Target(MANUFACTURER, lambda stage: stage.notifications())],
    "notifications:read": [
        Target(
            MANUFACTURER,
            lambda stage: stage.notifications(),
            posts=True,
            form_on="notifications:list",
        )
    ],
    "notifications:read-all": [
        Target(
            REVIEWER,
            listing(lambda stage: stage.notifications()),
            posts=True,
            form_on="notifications:list",
        )
    ],
    # --- The review workspace ----------------------------------------------------------------
    "reviews:home": [Target(REVIEWER)],
    "reviews:queue": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.SUBMITTED)), query=QUEUE_FILTERS)
    ],
    "reviews:queue-export": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.SUBMITTED)), query=QUEUE_FILTERS)
    ],
    "reviews:bulk-assign": [
        Target(
            LEAD,
            listing(lambda stage: stage.case(S.SUBMITTED, assignee=None)),
            posts=True,
            form_on="reviews:queue",
        )
    ],
    "reviews:conflicts": [Target(REVIEWER, listing(lambda stage: stage.device()), posts=True)],
    "reviews:countersignatures": [
        Target(LEAD, listing(lambda stage: stage.case(S.EVIDENCE_REVIEW)))
    ],
    "reviews:application": [Target(REVIEWER, case(S.SUBMITTED))],
    "reviews:claim": [
        Target(
            REVIEWER, case(S.SUBMITTED, assignee=None), posts=True, form_on="reviews:application"
        )
    ],
    "reviews:assign": [Target(LEAD, case(S.SUBMITTED), posts=True, form_on="reviews:application")],
    "reviews:note-add": [
        Target(REVIEWER, case(S.SUBMITTED), posts=True, form_on="reviews:application")
    ],
    "reviews:message-add": [
        Target(REVIEWER, case(S.SUBMITTED), posts=True, form_on="reviews:application")
    ],
    "reviews:transition": [
        transition("start_screening", S.SUBMITTED),
        transition("begin_testing", S.ACCEPTED),
        transition("suspend", S.IN_CONTROLLED_TESTING),
        transition("resume", S.SUSPENDED),
        transition("extend_testing", S.EVIDENCE_REVIEW),
    ],
    "reviews:screening": [Target(REVIEWER, case(S.SCREENING), posts=True)],
    "reviews:accept": [
        Target(REVIEWER, accepting(S.SCREENING), posts=True, form_on="reviews:screening")
    ],
    "reviews:reject": [
        Target(REVIEWER, case(S.SCREENING), posts=True, form_on="reviews:screening")
    ],
    "reviews:information-request": [Target(REVIEWER, case(S.SCREENING), posts=True)],
    "reviews:testing-plan": [Target(REVIEWER, case(S.ACCEPTED), posts=True)],
    "reviews:testing-plan-send": [
        Target(
            REVIEWER,
            lambda stage: stage.plan(sent=False),
            posts=True,
            form_on="reviews:testing-plan",
        )
    ],
    "reviews:testing-plan-withdraw": [
        Target(
            REVIEWER,
            lambda stage: stage.amendment(),
            posts=True,
            form_on="reviews:testing-plan",
        )
    ],
    "reviews:complete-testing": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "reviews:evidence-review": [Target(REVIEWER, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:decision": [Target(REVIEWER, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:countersign": [Target(LEAD, case(S.EVIDENCE_REVIEW), posts=True)],
    "reviews:withdraw-clearance": [
        Target(LEAD, case(S.EVIDENCE_REVIEW), posts=True, form_on="reviews:decision")
    ],
    "reviews:exit-report": [Target(REVIEWER, case(S.CLEARED))],
    "reviews:performance": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING))],
    "reviews:signal-raise": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "reviews:dashboard": [
        Target(REVIEWER, listing(lambda stage: stage.case(S.IN_CONTROLLED_TESTING)))
    ],
    "reviews:signals": [
        Target(REVIEWER, listing(lambda stage: stage.signal()), query=("show", "page"))
    ],
    "reviews:signal-detail": [Target(REVIEWER, lambda stage: stage.signal())],
    "reviews:model-change": [Target(REVIEWER, lambda stage: stage.model_change(), posts=True)],
    "reviews:signal-share": [
        Target(
            REVIEWER,
            lambda stage: stage.signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    "reviews:signal-status": [
        Target(
            REVIEWER,
            lambda stage: stage.signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    "reviews:incoming-alerts": [Target(REVIEWER, query=("page",))],
    "reviews:incoming-alert": [Target(REVIEWER, lambda stage: stage.incoming_alert())],
    "reviews:incoming-alert-receipt": [
        Target(
            REVIEWER,
            lambda stage: stage.incoming_alert(),
            posts=True,
            form_on="reviews:incoming-alert",
        )
    ],
    "reviews:signal-retract": [
        Target(
            REVIEWER,
            lambda stage: stage.shared_signal(),
            posts=True,
            form_on="reviews:signal-detail",
        )
    ],
    # --- The regulators' network (public) ----------------------------------------------------
    "network:schema": [Target(ANONYMOUS)],
    "network:directory": [Target(ANONYMOUS)],
    "network:directory-json": [Target(ANONYMOUS)],
    # --- The organisation's team and API keys --------------------------------------------------
    "teams:team": [Target(MANUFACTURER, listing(lambda stage: stage.member()))],
    "teams:invite": [Target(MANUFACTURER, posts=True, form_on="teams:team")],
    "teams:invitation-cancel": [
        Target(MANUFACTURER, lambda stage: stage.invitation(), posts=True, form_on="teams:team")
    ],
    "teams:member-role": [
        Target(MANUFACTURER, lambda stage: stage.member(), posts=True, form_on="teams:team")
    ],
    "teams:member-remove": [Target(MANUFACTURER, lambda stage: stage.member(), posts=True)],
    "teams:join": [Target(ANONYMOUS, lambda stage: stage.invitation_link(), posts=True)],
    "teams:api-keys": [Target(MANUFACTURER, listing(lambda stage: stage.api_key()), posts=True)],
    "calls:list": [Target(ANONYMOUS)],
    "observers:home": [Target(OBSERVER, listing(lambda stage: stage.observed()))],
    "observers:application": [
        Target(OBSERVER, lambda stage: {"pk": stage.observed().application_id})
    ],
    "observers:evidence-download": [
        Target(
            OBSERVER,
            lambda stage: {"pk": stage.observed().application.evidence.first().pk},
        )
    ],
    "observers:grants": [Target(LEAD, case(S.SUBMITTED), posts=True)],
    "observers:revoke": [
        Target(
            LEAD,
            lambda stage: {"pk": stage.observed().application_id},
            posts=True,
            form_on="observers:grants",
        )
    ],
    "calls:selection": [Target(LEAD, lambda stage: stage.call())],
    "calls:report": [Target(REVIEWER, lambda stage: stage.call())],
    "calls:score": [Target(REVIEWER, lambda stage: stage.scorable(), posts=True)],
    "calls:moderate": [Target(LEAD, lambda stage: stage.disagreement(), posts=True)],
    "calls:select": [
        Target(LEAD, lambda stage: stage.call(), posts=True, form_on="calls:selection")
    ],
    "teams:signup": [Target(ANONYMOUS, posts=True)],
    "teams:signup-sent": [Target(ANONYMOUS)],
    "teams:signup-confirm": [Target(ANONYMOUS, lambda stage: stage.signup_link(), posts=True)],
    "teams:ask-to-join": [Target(ANONYMOUS, posts=True, form_on="teams:signup")],
    "teams:organisations": [Target(REVIEWER, listing(lambda stage: stage.waiting_organisation()))],
    "teams:organisation-approve": [
        Target(
            REVIEWER,
            lambda stage: stage.waiting_organisation(),
            posts=True,
            form_on="teams:organisations",
        )
    ],
    "teams:api-key-revoke": [
        Target(MANUFACTURER, lambda stage: stage.api_key(), posts=True, form_on="teams:api-keys")
    ],
    # --- Decision documents ------------------------------------------------------------------
    "documents:download": [Target(MANUFACTURER, lambda stage: stage.document())],
    "documents:verify": [
        Target(ANONYMOUS, posts=True),
        Target(REVIEWER, listing(lambda stage: stage.document()), posts=True),
    ],
    "documents:bundle": [Target(MANUFACTURER, case(S.SUBMITTED))],
    "documents:bundle-public-key": [Target(ANONYMOUS)],
    # --- Findings and programme reports -------------------------------------------------------
    "findings:case-findings": [Target(REVIEWER, case(S.IN_CONTROLLED_TESTING), posts=True)],
    "findings:finding-edit": [Target(REVIEWER, lambda stage: stage.finding(), posts=True)],
    "findings:register": [
        Target(
            REVIEWER,
            listing(lambda stage: stage.theme()),
            query=("area", "theme", "suggests", "page"),
        )
    ],
    "findings:themes": [Target(LEAD, listing(lambda stage: stage.theme()), posts=True)],
    "findings:theme": [Target(LEAD, lambda stage: stage.theme(), posts=True)],
    "findings:theme-finding-add": [
        Target(LEAD, lambda stage: stage.theme(), posts=True, form_on="findings:theme")
    ],
    "findings:theme-finding-remove": [
        Target(LEAD, lambda stage: stage.theme(), posts=True, form_on="findings:theme")
    ],
    "findings:programme-reports": [Target(LEAD, listing(lambda stage: stage.cohort()))],
    "findings:programme-report": [Target(LEAD, lambda stage: {"pk": stage.cohort()["pk"]})],
    "findings:programme-report-pdf": [
        Target(
            LEAD,
            lambda stage: {"pk": stage.cohort()["pk"]},
            posts=True,
            form_on="findings:programme-report",
        )
    ],
    "findings:programme-report-download": [
        Target(LEAD, lambda stage: {"pk": stage.cohort()["report"]})
    ],
    # --- The audit trail ---------------------------------------------------------------------
    "ledger:audit-export": [
        Target(
            LEAD,
            listing(lambda stage: stage.case(S.SUBMITTED)),
            query=("case", "person", "since", "until", "format"),
        )
    ],
}

# Not fuzzed here, and why.
SKIPPED_NAMESPACES = {
    # The JSON API is fuzzed from its OpenAPI schema by tests/fuzz/test_api_fuzz.py.
    "api",
}
# Django's admin is Django's own code; only the views we add to it are in TARGETS.
OUR_ADMIN_VIEWS = {"admin:devices_application_transition"}


def route_paths(patterns=None, namespace: str = "", prefix: str = "") -> dict[str, str]:
    """Every named route, with its full path pattern (the first, where a name repeats)."""
    paths: dict[str, str] = {}
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            found = route_paths(entry.url_patterns, inner, prefix + str(entry.pattern))
            paths = found | paths
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            paths.setdefault(name, prefix + str(entry.pattern))
    return paths


def fuzzed_routes() -> list[str]:
    return sorted(
        name
        for name in route_paths()
        if name.split(":")[0] not in SKIPPED_NAMESPACES
        and (not name.startswith("admin:") or name in OUR_ADMIN_VIEWS)
    )


def text_parameters(name: str) -> list[str]:
    """The route's path parameters that take text rather than a number."""
    return [
        parameter
        for converter, parameter in re.findall(r"<(?:(\w+):)?(\w+)>", route_paths()[name])
        if converter != "int"
    ]


# Routes whose path carries text (not only ids): those segments are fuzzed too.
PATH_TEXT: dict[str, Target] = {
    "password_reset_confirm": Target(ANONYMOUS, lambda stage: stage.reset_link()),
    "two-factor-enrol": Target(REVIEWER, lambda stage: stage.enrolment_link()),
    "reviews:transition": Target(
        REVIEWER, with_({"action": "suspend"}, case(S.IN_CONTROLLED_TESTING))
    ),
    "admin:devices_application_transition": admin_transition("accept", S.SCREENING),
    "teams:join": Target(ANONYMOUS, lambda stage: stage.invitation_link()),
    "teams:signup-confirm": Target(ANONYMOUS, lambda stage: stage.signup_link()),
}


def cases(kind: str) -> list:
    return [
        pytest.param(name, target, id=f"{name}[{target.label}]" if target.label else name)
        for name, targets in TARGETS.items()
        for target in targets
        if (kind == "post" and target.posts)
        or (kind == "query" and target.query)
        or (kind == "get-only" and not target.posts)
    ]


# --- Sending and checking --------------------------------------------------------------------


@pytest.fixture
def stage(manufacturer, reviewer, lead_reviewer, admin_user, settings, running_stack) -> Stage:
    settings.EVIDENCE_MAX_UPLOAD_BYTES = UPLOAD_LIMIT_BYTES
    return Stage(
        {
            MANUFACTURER: manufacturer,
            REVIEWER: reviewer,
            LEAD: lead_reviewer,
            ADMIN: admin_user,
            OBSERVER: UserFactory(email="observer@example.test", role=Role.OBSERVER),
        }
    )


def client_for(stage: Stage, persona: str) -> Client:
    client = Client()
    if persona != ANONYMOUS:
        client.force_login(stage.people[persona])
    return client


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def problems_with(response, where: str) -> list[str]:
    problems = []
    if response.status_code >= 500:
        problems.append(f"{where}: {response.status_code}")
    content_type = response.get("Content-Type", "")
    content = body(response)
    if content_type.startswith("text/html"):
        problems.extend(
            f"{where}: the page shows the input's markup unescaped ({marker.decode()}…)"
            for marker in MARKUP_MARKERS
            if marker in content
        )
    if response.status_code in {301, 302, 303, 307, 308}:
        location = urlsplit(response["Location"])
        if location.netloc and location.netloc != "testserver":
            problems.append(f"{where}: redirects off the site, to {response['Location']}")
    return problems


def send_and_check(client: Client, method: str, url: str, **kwargs) -> int:
    """One request, and the page a redirect leads to; fail with everything found wrong.
    Returns the first response's status."""
    where = f"{method} {url}"
    response = client.get(url, **kwargs) if method == "GET" else client.post(url, **kwargs)
    problems = problems_with(response, where)
    if response.status_code in {301, 302, 303} and not problems:
        location = urlsplit(response["Location"])
        if not location.netloc:
            follow = f"{location.path}?{location.query}" if location.query else location.path
            problems += problems_with(client.get(follow), f"{where} -> GET {follow}")
    assert not problems, "\n".join(problems)
    return response.status_code


def rolled_back(run: Callable[[], int]) -> int:
    with transaction.atomic():
        status = run()
        transaction.set_rollback(True)
    return status


def the_form(stage: Stage, name: str, target: Target, kwargs: dict) -> tuple[str, Form]:
    """The URL to post to and the form the site renders for it."""
    url = reverse(name, kwargs=kwargs)
    if target.form_on:
        # The page takes the record it shows, if its path names one (a list page names none).
        takes_pk = "pk>" in route_paths()[target.form_on]
        page_kwargs = {key: value for key, value in kwargs.items() if key == "pk" and takes_pk}
        page = reverse(target.form_on, kwargs=page_kwargs)
    else:
        page = url
    client = client_for(stage, target.persona)
    response = client.get(page, follow=True)
    assert response.status_code == 200, f"GET {page} as {target.persona}: {response.status_code}"
    final_page = response.request["PATH_INFO"]
    forms = [f for f in forms_on(response.content.decode(), final_page) if f.method == "post"]
    matching = [f for f in forms if f.action == url]
    if not matching and not target.form_on:
        # The page moved on the way (a reset link puts its token in the session and redirects)
        # and posts to its new address.
        matching = [f for f in forms if resolve(f.action).view_name == name]
    assert matching, (
        f"{page} (as {target.persona}) no longer shows a form that posts to {url}: update "
        "TARGETS in tests/fuzz/test_forms_fuzz.py."
    )
    return matching[0].action, matching[0]


def plausible(entry: Field):
    """Values a person might really type into the field, so that many examples get past
    validation and the hostile ones reach the services."""
    if entry.kind == "number":
        return st.one_of(
            st.integers(min_value=0, max_value=5_000).map(str),
            st.decimals(min_value=0, max_value=1, places=4).map(str),
        )
    if entry.kind == "date":
        return st.dates().map(lambda day: day.isoformat())
    if entry.kind == "email":
        return st.emails()
    return st.text(min_size=1, max_size=200)


MANAGEMENT_FIELDS = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")


def field_values(entry: Field):
    """What to send for one field: a list of values; [] leaves it out."""
    if entry.kind == "file":
        return st.one_of(st.just([]), uploads.map(lambda upload: [upload]))
    own = st.sampled_from(entry.values or [""])
    if entry.name.endswith(MANAGEMENT_FIELDS):
        one = st.one_of(own, own, own, st.sampled_from(MANAGEMENT_COUNTS), scalar)
    elif entry.kind in {"choice", "hidden"}:
        one = st.one_of(own, own, own, scalar)
    else:
        one = st.one_of(own, plausible(entry), plausible(entry), scalar)
    single = one.map(lambda value: [value])
    # Mostly one value; sometimes none, sometimes several where one is expected.
    return st.one_of(
        single, single, single, single, st.just([]), st.lists(one, min_size=2, max_size=3)
    )


def payloads(form: Form):
    fields = st.fixed_dictionaries({name: field_values(f) for name, f in form.fields.items()})
    junk = st.dictionaries(st.sampled_from(JUNK_FIELDS), scalar.map(lambda v: [v]), max_size=2)
    encoding = st.sampled_from(["multipart", "multipart", "urlencoded-latin-1"])
    return st.tuples(fields, junk, encoding)


def as_request(data: dict[str, list], encoding: str) -> dict:
    present = {name: values for name, values in data.items() if values}
    has_file = any(isinstance(v, SimpleUploadedFile) for vs in present.values() for v in vs)
    if encoding == "multipart" or has_file:
        return {"data": present}
    # Bytes that are not UTF-8, as a broken or hostile client would send them.
    pairs = [
        f"{quote_from_bytes(name.encode('latin-1', 'replace'))}="
        f"{quote_from_bytes(str(value).encode('latin-1', 'replace'))}"
        for name, values in present.items()
        for value in values
    ]
    return {
        "data": "&".join(pairs).encode(),
        "content_type": "application/x-www-form-urlencoded",
    }


# --- The tests -------------------------------------------------------------------------------


def test_every_route_has_a_fuzz_target():
    missing = [name for name in fuzzed_routes() if name not in TARGETS]
    stale = [name for name in TARGETS if name not in fuzzed_routes()]

    assert not missing, (
        "Add these routes to TARGETS in tests/fuzz/test_forms_fuzz.py (who uses them, what "
        "their URL names, whether they take a POST or read a query string): " + ", ".join(missing)
    )
    assert not stale, "TARGETS names routes that no longer exist: " + ", ".join(stale)


def test_every_route_with_text_in_its_path_has_its_segments_fuzzed():
    missing = [name for name in fuzzed_routes() if text_parameters(name) and name not in PATH_TEXT]

    assert not missing, "Add these routes to PATH_TEXT: " + ", ".join(missing)


@pytest.mark.parametrize(("name", "target"), cases("post"))
def test_posting_hostile_input_never_breaks_a_form(stage, name, target):
    kwargs = target.setup(stage)
    url, form = the_form(stage, name, target, kwargs)
    for value in SWEEP:
        data = {field: [value] for field, entry in form.fields.items() if entry.kind != "file"}
        client = client_for(stage, target.persona)
        rolled_back(partial(send_and_check, client, "POST", url, headers=target.headers, data=data))

    @FUZZ
    @given(payloads(form))
    def post(payload):
        fields, junk, encoding = payload
        client = client_for(stage, target.persona)
        request = as_request(fields | junk, encoding)
        status = rolled_back(
            lambda: send_and_check(client, "POST", url, headers=target.headers, **request)
        )
        # Shown by --hypothesis-show-statistics: how often the fuzz got past validation.
        event(f"answered {status}")

    post()


# Every value a management field might be sent, one field at a time and all at once. The
# attack that found the class: INITIAL_FORMS=-1 (or x) made the evidence review answer 500.
MANAGEMENT_SWEEP = [*MANAGEMENT_COUNTS, "x", "", " 3", "1e3", "-0", "+1", "0x10", "٣", "9" * 40]


def management_variants(management: list[str]) -> list[dict[str, str]]:
    variants = [{field: value} for field in management for value in MANAGEMENT_SWEEP]
    variants += [dict.fromkeys(management, value) for value in MANAGEMENT_SWEEP]
    total = next(field for field in management if field.endswith("TOTAL_FORMS"))
    initial = next(field for field in management if field.endswith("INITIAL_FORMS"))
    # More existing rows than rows, and fewer rows than the page showed.
    return [*variants, {total: "1", initial: "10"}, {total: "0"}, {total: "1"}]


def test_every_formset_management_value_is_answered_without_error(stage):
    """Every form the site renders with a formset's management fields (found by rendering
    each POST target's page, so a new formset is covered without a line here), posted with
    each management value changed and with it missing."""
    found = []
    for name, target in ((p.values[0], p.values[1]) for p in cases("post")):
        with transaction.atomic():
            # Signing in stamps last_login on these objects; the rollback does not unstamp
            # them, and a reset link made from a stale one would not work.
            for person in stage.people.values():
                person.refresh_from_db()
            kwargs = target.setup(stage)
            url, form = the_form(stage, name, target, kwargs)
            management = [field for field in form.fields if field.endswith(MANAGEMENT_FIELDS)]
            if management:
                found.append(name)
                rendered = {
                    field: entry.values[:1] or [""]
                    for field, entry in form.fields.items()
                    if entry.kind != "file"
                }
                client = client_for(stage, target.persona)
                for changed in management_variants(management):
                    data = rendered | {field: [value] for field, value in changed.items()}
                    rolled_back(partial(send_and_check, client, "POST", url, data=data))
                    data = {key: values for key, values in data.items() if key not in changed}
                    rolled_back(partial(send_and_check, client, "POST", url, data=data))
            transaction.set_rollback(True)

    assert {"reviews:evidence-review", "reviews:testing-plan"} <= set(found)


def test_every_formset_class_checks_its_row_counts():
    """The fuzz above reaches the formsets the site renders; this, every one defined."""
    import importlib
    import pkgutil

    from django.forms import BaseFormSet

    from airlock.formsets import SafeFormSet

    for package in ("airlock", "devices", "reviews"):
        for module in pkgutil.walk_packages(
            importlib.import_module(package).__path__, f"{package}."
        ):
            if ".migrations" not in module.name and not module.name.endswith("tests"):
                importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [
        cls
        for cls in subclasses(BaseFormSet)
        if cls.__module__.split(".")[0] in {"airlock", "devices", "reviews"}
    ]
    unchecked = [cls.__qualname__ for cls in ours if not issubclass(cls, SafeFormSet)]

    assert ours
    assert not unchecked, "Base these formsets on airlock.formsets.SafeFormSet: " + ", ".join(
        unchecked
    )


@pytest.mark.parametrize(("name", "target"), cases("query"))
def test_hostile_query_strings_never_break_a_page(stage, name, target):
    url = reverse(name, kwargs=target.setup(stage))
    client = client_for(stage, target.persona)
    # Query strings are read by hand more often than forms are: try every hostile value (in
    # every parameter at once: each is read on its own), then random mixtures.
    for value in HOSTILE:
        query = dict.fromkeys(target.query, value)
        rolled_back(partial(send_and_check, client, "GET", url, data=query))
    params = st.fixed_dictionaries(
        {},
        optional={
            parameter: st.one_of(scalar.map(lambda v: [v]), st.lists(scalar, max_size=3))
            for parameter in target.query
        },
    )

    @settings(FUZZ, max_examples=QUERY_EXAMPLES)
    @given(params)
    def get(query):
        event(f"answered {rolled_back(lambda: send_and_check(client, 'GET', url, data=query))}")

    get()


@pytest.mark.parametrize(("name", "target"), PATH_TEXT.items(), ids=list(PATH_TEXT))
def test_hostile_path_segments_never_break_a_page(stage, name, target):
    kwargs = target.setup(stage)
    placeholders = {parameter: f"ZZ{parameter}ZZ" for parameter in text_parameters(name)}
    template = reverse(name, kwargs=kwargs | placeholders)
    # Each segment often keeps its real value, so one bad segment is tried with the others
    # good (a bogus object id alone would stop the admin before it reads the transition name).
    segments = st.fixed_dictionaries(
        {
            parameter: st.one_of(st.just(str(kwargs[parameter])), scalar, st.text(min_size=1))
            for parameter in placeholders
        }
    )

    @settings(FUZZ, max_examples=QUERY_EXAMPLES)
    @given(segments, st.sampled_from(["GET", "POST"]))
    def visit(values, method):
        url = template
        for parameter, value in values.items():
            url = url.replace(placeholders[parameter], quote(value, safe="") or "-")
        client = client_for(stage, target.persona)
        event(f"answered {rolled_back(lambda: send_and_check(client, method, url))}")

    visit()


@pytest.mark.parametrize(("name", "target"), cases("get-only"))
def test_pages_without_a_form_answer_get_and_refuse_post(stage, name, target):
    url = reverse(name, kwargs=target.setup(stage))
    client = client_for(stage, target.persona)

    send_and_check(client, "GET", url)
    response = client.post(url, {"state": S.CLEARED, "next": "//evil.example/"})

    assert response.status_code == 405, (
        f"POST {url} answered {response.status_code}: a page that takes a POST needs "
        "posts=True in TARGETS, so its form is fuzzed."
    )


def test_the_form_reader_finds_fields_outside_their_form_and_textarea_text():
    html = """
    <form method="post" action="/x/" id="bulk"><input name="query" value="a=1">
      <textarea name="body">
Hello</textarea><select name="who"><option value="">Anyone</option><option value="7">R</option>
      </select><button name="save_draft">Save</button></form>
    <input type="checkbox" form="bulk" name="applications" value="3">
    <input type="checkbox" form="bulk" name="applications" value="4">
    <form hx-post="/y/"><input type="file" name="file"></form>
    """

    bulk, htmx = forms_on(html, "/page/")

    assert (bulk.action, bulk.method) == ("/x/", "post")
    assert bulk.fields["applications"].values == ["3", "4"]
    assert bulk.fields["body"].values == ["Hello"]
    assert bulk.fields["who"].values == ["", "7"]
    assert bulk.fields["save_draft"].kind == "choice"
    assert (htmx.action, htmx.method, htmx.fields["file"].kind) == ("/y/", "post", "file")


def test_the_checks_catch_unescaped_markup_and_off_site_redirects():
    from django.http import HttpResponse, HttpResponseRedirect

    page = HttpResponse('<p><script>fz("xss")</script></p>', content_type="text/html")
    away = HttpResponseRedirect("https://evil.example/")
    escaped = HttpResponse("<p>&lt;script&gt;fz(&quot;xss&quot;)</p>", content_type="text/html")

    assert problems_with(page, "GET /")
    assert problems_with(away, "GET /")
    assert not problems_with(escaped, "GET /")
