"""Registering and editing devices."""

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from devices import selectors, services
from devices.forms import DeviceForm
from devices.models import Device, Significance, Situation, imdrf_category
from devices.views.access import (
    contributor_required,
    manufacturer_required,
    member_organisation,
    posted,
)


@require_GET
@manufacturer_required
def device_list(request: HttpRequest) -> HttpResponse:
    devices = selectors.devices_for(request.user).annotate(application_count=Count("applications"))
    return render(request, "devices/device_list.html", {"devices": devices})


def _device_or_404(request: HttpRequest, pk: int) -> Device:
    return get_object_or_404(selectors.devices_for(request.user), pk=pk)


@require_GET
@manufacturer_required
def device_detail(request: HttpRequest, pk: int) -> HttpResponse:
    device = _device_or_404(request, pk)
    applications = selectors.applications_for(request.user).filter(device=device)
    return render(
        request,
        "devices/device_detail.html",
        {
            "device": device,
            "applications": applications,
            "is_fixed": selectors.device_is_fixed(device),
        },
    )


def _save(request: HttpRequest, form: DeviceForm) -> Device | None:
    try:
        return services.device_save(actor=request.user, device=form.instance)
    except services.TransitionRefused as refused:
        messages.error(request, str(refused))
    return None


@require_http_methods(["GET", "POST"])
@contributor_required
def device_create(request: HttpRequest) -> HttpResponse:
    organisation = member_organisation(request)
    form = DeviceForm(posted(request), organisation=organisation)
    if request.method == "POST" and form.is_valid():
        device = _save(request, form)
        if device is not None:
            messages.success(
                request,
                f"{device} is registered (IMDRF SaMD category {device.imdrf_category}).",
            )
            return redirect("devices:device-detail", device.pk)
    return render(request, "devices/device_form.html", {"form": form, "device": None})


@require_http_methods(["GET", "POST"])
@contributor_required
def device_edit(request: HttpRequest, pk: int) -> HttpResponse:
    device = _device_or_404(request, pk)
    if selectors.device_is_fixed(device):
        messages.info(
            request,
            f"{device} is part of a submitted application, so its record is fixed. "
            "Register the changed device as a new version instead.",
        )
        return redirect("devices:device-detail", device.pk)
    form = DeviceForm(posted(request), instance=device, organisation=device.organisation)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form)
        if saved is not None:
            messages.success(request, f"{saved} is updated.")
            return redirect("devices:device-detail", saved.pk)
        return redirect("devices:device-detail", device.pk)
    return render(request, "devices/device_form.html", {"form": form, "device": device})


@require_POST
@manufacturer_required
def device_directory(request: HttpRequest, pk: int) -> HttpResponse:
    device = _device_or_404(request, pk)
    listed = request.POST.get("listed") == "yes"
    try:
        services.device_directory_set(actor=request.user, device_id=device.pk, listed=listed)
    except PermissionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"{device} is listed in the public directory."
            if listed
            else f"{device} is no longer in the public directory.",
        )
    return redirect("devices:device-detail", device.pk)


@require_GET
@manufacturer_required
def imdrf_preview(request: HttpRequest) -> HttpResponse:
    """The category the chosen significance and situation give, for the device form (htmx)."""
    significance = request.GET.get("significance", "")
    situation = request.GET.get("situation", "")
    category = None
    if significance in Significance.values and situation in Situation.values:
        category = imdrf_category(significance=significance, situation=situation)
    return render(request, "devices/partials/imdrf_preview.html", {"category": category})
