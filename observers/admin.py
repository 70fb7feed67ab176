from django.contrib import admin

from observers.models import ObservationEvent, ObserverGrant, ObserverInvitation


class ReadOnly(admin.ModelAdmin):
    """Grants are given and revoked on the case's Observers page (observers.services), so
    each is audited; the admin only shows them, and the trail."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ObserverGrant)
class ObserverGrantAdmin(ReadOnly):
    list_display = ["observer", "application", "evidence", "granted_at", "revoked_at"]
    list_select_related = ["observer", "application"]


@admin.register(ObservationEvent)
class ObservationEventAdmin(ReadOnly):
    list_display = ["created_at", "observer", "kind", "application", "actor"]
    list_filter = ["kind"]
    list_select_related = ["observer", "application", "actor"]


@admin.register(ObserverInvitation)
class ObserverInvitationAdmin(ReadOnly):
    """Sent and cancelled on the Observers page (observers.invitations), so each is audited."""

    list_display = ["email", "body", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_select_related = ["invited_by"]
