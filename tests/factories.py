import hashlib
from datetime import date, timedelta

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from airlock.models import User
from airlock.roles import Role, group_for
from calls.models import Call
from devices.models import (
    REQUIRED_EVIDENCE,
    AiType,
    Application,
    ApplicationState,
    CareSetting,
    ClinicalArea,
    Device,
    EvidenceDocument,
    Maturity,
    MdrClass,
    Membership,
    Organisation,
    OrganisationRole,
    SandboxEnvironment,
    Significance,
    Situation,
)
from devices.state_counts import counted_state, state_counts_move
from reviews.models import (
    Cohort,
    Decision,
    DecisionKind,
    EligibilityCriterion,
    InformationRequest,
    Metric,
    MetricThreshold,
    PlanVersion,
    PlanVersionThreshold,
    ScreeningAssessment,
    ScreeningOutcome,
    TestingPlan,
)

TEST_PASSWORD = "correct-horse-battery-staple"


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Manufacturer {n} Ltd")
    # Approved by the regulator: an organisation that registered itself and waits is made
    # with approved_at=None.
    approved_at = factory.LazyFunction(timezone.now)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, extracted: Role | None, **kwargs):
        if not create or extracted is None:
            return
        if extracted == Role.ADMINISTRATOR:
            self.is_staff = self.is_superuser = True
            self.save(update_fields=["is_staff", "is_superuser"])
        else:
            self.groups.add(group_for(extracted))


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, role=Role.MANUFACTURER)
    organisation = factory.SubFactory(OrganisationFactory)
    role = OrganisationRole.ADMINISTRATOR


def make_manufacturer(
    organisation: Organisation | None = None,
    *,
    org_role: str = OrganisationRole.ADMINISTRATOR,
    **kwargs,
) -> User:
    """A manufacturer in `organisation`, by default one of its administrators."""
    membership = MembershipFactory(
        organisation=organisation or OrganisationFactory(),
        role=org_role,
        **{f"user__{key}": value for key, value in kwargs.items()},
    )
    return membership.user


class DeviceFactory(DjangoModelFactory):
    class Meta:
        model = Device

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"LungScan AI {n}")
    version = "2.1"
    intended_purpose = "Flags chest X-rays suggestive of COPD for GP review."
    clinical_area = ClinicalArea.RESPIRATORY
    care_setting = CareSetting.PRIMARY
    mdr_class = MdrClass.IIA
    significance = Significance.DRIVE
    situation = Situation.SERIOUS
    ai_type = AiType.LOCKED
    model_summary = "Convolutional network; input chest X-ray; output COPD likelihood."
    training_data_summary = "120,000 X-rays from 6 NHS trusts, 2015-2022; test set held apart."
    created_by = factory.SubFactory(UserFactory)


class CallFactory(DjangoModelFactory):
    """An open call: from a year ago to a year ahead, so tests that travel in time (to 2026)
    still find it open."""

    class Meta:
        model = Call
        django_get_or_create = ("title",)

    title = "AI Airlock phase 3"
    challenge_areas = "Monitoring performance drift\nLarge language models in clinical notes"
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=365))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=365))
    capacity = 7
    cohort = factory.LazyFunction(lambda: CohortFactory())


class ApplicationFactory(DjangoModelFactory):
    """A complete draft, ready to submit once its evidence is uploaded (see make_application)."""

    class Meta:
        model = Application

    organisation = factory.SubFactory(OrganisationFactory)
    device = factory.SubFactory(DeviceFactory, organisation=factory.SelfAttribute("..organisation"))
    reference = factory.Sequence(lambda n: f"AIA-2026-{n + 1:04d}")
    regulatory_challenge = "How should performance drift be monitored in general practice?"
    sandbox_environment = SandboxEnvironment.VIRTUAL
    patient_benefit = "Earlier COPD diagnosis; fewer emergency admissions."
    maturity = Maturity.RETROSPECTIVE
    nhs_sites = "Leeds Teaching Hospitals\nBradford GP Federation"
    created_by = factory.SubFactory(UserFactory)
    call = factory.SubFactory(CallFactory)


class CohortFactory(DjangoModelFactory):
    class Meta:
        model = Cohort
        django_get_or_create = ("name",)

    name = "Phase 3 (2026-27)"
    starts_on = date(2026, 4, 1)
    ends_on = date(2027, 3, 31)


def add_evidence(application: Application, kind: str, *, version: int = 1, by=None):
    content = b"%PDF-1.7\n" + f"{kind} v{version}".encode()
    return EvidenceDocument.objects.create(
        application=application,
        kind=kind,
        file=ContentFile(content, name="evidence.pdf"),
        original_name=f"{kind}.pdf",
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        version=version,
        uploaded_by=by or application.created_by,
    )


def make_application(state: str = ApplicationState.DRAFT, **kwargs) -> Application:
    """An application in any state, with whatever that state's next steps need.

    The state is written directly (the state machine is tested on its own); the supporting
    records are real: evidence, screening assessments, an agreed testing plan, an open
    information request, a proposed clearance.
    """
    application = ApplicationFactory(**kwargs)
    for kind in REQUIRED_EVIDENCE:
        add_evidence(application, kind)
    reviewer = UserFactory(role=Role.REVIEWER, full_name="Proposing Reviewer")
    if state != ApplicationState.DRAFT:
        application.submitted_at = timezone.now()
    if state in {ApplicationState.SCREENING, ApplicationState.INFORMATION_REQUESTED}:
        for criterion in EligibilityCriterion.objects.filter(is_active=True):
            ScreeningAssessment.objects.create(
                application=application,
                criterion=criterion,
                outcome=ScreeningOutcome.MET,
                comment="Meets the criterion.",
                assessor=reviewer,
            )
    if state == ApplicationState.INFORMATION_REQUESTED:
        application.return_state = ApplicationState.SCREENING
        InformationRequest.objects.create(
            application=application,
            requested_by=reviewer,
            questions="Which NHS sites have agreed to take part?",
            due_on=timezone.localdate() + timedelta(days=14),
        )
    if state in {
        ApplicationState.ACCEPTED,
        ApplicationState.IN_CONTROLLED_TESTING,
        ApplicationState.SUSPENDED,
        ApplicationState.EVIDENCE_REVIEW,
    }:
        application.cohort = CohortFactory()
        plan = TestingPlan.objects.create(
            application=application,
            environment=SandboxEnvironment.VIRTUAL,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + timedelta(days=180),
            cadence_days=28,
            drafted_by=reviewer,
            agreed_by=reviewer,
            agreed_at=timezone.now(),
        )
        MetricThreshold.objects.create(
            plan=plan, metric=Metric.SENSITIVITY, value="0.90", critical_value="0.80"
        )
        # The version both sides agreed, as reviews.plans would have recorded it.
        version = PlanVersion.objects.create(
            application=application,
            number=1,
            environment=plan.environment,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cadence_days=plan.cadence_days,
            drafted_by=reviewer,
            reviewer_agreed_by=reviewer,
            reviewer_agreed_at=plan.agreed_at,
            manufacturer_agreed_by=application.created_by,
            manufacturer_agreed_at=plan.agreed_at,
        )
        PlanVersionThreshold.objects.create(
            version=version, metric=Metric.SENSITIVITY, value="0.90", critical_value="0.80"
        )
    if state == ApplicationState.EVIDENCE_REVIEW:
        Decision.objects.create(
            application=application,
            kind=DecisionKind.CLEAR,
            rationale="All ten GMLP principles met; thresholds held throughout.",
            decided_by=reviewer,
        )
    application.save()
    Application.objects.filter(pk=application.pk).update(state=state)
    application.refresh_from_db()
    # The queue's per-state counts, as the transition service would have moved them.
    state_counts_move(
        organisation_id=application.organisation_id,
        from_state=None,
        to_state=counted_state(application),
    )
    return application
