"""Who hears about a case: the manufacturer's team and the regulator's reviewers."""

from collections import defaultdict
from collections.abc import Iterable

from airlock.models import User
from airlock.roles import Role
from devices.models import (
    Application,
)
from reviews.models import (
    ConflictOfInterest,
)


def team_emails(organisation_ids: Iterable[int]) -> dict[int, list[str]]:
    """Active team members' addresses per organisation, in one query."""
    emails: dict[int, list[str]] = defaultdict(list)
    rows = User.objects.filter(
        membership__organisation_id__in=set(organisation_ids), is_active=True
    ).values_list("membership__organisation_id", "email")
    for organisation_id, email in rows:
        emails[organisation_id].append(email)
    return emails


class ReviewerDirectory:
    """Who hears about a case on the regulator's side: the assigned reviewer, or, when nobody
    is assigned, the lead reviewers (who assign work) without a conflict with the organisation.
    Loaded once per run so a sweep over many cases makes three queries, not three per case."""

    def __init__(self, assignee_ids: Iterable[int | None]):
        self._assignees = dict(
            User.objects.filter(
                pk__in={pk for pk in assignee_ids if pk}, is_active=True
            ).values_list("pk", "email")
        )
        self._leads = dict(
            User.objects.filter(groups__name=Role.LEAD_REVIEWER.label, is_active=True).values_list(
                "pk", "email"
            )
        )
        self._conflicts = set(
            ConflictOfInterest.objects.filter(reviewer_id__in=self._leads).values_list(
                "reviewer_id", "organisation_id"
            )
        )

    def emails(self, *, assignee_id: int | None, organisation_id: int) -> tuple[str, ...]:
        if assignee_id in self._assignees:
            return (self._assignees[assignee_id],)
        return tuple(
            sorted(
                email
                for pk, email in self._leads.items()
                if (pk, organisation_id) not in self._conflicts
            )
        )

    def emails_for(self, application: Application) -> list[str]:
        return list(
            self.emails(
                assignee_id=application.assignee_id, organisation_id=application.organisation_id
            )
        )
