"""Who sees which findings: the regulator's side only, and only on cases the reader may see.

Every read of a finding goes through `findings_for`, built on devices.selectors.applications_for,
so a reviewer conflicted with an organisation never sees its findings (not on the case page,
the register, a theme, a related finding or the programme report).
"""

from django.db.models import Prefetch, QuerySet

from airlock.models import User
from devices.models import ApplicationState
from devices.selectors import applications_for
from findings.models import ChallengeArea, Finding, Suggestion, Theme

REVIEW_PERMISSION = "airlock.access_review_workspace"
LEAD_PERMISSION = "airlock.lead_review"


def may_see_findings(user: User) -> bool:
    """Findings are the regulator's internal working: never manufacturers or observers."""
    return user.is_active and (user.is_superuser or user.has_perm(REVIEW_PERMISSION))


def may_curate(user: User) -> bool:
    """Themes and programme reports are a lead reviewer's (or an administrator's)."""
    return user.is_active and (
        user.is_superuser or (user.has_perm(REVIEW_PERMISSION) and user.has_perm(LEAD_PERMISSION))
    )


def cases_with_findings_for(user: User):
    if not may_see_findings(user):
        return applications_for(user).none()
    return applications_for(user).exclude(state=ApplicationState.DRAFT)


def findings_for(user: User) -> QuerySet[Finding]:
    return Finding.objects.filter(application__in=cases_with_findings_for(user)).select_related(
        "application", "challenge_area", "recorded_by", "evidence", "checkpoint"
    )


def case_findings(user: User, application) -> list[Finding]:
    """A case's findings with the related findings and themes the reader may see: three
    queries whatever the number of findings."""
    visible = findings_for(user)
    return list(
        visible.filter(application=application).prefetch_related(
            Prefetch("related", queryset=visible.order_by("application__reference", "pk")),
            "themes",
        )
    )


def register(
    user: User,
    *,
    area: ChallengeArea | None = None,
    theme: Theme | None = None,
    suggests: str = "",
) -> QuerySet[Finding]:
    """The register: every finding the reader may see, newest first, filtered."""
    findings = findings_for(user).prefetch_related("themes")
    if area is not None:
        findings = findings.filter(challenge_area=area)
    if theme is not None:
        findings = findings.filter(themes=theme)
    if suggests in Suggestion.values:
        findings = findings.filter(suggests=suggests)
    return findings


def themes_with_findings(user: User) -> list[Theme]:
    """Every theme, each with the findings in it that the reader may see."""
    return list(
        Theme.objects.prefetch_related(
            Prefetch("findings", queryset=findings_for(user).order_by("application__reference"))
        )
    )
