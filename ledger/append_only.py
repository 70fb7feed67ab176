"""The append-only guard shared by the audit trails.

An audit row is written once and never changed or deleted: not through the instance
(`save()` of a saved row, `delete()`), and not in bulk through the queryset (`update()`,
`delete()`). Each trail says so in its own words (APPEND_ONLY_MESSAGE), because the refusal
can reach a log or an admin page.
"""

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(self.model.APPEND_ONLY_MESSAGE)

    def delete(self):
        raise PermissionError(self.model.APPEND_ONLY_MESSAGE)


class AppendOnly(models.Model):
    """Mix in before `Chained` (class Event(AppendOnly, Chained)), so a refused save never
    reaches the chain."""

    APPEND_ONLY_MESSAGE = "The audit trail is append-only."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise PermissionError(self.APPEND_ONLY_MESSAGE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(self.APPEND_ONLY_MESSAGE)
