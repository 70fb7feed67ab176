"""The demo shows the gap register: findings across challenge areas on several cases, two
themes, and a cohort whose programme report renders (and is drawn as PDF), made once."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from airlock.models import User
from findings.models import Finding, FindingEvent, ProgrammeReport, Theme

pytestmark = pytest.mark.django_db


def test_the_demo_records_findings_themes_and_a_programme_report_once(client):
    call_command("seed_demo")
    counts = (Finding.objects.count(), Theme.objects.count(), FindingEvent.objects.count())
    call_command("seed_demo")

    assert (Finding.objects.count(), Theme.objects.count(), FindingEvent.objects.count()) == counts
    assert counts[1] == 2
    assert Finding.objects.values("application").distinct().count() >= 2
    assert Finding.objects.values("challenge_area").distinct().count() == 5
    assert Finding.objects.filter(related__isnull=False).exists()
    report = ProgrammeReport.objects.get()
    assert report.drawn_at is not None
    assert len(report.sha256) == 64

    client.force_login(User.objects.get(email="lead@demo.airlock"))
    page = client.get(reverse("findings:programme-report", args=[report.cohort_id]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Evidence of performance after deployment" in body
    assert "Demo Diagnostics Ltd" not in body
