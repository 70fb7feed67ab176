"""Granting and revoking an observer's access to a case, and what an observer may read.

A grant is given by a lead reviewer (not conflicted with the organisation) or an
administrator, to a person with the Observer role, for a case the regulator can see (one
that has been submitted). Each grant and revocation is audited; so is every page an observer
opens (observers/views.py).
"""

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from airlock.models import User
from devices.models import REVIEWER, Application, EvidenceDocument
from devices.selectors import applications_for
from devices.services import TransitionRefused, lock_application
from observers.audit import observation_record
from observers.models import ObservationKind, ObserverGrant

OBSERVE = "observers.observe"


def _granter(application: Application, actor: User) -> None:
    if not (actor.is_superuser or actor.has_perm("airlock.lead_review")):
        raise PermissionError("Only a lead reviewer or an administrator can grant observers.")
    if not REVIEWER(application, actor):
        raise PermissionError(REVIEWER.refusal(application, actor))


def observers() -> QuerySet[User]:
    """Everyone with the Observer role, who can be granted a case."""
    return User.objects.filter(is_active=True, groups__permissions__codename="observe").distinct()


def grant_give(
    *, actor: User, application_id: int, observer: User, evidence: bool
) -> ObserverGrant:
    with transaction.atomic():
        application = lock_application(application_id)
        _granter(application, actor)
        if application.submitted_at is None:
            raise TransitionRefused("A draft is the manufacturer's own: it cannot be observed.")
        if not observer.has_perm(OBSERVE) or observer.is_superuser:
            raise TransitionRefused(f"{observer} does not have the Observer role.")
        if ObserverGrant.objects.filter(
            observer=observer, application=application, revoked_at__isnull=True
        ).exists():
            raise TransitionRefused(f"{observer} observes this case already.")
        grant = ObserverGrant.objects.create(
            observer=observer, application=application, evidence=evidence, granted_by=actor
        )
        observation_record(
            observer=observer,
            actor=actor,
            kind=ObservationKind.GRANTED,
            application=application,
            detail="With its evidence." if evidence else "Without its evidence.",
        )
    return grant


def grant_revoke(*, actor: User, grant_id: int) -> ObserverGrant:
    with transaction.atomic():
        grant = ObserverGrant.objects.select_for_update().get(pk=grant_id)
        application = lock_application(grant.application_id)
        _granter(application, actor)
        if grant.revoked_at is not None:
            raise TransitionRefused("That access was revoked already.")
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.save(update_fields=["revoked_at", "revoked_by"])
        observation_record(
            observer=grant.observer,
            actor=actor,
            kind=ObservationKind.REVOKED,
            application=application,
        )
    return grant


# --- What an observer reads ---------------------------------------------------------------------


def live_grants(observer: User) -> QuerySet[ObserverGrant]:
    if not observer.has_perm(OBSERVE):
        return ObserverGrant.objects.none()
    return ObserverGrant.objects.filter(
        observer=observer, revoked_at__isnull=True, application__submitted_at__isnull=False
    ).select_related("application__device", "application__organisation")


def grant_for(observer: User, application_pk: int) -> ObserverGrant:
    """The observer's live grant on this case; 404 for any case not granted them."""
    return get_object_or_404(live_grants(observer), application_id=application_pk)


def evidence_for(observer: User, document_pk: int) -> EvidenceDocument:
    """A document on a case the observer was granted with its evidence; 404 otherwise."""
    return get_object_or_404(
        EvidenceDocument.objects.select_related("application"),
        pk=document_pk,
        application__in=live_grants(observer).filter(evidence=True).values("application"),
    )


def grants_on(application: Application) -> QuerySet[ObserverGrant]:
    return ObserverGrant.objects.filter(application=application).select_related(
        "observer", "granted_by", "revoked_by"
    )


def regulator_sees(actor: User, application_pk: int) -> Application:
    return get_object_or_404(applications_for(actor), pk=application_pk)
