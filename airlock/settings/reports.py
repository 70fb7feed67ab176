"""What the programme report publishes."""

from django.core.exceptions import ImproperlyConfigured

from airlock.settings.env import env_list

# What a cohort's programme report (findings/programme.py, its page and its PDF) leaves out,
# field by field, because the report is meant to be published. Unset: everything that names a
# manufacturer, a device or a person, and the words of each safety signal, are left out; case
# references, outcomes, times, clocks, signal counts and the findings themselves are shown.
PROGRAMME_REPORT_FIELDS = {
    "organisation": "Organisation names",
    "device": "Device names",
    "case_reference": "Case references",
    "signal_detail": "Safety signals' titles",
    "finding_source": "The evidence or checkpoint each finding came from",
    "people": "Who recorded each finding",
}
PROGRAMME_REPORT_CONFIDENTIAL = env_list(
    "PROGRAMME_REPORT_CONFIDENTIAL",
    ["organisation", "device", "signal_detail", "finding_source", "people"],
)
if set(PROGRAMME_REPORT_CONFIDENTIAL) - set(PROGRAMME_REPORT_FIELDS):
    raise ImproperlyConfigured(
        "PROGRAMME_REPORT_CONFIDENTIAL names fields the report does not have: "
        f"{sorted(set(PROGRAMME_REPORT_CONFIDENTIAL) - set(PROGRAMME_REPORT_FIELDS))}; "
        f"choose from {sorted(PROGRAMME_REPORT_FIELDS)}."
    )
