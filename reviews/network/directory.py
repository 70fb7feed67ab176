"""The public directory of devices in the sandbox: what a network's shared register of AI
solutions under regulatory supervision shows. Only devices their manufacturer listed
(Device.directory_listed_at), and only their name, version, maker, clinical area and stage:
never the application's contents, its reviewers, signals or decisions."""

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from devices.models import Application, ApplicationState, Device

# The stage shown for each application state. A case's outcome (refused, not cleared,
# withdrawn) is not public: such devices leave the directory.
PUBLIC_STAGES = {
    ApplicationState.SUBMITTED: "Applied",
    ApplicationState.SCREENING: "Applied",
    ApplicationState.INFORMATION_REQUESTED: "Applied",
    ApplicationState.ACCEPTED: "Accepted into the sandbox",
    ApplicationState.IN_CONTROLLED_TESTING: "In controlled testing",
    # A suspension is between the regulator and the manufacturer until it is decided.
    ApplicationState.SUSPENDED: "In controlled testing",
    ApplicationState.EVIDENCE_REVIEW: "Evidence review",
    ApplicationState.CLEARED: "Completed the sandbox",
}
MAX_ENTRIES = 1000


def directory_entries() -> list[dict]:
    """Listed devices with the stage of their latest application in the sandbox; one query."""
    latest = (
        Application.objects.filter(device=OuterRef("pk"))
        .exclude(state=ApplicationState.DRAFT)
        .order_by("-submitted_at", "-pk")
        .values("state")[:1]
    )
    devices = (
        Device.objects.filter(directory_listed_at__isnull=False)
        .annotate(stage=Subquery(latest))
        .filter(stage__in=list(PUBLIC_STAGES))
        .select_related("organisation")
        .order_by("name", "version", "pk")[:MAX_ENTRIES]
    )
    return [
        {
            "device": device.name,
            "version": device.version,
            "manufacturer": device.organisation.name,
            "clinical_area": device.get_clinical_area_display(),
            "stage": PUBLIC_STAGES[device.stage],
            "listed_since": device.directory_listed_at.date().isoformat(),
        }
        for device in devices
    ]


@require_GET
def directory_page(request: HttpRequest) -> HttpResponse:
    return render(request, "network/directory.html", {"entries": directory_entries()})


@require_GET
def directory_json(request: HttpRequest) -> JsonResponse:
    """The same, for partners' systems to pull (public, read-only)."""
    response = JsonResponse({"devices": directory_entries()})
    response["Access-Control-Allow-Origin"] = "*"
    return response
