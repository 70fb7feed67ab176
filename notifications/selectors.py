"""Reads for the notification centre: only ever the signed-in person's own rows."""

from functools import cached_property

from django.db.models import QuerySet

from airlock.models import User
from notifications.models import Notification


def inbox(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related("application")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


class Unread:
    """The header's unread count, counted once and only if a page shows it."""

    def __init__(self, user: User):
        self.user = user

    @cached_property
    def count(self) -> int:
        return unread_count(self.user) if self.user.is_authenticated else 0
