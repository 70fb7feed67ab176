"""Which model version a figure is about: the version in use, or one the reporter names."""

from django.core.exceptions import ValidationError
from django.utils import timezone

from devices.models import Device, ModelVersion


def current_model_version(device: Device) -> ModelVersion:
    """The version in use: the latest recorded, or — for a device whose versions were never
    recorded — the version it was registered with, recorded now."""
    latest = device.model_versions.order_by("-recorded_at", "-pk").first()
    if latest is not None:
        return latest
    version, _ = ModelVersion.objects.get_or_create(
        device=device,
        label=device.version,
        defaults={
            "released_on": timezone.localdate(device.created_at),
            "changes": "The version the device was registered with.",
            "training_data_summary": device.training_data_summary,
        },
    )
    return version


def model_version_named(device: Device, label: str) -> ModelVersion:
    """The device's version called `label`, the version in use when `label` is empty, or a
    ValidationError on "model_version" saying which versions there are."""
    if not label:
        return current_model_version(device)
    version = device.model_versions.filter(label=label.strip()).first()
    if version is None:
        known = ", ".join(device.model_versions.values_list("label", flat=True)) or "none yet"
        raise ValidationError(
            {
                "model_version": f"{device.name} has no model version “{label[:50]}” "
                f"(it has {known})."
            }
        )
    return version
