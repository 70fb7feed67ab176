"""Demo findings: gaps recorded on the demo cases across the challenge areas, linked where two
cases showed the same gap, curated into two themes, and the demo cohort's programme report
drawn as PDF. Made once through the real services; `seed_demo` runs it after the outputs."""

import logging

from airlock.demo import DEMO_USERS
from airlock.models import User
from devices.models import Application, ApplicationState
from findings.models import ChallengeArea, ProgrammeReport, Suggestion, Theme
from findings.reports import programme_report_draw, programme_report_request
from findings.services import (
    FindingDetails,
    finding_edit,
    finding_record,
    theme_create,
    theme_finding_add,
)

logger = logging.getLogger(__name__)

DEMO_ORGANISATIONS = {demo.organisation for demo in DEMO_USERS if demo.organisation}

THEMES = {
    "Evidence of performance after deployment": (
        "Cases in testing show the rules say little about how a locked model's performance is "
        "watched once it is in use, and what counts as drift worth reporting."
    ),
    "Explaining outputs to clinicians": (
        "Clinicians asked why a device said what it said; nothing in the regulations says what "
        "explanation is enough for which class of device."
    ),
}
# (area, title, description, suggests, theme or None), spread over the demo cases in turn.
FINDINGS = [
    (
        "Continuous post-market surveillance",
        "No agreed trigger for re-evaluating a locked model",
        "Sensitivity dipped at one site for two checkpoints; neither the plan nor the "
        "regulations say when a dip becomes a reportable trend.",
        Suggestion.GUIDANCE,
        "Evidence of performance after deployment",
    ),
    (
        "Explainability",
        "Saliency maps did not answer clinicians' questions",
        "GPs wanted to know which finding drove the score; the heat map showed where, not why.",
        Suggestion.STANDARD,
        "Explaining outputs to clinicians",
    ),
    (
        "Synthetic data validation",
        "Synthetic rare cases used without a validation method",
        "The training summary mentions synthetic examples of rare presentations; no standard "
        "says how to show they resemble real ones.",
        Suggestion.STANDARD,
        None,
    ),
    (
        "The PCCP and post-market surveillance lifecycle",
        "Planned retraining outside what the plan foresaw",
        "An update to the threshold was proposed mid-testing; the change protocol did not say "
        "whether a threshold counts as a change to the model.",
        Suggestion.LEGISLATION,
        "Evidence of performance after deployment",
    ),
    (
        "Performance evaluation of AI diagnostic tests",
        "Reference standard differs between sites",
        "One site confirmed diagnoses by CT, another by specialist review: the figures are "
        "not comparable without saying so.",
        Suggestion.GUIDANCE,
        "Explaining outputs to clinicians",
    ),
]


def seed_demo_findings() -> ProgrammeReport | None:
    """Record the demo findings and themes and draw the cohort's report (None when already
    there, or when there are no demo cases to record them on)."""
    if Theme.objects.filter(name__in=THEMES).exists():
        return None
    reviewer = User.objects.get(email=DEMO_USERS[2].email)
    lead = User.objects.get(email=DEMO_USERS[3].email)
    cases = list(
        Application.objects.filter(
            submitted_at__isnull=False, organisation__name__in=DEMO_ORGANISATIONS
        )
        .exclude(state=ApplicationState.DRAFT)
        .order_by("pk")
    )
    if not cases:
        return None
    themes = {
        name: theme_create(actor=lead, name=name, summary=summary)
        for name, summary in THEMES.items()
    }
    recorded = []
    for n, (area_name, title, description, suggests, theme) in enumerate(FINDINGS):
        application = cases[n % len(cases)]
        finding = finding_record(
            actor=reviewer,
            application_id=application.pk,
            details=FindingDetails(
                title=title,
                description=description,
                # get_or_create: a database flushed since migrating has lost the seeded areas.
                challenge_area_id=ChallengeArea.objects.get_or_create(name=area_name)[0].pk,
                suggests=suggests,
                evidence_id=application.evidence.values_list("pk", flat=True).first(),
            ),
        )
        recorded.append(finding)
        if theme:
            theme_finding_add(actor=lead, theme_id=themes[theme].pk, finding_id=finding.pk)
    # The first and fourth findings are the same gap seen on two cases.
    first, fourth = recorded[0], recorded[3]
    if first.application_id != fourth.application_id:
        finding_edit(
            actor=reviewer,
            finding_id=first.pk,
            details=FindingDetails(
                first.title,
                first.description,
                first.challenge_area_id,
                first.suggests,
                first.evidence_id,
            ),
            related_ids=[fourth.pk],
        )
    cohort_id = next((case.cohort_id for case in cases if case.cohort_id), None)
    if cohort_id is None:
        return None
    report = programme_report_request(actor=lead, cohort_id=cohort_id)
    # As with the decision PDFs (demo_outputs): no worker runs yet, and without Pango the
    # demo still loads; the repair sweep draws the report later.
    try:
        programme_report_draw(report_id=report.pk)
    except OSError as exc:
        logger.warning(
            "Demo programme report not drawn (%s): install Pango (apt-get install libpango-1.0-0).",
            exc,
        )
    return report
