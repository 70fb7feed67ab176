"""What each side is told about a change on a case, and who.

The rows are created in the transaction that made the change (notifications.services.notify);
their emails go after commit.
"""

from django.urls import reverse

from airlock.models import User
from devices.models import Application, ApplicationEvent, Message
from notifications import recipients
from notifications.models import NotificationKind
from notifications.recipients import Recipient
from notifications.services import notify

# Transitions whose notice has a kind (and a title) of its own.
TRANSITION_KINDS = {
    "request_information": NotificationKind.INFORMATION_REQUESTED,
    "respond": NotificationKind.INFORMATION_PROVIDED,
}
TRANSITION_TITLES = {
    "request_information": "the regulator has asked for information",
    "respond": "the manufacturer has provided the information asked for",
}


def case_url(application: Application, anchor: str = "") -> str:
    """The case's address for everyone: reviewers are sent on to their own view of it."""
    return reverse("devices:application-detail", args=[application.pk]) + anchor


def _acts_for_regulator(actor: User | None) -> bool:
    return actor is not None and actor.has_perm("airlock.access_review_workspace")


def transition_notify(event: ApplicationEvent) -> list[Recipient]:
    """Tell both sides about a change of state, except whoever made it.

    The manufacturer's team always hears about their case. On the regulator's side the assigned
    reviewer hears; when the manufacturer or a scheduled job made the change on a case nobody
    is assigned to, the lead reviewers (or the team address) hear instead, so a new submission
    or a withdrawal never goes unseen.
    """
    application = event.application
    if _acts_for_regulator(event.actor) and not event.actor.is_superuser:
        regulator = [
            r
            for r in recipients.reviewers(application)
            if application.assignee_id and r.user_id == application.assignee_id
        ]
    else:
        regulator = recipients.reviewers(application)
    to_state = event.get_to_state_display()
    title = TRANSITION_TITLES.get(event.transition) or f"now {application.state_enum.in_words}"
    body = [
        f"Application {application.title} is now {application.state_enum.in_words}.",
        "",
        f"Changed by: {event.actor_label}",
        f"From: {event.get_from_state_display()}",
        f"To: {to_state}",
    ]
    if event.reason:
        body += ["", "Reason:", event.reason]
    return notify(
        [*recipients.team(application.organisation_id), *regulator],
        application=application,
        kind=TRANSITION_KINDS.get(event.transition, NotificationKind.TRANSITION),
        key=f"event:{event.pk}",
        title=f"{application.reference}: {title}",
        body="\n".join(body),
        url=case_url(application),
        exclude=event.actor,
    )


def message_notify(message: Message) -> list[Recipient]:
    """Tell the other side about a message. The words stay behind sign-in: the notice says
    who wrote and where to read it."""
    application = message.application
    if message.from_regulator:
        told = recipients.team(application.organisation_id)
        side, url = "the regulator", case_url(application, "#messages")
    else:
        told = recipients.reviewers(application)
        side = "the manufacturer"
        url = reverse("reviews:application", args=[application.pk]) + "#timeline"
    return notify(
        told,
        application=application,
        kind=NotificationKind.MESSAGE,
        key=f"message:{message.pk}",
        title=f"{application.reference}: new message from {side}",
        body=f"{message.author} sent a message about {application.title}. Read it and reply "
        "in Airlock.",
        url=url,
        exclude=message.author,
    )


def told_sentence(told: list[Recipient], *, to_regulator: bool, application: Application) -> str:
    """Who a message reached, for the confirmation the sender sees."""
    assignee = application.assignee
    if to_regulator and application.submitted_at is None:
        return "The regulator will see it once the application is submitted."
    if not told:
        return "No one else could be told: there is no one on the other side yet."
    if to_regulator:
        if assignee is not None and any(r.user_id == assignee.pk for r in told):
            return f"Your reviewer, {assignee}, has been told."
        if any(r.user_id is None for r in told):
            return "No reviewer is assigned yet, so the regulator's review team has been told."
        return "No reviewer is assigned yet, so the regulator's lead reviewers have been told."
    people = [r for r in told if r.user_id]
    return (
        f"The manufacturer's team ({len(people)} {'person' if len(people) == 1 else 'people'}) "
        "has been told."
    )
