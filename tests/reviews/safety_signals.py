"""A safety signal raised by hand on a case, for the safety tests."""

from reviews.models import SafetySignal, SignalSeverity, SignalSource


def open_signal(application, severity=SignalSeverity.HIGH, title="Sensitivity dipped at site B"):
    return SafetySignal.objects.create(
        application=application,
        severity=severity,
        source=SignalSource.REVIEWER,
        title=title,
        description="Seen in the checkpoint 2 figures.",
    )
