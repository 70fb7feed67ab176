"""Counters kept beside the cases: reference numbers and the number of cases in each state."""

from django.db import models

from devices.models.organisations import Organisation
from devices.models.states import ApplicationState


class ReferenceCounter(models.Model):
    """The last case number issued each year (AIA-2026-0042 is the 42nd of 2026)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class ApplicationStateCount(models.Model):
    """How many submitted applications an organisation has in a state: the review queue's
    per-state counts read these few rows (a reviewer's conflicted organisations left out)
    instead of counting every case. devices/state_counts.py keeps them in the same
    transaction as each change of state, and a scheduled job recomputes them."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=30, choices=ApplicationState.choices)
    total = models.IntegerField(default=0)

    class Meta:
        constraints = [
            # The upsert in devices/state_counts.py relies on it (ON CONFLICT).
            models.UniqueConstraint(fields=["organisation", "state"], name="app_state_count_once")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.state}: {self.total}"
