"""The form fuzzer's personas and the records each URL names, built on demand."""

import hashlib
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.tokens import default_token_generator
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from airlock.models import TwoFactorEnrolment
from calls.models import SelectionCriterion, SelectionScore
from devices.models import Application, ApplicationState
from documents.services import case_documents_issue
from notifications.models import Notification
from observers.invitations import observer_invite
from observers.models import ObserverGrant, ObserverInvitation
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
    CallFactory,
    CohortFactory,
    DeviceFactory,
    OrganisationFactory,
    add_evidence,
    make_application,
    make_manufacturer,
)

S = ApplicationState

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

    def monitored(self) -> dict:
        """A cleared case under a running post-clearance monitoring plan."""
        from postclearance.services import MonitoringTerms, monitoring_plan_set_up
        from reviews.plan_terms import ThresholdSpec

        application = self.case(S.CLEARED)
        monitoring_plan_set_up(
            actor=self.people[LEAD],
            application_id=application.pk,
            terms=MonitoringTerms(
                starts_on=timezone.localdate(),
                ends_on=timezone.localdate() + timedelta(days=365),
                cadence_days=28,
                thresholds=[ThresholdSpec("sensitivity", "gte", Decimal("0.9"))],
            ),
        )
        return {"pk": application.pk}

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

    def open_call(self) -> dict:
        """A call that opened a week ago and nothing has happened in: every term can change
        but its opening time, and its selection criteria are a formset on the page."""
        call = CallFactory(
            title="Fuzz call",
            opens_at=timezone.now() - timedelta(days=7),
            cohort=CohortFactory(name="Fuzz call cohort"),
        )
        SelectionCriterion.objects.create(call=call, title="Novel question", weight=3)
        return {"pk": call.pk}

    def observer_invitation(self) -> dict:
        invitation = observer_invite(
            actor=self.people[LEAD], email="fuzz-observer@example.test", body="NHS Fuzz"
        )
        return {"pk": invitation.pk}

    def observer_invitation_link(self) -> dict:
        token = "fuzz-observer-token"
        ObserverInvitation.objects.create(
            email="fuzz-observer-join@example.test",
            body="NHS Fuzz",
            token_sha256=hashlib.sha256(token.encode()).hexdigest(),
            invited_by=self.people[LEAD],
            expires_at=timezone.now() + timedelta(days=1),
        )
        return {"token": token}

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
