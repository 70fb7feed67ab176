from django.http import HttpRequest

from notifications.selectors import Unread


def unread_notifications(request: HttpRequest) -> dict:
    """Every page's header shows the signed-in person's unread count (one indexed COUNT,
    made only when a template reads it)."""
    return {"unread_notifications": Unread(request.user)}
