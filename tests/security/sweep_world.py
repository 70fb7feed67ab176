"""The records the permission sweep's URLs name: one organisation's cases in every state, and
its unsubmitted drafts, each record carrying MARKER."""

import hashlib
from datetime import timedelta

from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from airlock.models import TwoFactorEnrolment
from airlock.roles import Role
from devices.models import (
    Application,
    ApplicationState,
    CheckpointReport,
    EvidenceDocument,
    IncidentReport,
    IncidentSeverity,
    Message,
)
from documents.models import CaseDocument, DocumentKind
from findings.models import ChallengeArea, Finding, ProgrammeReport, Theme
from notifications.models import Notification
from observers.invitations import observer_invite
from observers.models import ObserverGrant
from postclearance.models import MonitoringPlan, MonitoringThreshold
from reviews.models import (
    Assignment,
    ChangeKind,
    Checkpoint,
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
    SafetySignal,
    SignalSeverity,
    SignalSource,
)
from teams.api_keys import api_key_create
from teams.services import invitation_send
from tests.factories import (
    DeviceFactory,
    UserFactory,
    add_evidence,
    make_application,
    make_manufacturer,
)
from tests.partner_sharing import share_with_two_partners
from tests.security.sweep_routes import MARKER, World


def build_world(manufacturer) -> World:
    """The organisation's records, one case in every state with everything that can hang off
    it, each carrying MARKER."""
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
    # The cleared case under post-clearance monitoring, with a report under the plan: the
    # monitoring pages (and the end-early page, which needs a running plan) are swept too.
    monitoring = MonitoringPlan.objects.create(
        application=cleared,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=365),
        cadence_days=28,
        notes=MARKER,
        set_up_by=lead,
    )
    MonitoringThreshold.objects.create(plan=monitoring, metric="sensitivity", value="0.9")
    CheckpointReport.objects.create(
        checkpoint=Checkpoint.objects.create(
            application=cleared,
            sequence=1,
            due_on=timezone.localdate(),
            monitoring_plan=monitoring,
            status="submitted",
        ),
        submitted_by=manufacturer,
        cases_processed=500,
        metrics={"sensitivity": 0.93},
        narrative=MARKER,
    )
    # A serious incident reported under the plan: its description is on both sides'
    # timelines, so it must reach no outsider.
    IncidentReport.objects.create(
        application=cleared,
        reported_by=manufacturer,
        severity=IncidentSeverity.OTHER_SERIOUS,
        occurred_on=timezone.localdate(),
        aware_on=timezone.localdate(),
        description=MARKER,
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
    _partner_alerts(signal)
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


def _partner_alerts(signal) -> None:
    """The signal shared with the network three days ago: one partner answered with a receipt
    (its note marked), the other has said nothing, so the alert is on the dashboard's list of
    unacknowledged alerts. The partner-alert pages, the dashboard and the digest must follow
    the case for all of it."""
    shared = timezone.now() - timedelta(days=3)
    SafetySignal.objects.filter(pk=signal.pk).update(shared_at=shared)
    signal.shared_at = shared
    share_with_two_partners(
        signal,
        delivered_at=shared,
        note=f"Seen on our market too. {MARKER}",
        answered_at=shared + timedelta(hours=1),
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
    administrator = UserFactory(role=Role.ADMINISTRATOR)
    grant = ObserverGrant.objects.create(
        observer=UserFactory(role=Role.OBSERVER),
        application=submitted,
        evidence=True,
        granted_by=administrator,
    )
    return {
        "memberships": members,
        "invitations": [invitation],
        "api_keys": [key],
        "organisations": [organisation],
        "observer_grants": [grant],
        "observer_invitations": [
            observer_invite(
                actor=administrator, email="observer-zqx7731@example.test", body="NHS Sweep"
            )
        ],
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


def build_drafts(manufacturer) -> World:
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
