from django.core.management import call_command
from django.test import override_settings
from django.urls import include, path

from airlock.models import User
from devices.models import Application, ApplicationState, Membership
from reviews.models import TestingPlan


def _boom(request):
    raise RuntimeError("unexpected")


urlpatterns = [path("boom/", _boom), path("", include("airlock.urls"))]


def test_it_shows_a_site_styled_404(client, manufacturer):
    client.force_login(manufacturer)
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Skip to main content" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_it_shows_a_site_styled_500_without_details(client, db):
    client.raise_request_exception = False

    response = client.get("/boom/")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Sorry, something went wrong" in body
    assert "unexpected" not in body


def test_every_page_links_to_local_assets_only(client, db):
    body = client.get("/accounts/login/").content.decode()

    assert "/static/vendor/govuk-frontend-6.6.0/govuk-frontend.min.css" in body
    assert "/static/vendor/moj-frontend-11.1.0/moj-frontend.min.css" in body
    assert "/static/vendor/govuk-frontend-6.6.0/govuk-frontend.bundle.js" in body
    assert "/static/vendor/htmx-2.0.8/htmx.min.js" in body
    assert "https://" not in body


def test_seed_demo_is_idempotent(db, capsys):
    call_command("seed_demo")
    counts = (User.objects.count(), Membership.objects.count())
    call_command("seed_demo")

    assert (User.objects.count(), Membership.objects.count()) == counts == (5, 2)
    maker = User.objects.get(email="maker@demo.airlock")
    assert maker.check_password("airlock-demo")
    assert maker.membership.organisation.name == "Demo Diagnostics Ltd"
    assert User.objects.get(email="admin@demo.airlock").is_superuser
    call_command("seed_demo", verbosity=2)
    assert "lead@demo.airlock" in capsys.readouterr().out


def test_seed_demo_adds_scale_applications_once(db):
    call_command("seed_demo", applications=120)
    call_command("seed_demo", applications=120)

    scale = Application.objects.filter(organisation__name__startswith="Scale Test")
    assert scale.count() == 120
    assert scale.values("reference").distinct().count() == 120
    in_testing = scale.filter(state=ApplicationState.IN_CONTROLLED_TESTING)
    assert TestingPlan.objects.filter(application__in=in_testing).count() == in_testing.count()


def test_seed_demo_shows_the_adaptive_device_under_change_control_once(db):
    from reviews.models import ModelChange, SafetySignal

    call_command("seed_demo")
    call_command("seed_demo")

    case = Application.objects.get(device__name="DermaWatch Adaptive")
    assert sorted(
        ModelChange.objects.filter(application=case).values_list("status", flat=True)
    ) == [
        "held",
        "recorded",
    ]
    sources = set(SafetySignal.objects.filter(application=case).values_list("source", flat=True))
    assert {"equity", "drift"} <= sources
    assert case.device.model_versions.count() == 2


def test_seed_demo_shows_a_cleared_device_reporting_under_its_monitoring_plan_once(db):
    from postclearance.models import MonitoringPlan
    from reviews.models import Checkpoint

    call_command("seed_demo")
    call_command("seed_demo")

    case = Application.objects.get(device__name="HeartSound AF Screen")
    assert case.state == ApplicationState.CLEARED
    plan = MonitoringPlan.objects.get(application=case)
    assert plan.is_running
    checkpoints = Checkpoint.objects.filter(monitoring_plan=plan).order_by("sequence")
    assert [hasattr(checkpoint, "report") for checkpoint in checkpoints] == [True, True, False]
    assert all(checkpoint.report.evaluated_at for checkpoint in checkpoints[:2])
    # A serious incident under the plan, once however often the demo is seeded.
    incident = case.incidents.get()
    assert not incident.reported_late
    assert incident.signals.get().severity == "high"
