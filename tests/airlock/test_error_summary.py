"""Each error is said once: in the error summary, and (for a field) beside its field.

A wrong password used to show "Please enter a correct email address and password" twice: once
in the summary and again in crispy-forms' box of non-field errors at the top of the form.
templates/bootstrap5/errors.html removes that box everywhere, which is only right while every
page that renders a form with crispy also shows a summary; the last test keeps it so.
"""

import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

WRONG_PASSWORD = "Please enter a correct email address and password"
SUMMARIES = ("partials/form_errors.html", "reviews/partials/error_summary.html")


def test_a_wrong_password_says_so_once(client, manufacturer):
    response = client.post(reverse("login"), {"username": manufacturer.email, "password": "nope"})

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count(WRONG_PASSWORD) == 1
    assert "There is a problem" in page


def test_the_admin_sign_in_says_so_once_too(client, admin_user):
    response = client.post("/admin/login/", {"username": admin_user.email, "password": "nope"})

    assert response.content.decode().count("Please enter the correct email address") == 1


def test_a_field_error_is_in_the_summary_and_beside_its_field(client, db):
    response = client.post(reverse("login"), {"username": "", "password": ""})

    page = response.content.decode()
    # Once linked from the summary, once under the field (the GOV.UK pattern).
    assert page.count("Enter your email address") == 2
    assert page.count("Enter your password") == 2
    assert 'href="#id_username"' in page


def test_every_template_rendering_a_whole_form_with_crispy_has_an_error_summary():
    """{{ form|crispy }} no longer shows non-field errors (they would be said twice), so a
    page that uses it must show the summary, which does."""
    missing = []
    for template in sorted(Path(settings.BASE_DIR, "templates").rglob("*.html")):
        if template.parent.name == "govuk":
            continue  # the crispy template pack itself
        text = template.read_text()
        if re.search(r"\|\s*crispy\b|{%\s*crispy\s", text) and not any(
            summary in text for summary in SUMMARIES
        ):
            missing.append(str(template.relative_to(settings.BASE_DIR)))

    assert not missing, "Include an error summary in: " + ", ".join(missing)
