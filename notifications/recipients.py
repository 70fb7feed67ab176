"""Who hears about a case: the manufacturer's team and the regulator's reviewers.

On the manufacturer's side, every active member of the organisation. On the regulator's side,
the reviewer assigned to the case; when nobody is, the lead reviewers (who assign work) without
a conflict of interest with the organisation, and by email the reviewers' team address instead
when one is configured (REVIEW_TEAM_EMAIL), so a shared mailbox is not copied to every lead.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from airlock.models import User
from airlock.roles import Role
from devices.models import Application
from reviews.models import ConflictOfInterest


@dataclass(frozen=True)
class Recipient:
    """Someone to tell: a person (shown in their notification centre, and emailed when `email`
    is set) or, with no `user_id`, a shared mailbox that is only emailed."""

    user_id: int | None
    email: str
    name: str = ""


def team_emails(organisation_ids: Iterable[int]) -> dict[int, list[str]]:
    """Active team members' addresses per organisation, in one query."""
    emails: dict[int, list[str]] = defaultdict(list)
    rows = User.objects.filter(
        membership__organisation_id__in=set(organisation_ids), is_active=True
    ).values_list("membership__organisation_id", "email")
    for organisation_id, email in rows:
        emails[organisation_id].append(email)
    return emails


def team(organisation_id: int) -> list[Recipient]:
    """The organisation's active team, each told in Airlock and by email."""
    return [
        Recipient(pk, email, name or email)
        for pk, email, name in User.objects.filter(
            membership__organisation_id=organisation_id, is_active=True
        )
        .order_by("pk")
        .values_list("pk", "email", "full_name")
    ]


class ReviewerDirectory:
    """Who hears about a case on the regulator's side. Loaded once per run so a sweep over
    many cases makes three queries, not three per case."""

    def __init__(self, assignee_ids: Iterable[int | None]):
        self._assignees = {
            pk: (email, name)
            for pk, email, name in User.objects.filter(
                pk__in={pk for pk in assignee_ids if pk}, is_active=True
            ).values_list("pk", "email", "full_name")
        }
        self._leads = {
            pk: (email, name)
            for pk, email, name in User.objects.filter(
                groups__name=Role.LEAD_REVIEWER.label, is_active=True
            )
            .order_by("pk")
            .values_list("pk", "email", "full_name")
        }
        self._conflicts = set(
            ConflictOfInterest.objects.filter(reviewer_id__in=self._leads).values_list(
                "reviewer_id", "organisation_id"
            )
        )

    def leads_for(self, organisation_id: int) -> dict[int, tuple[str, str]]:
        return {
            pk: person
            for pk, person in self._leads.items()
            if (pk, organisation_id) not in self._conflicts
        }

    def emails(self, *, assignee_id: int | None, organisation_id: int) -> tuple[str, ...]:
        if assignee_id in self._assignees:
            return (self._assignees[assignee_id][0],)
        if settings.REVIEW_TEAM_EMAIL:
            return (settings.REVIEW_TEAM_EMAIL,)
        return tuple(sorted(email for email, _ in self.leads_for(organisation_id).values()))

    def emails_for(self, application: Application) -> list[str]:
        return list(
            self.emails(
                assignee_id=application.assignee_id, organisation_id=application.organisation_id
            )
        )

    def recipients(self, *, assignee_id: int | None, organisation_id: int) -> list[Recipient]:
        """The assigned reviewer; else the unconflicted lead reviewers, emailed unless the
        team address takes their email, in which case it is one more (email-only) recipient."""
        if assignee_id in self._assignees:
            email, name = self._assignees[assignee_id]
            return [Recipient(assignee_id, email, name or email)]
        mailbox = settings.REVIEW_TEAM_EMAIL
        leads = [
            Recipient(pk, "" if mailbox else email, name or email)
            for pk, (email, name) in self.leads_for(organisation_id).items()
        ]
        return [*leads, Recipient(None, mailbox, "the reviewers' team")] if mailbox else leads

    def recipients_for(self, application: Application) -> list[Recipient]:
        return self.recipients(
            assignee_id=application.assignee_id, organisation_id=application.organisation_id
        )


def _regulators_case(application: Application) -> bool:
    # The regulator sees a case from its submission on (devices.selectors.applications_for): a
    # draft, or a draft withdrawn unsent, is the manufacturer's alone, and a notice about it
    # would show its reference and title to people who may not open it.
    return application.submitted_at is not None


def reviewers(application: Application) -> list[Recipient]:
    """The regulator's side of one case (no one, before it is submitted)."""
    if not _regulators_case(application):
        return []
    return ReviewerDirectory([application.assignee_id]).recipients_for(application)


def lead_reviewers(application: Application) -> list[Recipient]:
    """Every lead reviewer free of a conflict with the organisation, each by email too: a
    clearance waits for one of them, whoever is assigned. No one, before it is submitted."""
    if not _regulators_case(application):
        return []
    directory = ReviewerDirectory([])
    return [
        Recipient(pk, email, name or email)
        for pk, (email, name) in directory.leads_for(application.organisation_id).items()
    ]
