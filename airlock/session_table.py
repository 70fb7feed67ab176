"""The session table (airlock.sessions is the store that reads and writes it)."""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class Session(AbstractBaseSession):
    """Django's session row, with the person it signs in (None before signing in), so the
    store reads the session and its person in one query."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
