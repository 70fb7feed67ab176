"""Every operation that changes the manufacturer's side of a case.

State changes all go through `application_transition` (or `transition_locked`, for services that
already hold the row lock), so the rules, the audit row and the side effects live in one place.
"""

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from airlock import storage
from airlock.logs import bind_case
from airlock.models import User
from airlock.queue import enqueue_on_commit
from devices.models import (
    TRANSITIONS,
    Application,
    ApplicationEvent,
    ApplicationState,
    Device,
    EvidenceDocument,
    Membership,
    Message,
    Organisation,
    ReferenceCounter,
    contributor_refusal,
    may_contribute,
)
from devices.notifications import message_notify, told_sentence, transition_notify
from devices.selectors import device_is_fixed
from devices.state_counts import counted_state, state_counts_move
from devices.uploads import InspectedUpload

logger = logging.getLogger(__name__)


class TransitionRefused(Exception):
    """A state change that cannot happen; the message says why, for the person who tried."""


# Transitions whose audit row must carry a reason a person wrote.
# Final decisions: each issues a PDF the manufacturer and anyone they show it to can check.
DECISION_DOCUMENT_STATES = {
    ApplicationState.CLEARED,
    ApplicationState.NOT_CLEARED,
    ApplicationState.REJECTED,
}
REASON_REQUIRED = {"withdraw", "reject", "not_clear", "suspend", "resume", "extend_testing"}
# Transitions that, when these read-only checks find something, need a reason and an explicit
# confirmation from the person that they have seen it ("complete testing" early).
WARNINGS = {"complete_testing": Application.testing_shortfalls}


def _transition_meta(application: Application, action: str):
    return getattr(application, action)._django_fsm.get_transition(application.state)


def _allowed_states_text(action: str) -> str:
    sources = getattr(Application, action)._django_fsm.transitions
    if len(sources) > 4:
        return "not yet decided"
    return " or ".join(ApplicationState(state).in_words for state in sources)


def action_label(action: str) -> str:
    """The words on the button for a transition, e.g. "Start screening"."""
    meta = getattr(Application, action)._django_fsm
    return next(iter(meta.transitions.values())).custom["label"]


def _refusals(application: Application, action: str, actor: User | None) -> Iterator[str]:
    # A generator, so refusal_reason stops at the first reason without running the rest of
    # the conditions' queries.
    if action not in TRANSITIONS:
        yield f"“{action}” is not something that can be done to an application."
        return
    transition = _transition_meta(application, action)
    if transition is None:
        yield (
            f"“{action_label(action)}” is only possible when an application is "
            f"{_allowed_states_text(action)}; this one is {application.state_enum.in_words}."
        )
        return
    if actor is not None and not transition.permission(application, actor):
        yield transition.permission.refusal(application, actor)
        return
    for condition in transition.conditions:
        if not condition(application):
            yield condition.refusal(application)


def refusal_reason(application: Application, action: str, actor: User | None) -> str | None:
    """Why `actor` cannot `action` this application now, in words; None if they can.

    `actor=None` is the system (a scheduled job, or an automatic step such as suspending on a
    critical breach), which needs no permission.
    """
    return next(_refusals(application, action, actor), None)


def refusal_reasons(application: Application, action: str, actor: User | None) -> list[str]:
    """Every reason `actor` cannot `action` this application now (empty if they can), so a
    page can list all that is missing at once rather than one thing per attempt."""
    return list(_refusals(application, action, actor))


def available_actions(application: Application, actor: User) -> list[dict]:
    """The transitions `actor` may take now, with their labels, for buttons and menus."""
    actions = []
    for action in TRANSITIONS:
        transition = _transition_meta(application, action)
        if transition is None or not transition.permission(application, actor):
            continue
        actions.append(
            {
                "name": action,
                "label": transition.custom["label"],
                "refusal": refusal_reason(application, action, actor),
            }
        )
    return actions


def lock_application(application_id: int) -> Application:
    # select_for_update serialises concurrent transitions on PostgreSQL: the second request
    # waits, then sees the state the first one left and is refused with a reason. SQLite
    # gets the same effect from the IMMEDIATE transactions set in settings.
    application = Application.objects.select_for_update().get(pk=application_id)
    bind_case(application.reference)
    return application


def check_fresh(application: Application, expected_state: str | None) -> None:
    """Refuse when the page the person acted on showed a state the case has since left."""
    if expected_state and application.state != expected_state:
        raise TransitionRefused(
            f"Someone else changed this application while you were looking at it: it is now "
            f"{application.state_enum.in_words}. Nothing was changed; check the page and try "
            "again."
        )


def warnings(application: Application, action: str) -> list[str]:
    """What the person must see and confirm before taking `action` now (empty: nothing)."""
    check = WARNINGS.get(action)
    return check(application) if check else []


def transition_locked(
    application: Application,
    *,
    action: str,
    actor: User | None,
    reason: str = "",
    expected_state: str | None = None,
    confirmed: bool = False,
    **kwargs,
) -> ApplicationEvent:
    """Check, transition, save and audit an application whose row the caller has locked.

    Steps: refuse with a reason (stale page, wrong state, permission, conditions, missing
    reason, a warning not confirmed); call the @transition method; save; move the queue's
    state counts; write the audit row; tell both sides (rows now, emails after commit).
    """
    check_fresh(application, expected_state)
    refusal = refusal_reason(application, action, actor)
    if refusal:
        raise TransitionRefused(refusal)
    if action in REASON_REQUIRED and not reason.strip():
        raise TransitionRefused("Give a reason: it goes on the case record.")
    found = warnings(application, action)
    if found and not (confirmed and reason.strip()):
        raise TransitionRefused(
            f"“{action_label(action)}” now needs a reason and your confirmation: " + " ".join(found)
        )
    from_state = application.state
    counted_before = counted_state(application)
    getattr(application, action)(**kwargs)
    application.state_changed_at = timezone.now()
    application.save()
    # The queue's per-state counts move in this same transaction (devices/state_counts.py).
    state_counts_move(
        organisation_id=application.organisation_id,
        from_state=counted_before,
        to_state=counted_state(application),
    )
    event = ApplicationEvent.objects.create(
        application=application,
        actor=actor,
        transition=action,
        from_state=from_state,
        to_state=application.state,
        reason=reason.strip(),
    )
    transition_notify(event)
    if application.state in DECISION_DOCUMENT_STATES:
        # The decision document (and exit report) are drawn on the documents queue, after
        # commit; a sweep draws any whose message was lost (documents.tasks).
        enqueue_on_commit("documents.tasks.issue_case_documents", application.pk)
    return event


def application_transition(
    *,
    application_id: int,
    action: str,
    actor: User | None,
    reason: str = "",
    expected_state: str | None = None,
    confirmed: bool = False,
    **kwargs,
) -> Application:
    """Move one application through the state machine; the single entry point for views,
    the admin, the API and scheduled jobs. Raises TransitionRefused with a reason."""
    with transaction.atomic():
        application = lock_application(application_id)
        transition_locked(
            application,
            action=action,
            actor=actor,
            reason=reason,
            expected_state=expected_state,
            confirmed=confirmed,
            **kwargs,
        )
    return application


# --- Cases, devices, evidence, messages ------------------------------------------------------


def _next_reference(today: date) -> str:
    counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=today.year)
    ReferenceCounter.objects.filter(pk=counter.pk).update(last_number=F("last_number") + 1)
    counter.refresh_from_db()
    return f"AIA-{today.year}-{counter.last_number:04d}"


def organisation_for(user: User) -> Organisation:
    membership = Membership.objects.select_related("organisation").filter(user=user).first()
    if membership is None:
        raise PermissionError("Your account is not linked to an organisation.")
    return membership.organisation


def contributing_organisation(user: User) -> Organisation:
    """The organisation `user` adds records to; refused for a viewer, who only reads."""
    organisation = organisation_for(user)
    if not may_contribute(user, organisation.pk):
        raise PermissionError(contributor_refusal(user, organisation))
    return organisation


def _refuse_closed_call(call) -> None:
    """Applications are started (and moved to another call) only against an open call."""
    if call is None:
        raise TransitionRefused("Choose the call for applications you are applying to.")
    if not call.is_open:
        raise TransitionRefused(call.closed_refusal())


@transaction.atomic
def application_create(*, actor: User, **fields) -> Application:
    """Start a draft application for the actor's organisation, against an open call, with a
    new case reference."""
    organisation = contributing_organisation(actor)
    device = fields.get("device")
    if device is not None and device.organisation_id != organisation.pk:
        raise PermissionError("That device belongs to another organisation.")
    _refuse_closed_call(fields.get("call"))
    return Application.objects.create(
        organisation=organisation,
        created_by=actor,
        reference=_next_reference(timezone.localdate()),
        **fields,
    )


def application_update_draft(*, application: Application, actor: User, **fields) -> Application:
    """Save changes to a draft. Only drafts are editable: after submission the record is
    what the regulator reviewed."""
    with transaction.atomic():
        locked = lock_application(application.pk)
        if locked.state != ApplicationState.DRAFT:
            raise TransitionRefused(
                "Only a draft can be edited; this application was submitted already."
            )
        if not _acts_for(actor, locked.organisation_id):
            raise PermissionError("Only the organisation's own team can edit this application.")
        if "call" in fields and fields["call"] != locked.call:
            _refuse_closed_call(fields["call"])
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*fields, "updated_at"])
    return locked


def _acts_for(user: User, organisation_id: int) -> bool:
    # The same test as the transitions' MANUFACTURER rule (a member whose role no longer acts
    # for the organisation may not change its records either), and changing a record takes an
    # administrator or a contributor: a viewer only reads.
    return user.is_superuser or may_contribute(user, organisation_id)


def device_directory_set(*, actor: User, device_id: int, listed: bool) -> Device:
    """The manufacturer opts a device in to (or out of) the public directory of devices in
    the sandbox: its name, maker, clinical area and stage are shown to anyone, nothing more."""
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device_id)
        if not (actor.is_manufacturer and _acts_for(actor, device.organisation_id)):
            raise PermissionError("Only the organisation's own team can list this device.")
        if listed and device.directory_listed_at is None:
            device.directory_listed_at = timezone.now()
        elif not listed:
            device.directory_listed_at = None
        device.save(update_fields=["directory_listed_at"])
    return device


def device_save(*, actor: User, device: Device) -> Device:
    """Create or update a device for the actor's organisation (IMDRF category is derived).

    A device stays editable only until an application for it is submitted.
    """
    if device.pk is None:
        device.organisation = contributing_organisation(actor)
        device.created_by = actor
    elif not _acts_for(actor, device.organisation_id):
        raise PermissionError("Only the organisation's own team can edit this device.")
    elif device_is_fixed(device):
        raise TransitionRefused(
            f"{device} is part of a submitted application, so its record is fixed. "
            "Register the changed device as a new version instead."
        )
    device.full_clean()
    device.save()
    return device


def _refuse_upload(application: Application, actor: User) -> None:
    if application.state_enum.is_final:
        raise TransitionRefused(
            f"This application is {application.state_enum.in_words}: no more evidence can be added."
        )
    if not _acts_for(actor, application.organisation_id):
        raise PermissionError("Only the organisation's own team can upload evidence.")


def evidence_upload(
    *,
    application: Application,
    actor: User,
    kind: str,
    upload: InspectedUpload,
    title: str = "",
) -> EvidenceDocument:
    """Store a checked upload as the current version of its kind, superseding the last one.

    Evidence can be added until the case is decided; old versions are kept, never deleted.

    1. Check the case still takes evidence from this person (without a lock: cheap refusal).
    2. Store the file under a random key and read it back: the store must hold bytes with the
       SHA-256 computed here, or the upload is refused and nothing is recorded.
    3. In one transaction, lock the case, check again, supersede the current version and
       record the new one. Storing first keeps the case locked for milliseconds rather than
       for a transfer to an object store; an object whose record never commits is removed.
    """
    _refuse_upload(application, actor)
    digest = hashlib.sha256()
    for chunk in upload.file.chunks():
        digest.update(chunk)
    sha256 = digest.hexdigest()
    field = EvidenceDocument._meta.get_field("file")
    try:
        stored = storage.store_verified(
            field.generate_filename(None, upload.name), upload.file, sha256, field.storage
        )
    except storage.IntegrityFailure:
        raise TransitionRefused(
            "The file did not arrive intact in storage, so it was not saved. Upload it again."
        ) from None
    except storage.StoreUnavailable:
        logger.exception("evidence upload: the file store is unavailable")
        raise TransitionRefused(
            "The file store is not answering, so the file was not saved. Try again in a few "
            "minutes."
        ) from None
    try:
        with transaction.atomic():
            locked = lock_application(application.pk)
            _refuse_upload(locked, actor)
            previous = (
                EvidenceDocument.objects.select_for_update()
                .filter(application=locked, kind=kind, is_current=True)
                .first()
            )
            if previous is not None:
                EvidenceDocument.objects.filter(pk=previous.pk).update(is_current=False)
            return EvidenceDocument.objects.create(
                application=locked,
                kind=kind,
                title=title,
                file=stored,
                original_name=upload.name,
                content_type=upload.content_type,
                size=upload.file.size,
                sha256=sha256,
                version=previous.version + 1 if previous else 1,
                supersedes=previous,
                uploaded_by=actor,
            )
    except IntegrityError:
        _discard(field.storage, stored)
        raise TransitionRefused(
            "Someone uploaded a new version of this document at the same moment; "
            "reload the page and try again."
        ) from None
    except BaseException:
        _discard(field.storage, stored)
        raise


def _discard(store, name: str) -> None:
    # Best effort: an object no record points to is harmless, and the refusal that brought us
    # here is what the person needs to see.
    with contextlib.suppress(OSError):
        store.delete(name)


@dataclass(frozen=True)
class MessageSent:
    message: Message
    # Who was told, in a sentence for the sender's confirmation.
    told: str


def message_post(*, application: Application, author: User, body: str) -> MessageSent:
    """Add a message both sides see, and tell the other side.

    Manufacturers post for their own organisation only. A message from the manufacturer goes
    to the assigned reviewer (or, with nobody assigned, the lead reviewers or the reviewers'
    team address); one from the regulator to the manufacturer's team.
    """
    from_regulator = author.has_perm("airlock.access_review_workspace")
    if not from_regulator and not _acts_for(author, application.organisation_id):
        raise PermissionError("Only the organisation's own team can message on this case.")
    if not body.strip():
        raise TransitionRefused("Write a message before sending.")
    with transaction.atomic():
        message = Message.objects.create(
            application=application,
            author=author,
            from_regulator=from_regulator,
            body=body.strip(),
        )
        told = message_notify(message)
    return MessageSent(
        message,
        told_sentence(told, to_regulator=not from_regulator, application=application),
    )


def information_respond(
    *, application_id: int, actor: User, response: str, expected_state: str | None = None
) -> Application:
    """Answer the open information request and return the case to where it came from."""
    with transaction.atomic():
        application = lock_application(application_id)
        request = application.open_information_request()
        transition_locked(
            application,
            action="respond",
            actor=actor,
            reason="Information provided.",
            expected_state=expected_state,
        )
        request.response = response.strip()
        request.responded_by = actor
        request.responded_at = timezone.now()
        request.save(update_fields=["response", "responded_by", "responded_at"])
    return application
