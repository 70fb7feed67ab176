"""Devices, their classification and the model versions a case tests."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from devices.models.organisations import Organisation


class MdrClass(models.TextChoices):
    I = "I", "Class I"  # noqa: E741
    IIA = "IIa", "Class IIa"
    IIB = "IIb", "Class IIb"
    III = "III", "Class III"


class Significance(models.TextChoices):
    TREAT_DIAGNOSE = "treat_diagnose", "Treat or diagnose"
    DRIVE = "drive", "Drive clinical management"
    INFORM = "inform", "Inform clinical management"


class Situation(models.TextChoices):
    CRITICAL = "critical", "Critical"
    SERIOUS = "serious", "Serious"
    NON_SERIOUS = "non_serious", "Non-serious"


class ImdrfCategory(models.TextChoices):
    I = "I", "Category I"  # noqa: E741
    II = "II", "Category II"
    III = "III", "Category III"
    IV = "IV", "Category IV"


# IMDRF SaMD risk categorisation (N12): rows are the healthcare situation, columns the
# significance of the information the software provides.
IMDRF_MATRIX: dict[tuple[str, str], str] = {
    (Situation.CRITICAL, Significance.TREAT_DIAGNOSE): ImdrfCategory.IV,
    (Situation.CRITICAL, Significance.DRIVE): ImdrfCategory.III,
    (Situation.CRITICAL, Significance.INFORM): ImdrfCategory.II,
    (Situation.SERIOUS, Significance.TREAT_DIAGNOSE): ImdrfCategory.III,
    (Situation.SERIOUS, Significance.DRIVE): ImdrfCategory.II,
    (Situation.SERIOUS, Significance.INFORM): ImdrfCategory.I,
    (Situation.NON_SERIOUS, Significance.TREAT_DIAGNOSE): ImdrfCategory.II,
    (Situation.NON_SERIOUS, Significance.DRIVE): ImdrfCategory.I,
    (Situation.NON_SERIOUS, Significance.INFORM): ImdrfCategory.I,
}


def imdrf_category(*, significance: str, situation: str) -> str:
    return IMDRF_MATRIX[(situation, significance)]


class ClinicalArea(models.TextChoices):
    RADIOLOGY = "radiology", "Radiology and imaging"
    ONCOLOGY = "oncology", "Oncology"
    RESPIRATORY = "respiratory", "Respiratory"
    CARDIOLOGY = "cardiology", "Cardiology"
    OPHTHALMOLOGY = "ophthalmology", "Ophthalmology"
    PATHOLOGY = "pathology", "Pathology and blood sciences"
    PRIMARY_CARE = "primary_care", "General practice"
    MENTAL_HEALTH = "mental_health", "Mental health"
    ENDOCRINOLOGY = "endocrinology", "Endocrinology and obesity"
    OTHER = "other", "Other"


class CareSetting(models.TextChoices):
    PRIMARY = "primary", "Primary care"
    SECONDARY = "secondary", "Secondary care (hospital)"
    COMMUNITY = "community", "Community care"
    HOME = "home", "Patient's home"
    EMERGENCY = "emergency", "Urgent and emergency care"


class AiType(models.TextChoices):
    LOCKED = "locked", "Locked model"
    ADAPTIVE = "adaptive", "Adaptive model with a PCCP"


class Device(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    intended_purpose = models.TextField(
        help_text="What the device does, for whom, and in which clinical decision."
    )
    clinical_area = models.CharField(max_length=30, choices=ClinicalArea.choices)
    care_setting = models.CharField(max_length=20, choices=CareSetting.choices)
    mdr_class = models.CharField(
        "UK MDR class", max_length=3, choices=MdrClass.choices, db_index=True
    )
    significance = models.CharField(
        "significance of the information", max_length=20, choices=Significance.choices
    )
    situation = models.CharField("healthcare situation", max_length=20, choices=Situation.choices)
    imdrf_category = models.CharField(
        "IMDRF SaMD category",
        max_length=3,
        choices=ImdrfCategory.choices,
        editable=False,
        db_index=True,
        help_text="Derived from significance and situation.",
    )
    ai_type = models.CharField("AI type", max_length=10, choices=AiType.choices)
    pccp_summary = models.TextField(
        "predetermined change control plan",
        blank=True,
        help_text="Required for adaptive models: what may change, how it is verified, bounds.",
    )
    model_summary = models.TextField(help_text="Architecture, inputs and outputs.")
    training_data_summary = models.TextField(
        help_text="Sources, size, dates, demographics and how test data was kept apart."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The manufacturer's opt-in to the public directory of devices in the sandbox (name,
    # maker, clinical area and stage only); empty: not listed.
    directory_listed_at = models.DateTimeField(
        "listed in the public directory since", null=True, blank=True
    )

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name", "version"], name="device_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"

    def save(self, *args, **kwargs) -> None:
        self.imdrf_category = imdrf_category(
            significance=self.significance, situation=self.situation
        )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "imdrf_category"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.ai_type == AiType.ADAPTIVE and not self.pccp_summary.strip():
            raise ValidationError(
                {"pccp_summary": "An adaptive model needs a predetermined change control plan."}
            )


class ModelVersion(models.Model):
    """One version of a device's model, as the record of which model each figure is about.

    The first is the version the device was registered with; later ones come from model
    changes notified under the plan's change protocol (reviews.model_changes)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="model_versions")
    label = models.CharField("version", max_length=50)
    released_on = models.DateField("in use from")
    changes = models.TextField("what changed", blank=True)
    training_data_summary = models.TextField(blank=True)
    sha256 = models.CharField(
        "SHA-256 of the model artefact or manifest",
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", "A SHA-256 is 64 hexadecimal characters.")],
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["device", "recorded_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["device", "label"], name="model_version_unique_label")
        ]

    def __str__(self) -> str:
        return f"{self.device.name} model {self.label}"
