import pytest
from django.core import mail
from django.urls import reverse

from airlock.roles import Role
from tests.factories import TEST_PASSWORD, UserFactory

PERSONAS = {
    # Manufacturers land on their dashboard (devices:home).
    "manufacturer": (Role.MANUFACTURER, "Needs your attention"),
    # Reviewers land on their work (reviews:home).
    "reviewer": (Role.REVIEWER, "My work"),
    "lead_reviewer": (Role.LEAD_REVIEWER, "My work"),
    "admin_user": (Role.ADMINISTRATOR, "Open the admin"),
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_logs_in_each_role_and_shows_their_home(client, request, persona):
    user = request.getfixturevalue(persona)
    role, heading = PERSONAS[persona]

    response = client.post(
        reverse("login"), {"username": user.email.upper(), "password": TEST_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("home")
    home = client.get(reverse("home"), follow=True)
    assert home.context["user"] == user
    assert user.role == role
    assert heading in home.content.decode()
    assert role.label in home.content.decode()


def test_it_sends_the_manufacturer_to_their_organisation_dashboard(client, manufacturer):
    client.force_login(manufacturer)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("devices:home"), 302)]
    assert "Demo Diagnostics Ltd" in response.content.decode()


def test_it_tells_a_manufacturer_without_an_organisation_what_to_do(client, db):
    user = UserFactory(role=Role.MANUFACTURER)
    client.force_login(user)
    response = client.get(reverse("home"))
    assert "not linked to an organisation" in response.content.decode()


def test_it_rejects_a_wrong_password_with_a_form_error(client, manufacturer):
    response = client.post(reverse("login"), {"username": manufacturer.email, "password": "nope"})

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_rejects_an_empty_login_form_with_field_errors(client, db):
    response = client.post(reverse("login"), {})

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"username", "password"}


def test_it_sends_anonymous_visitors_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_tells_a_user_without_a_role_what_to_do(client, user_without_role):
    client.force_login(user_without_role)
    response = client.get(reverse("home"))
    assert "no role yet" in response.content.decode()


def test_it_logs_out_on_post_only(client, manufacturer):
    client.force_login(manufacturer)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert "You have signed out" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_emails_a_password_reset_link_that_works(client, manufacturer):
    response = client.post(reverse("password_reset"), {"email": manufacturer.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Reset your Airlock password"
    link = next(line for line in message.body.splitlines() if "/accounts/reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )
    assert done.status_code == 302
    manufacturer.refresh_from_db()
    assert manufacturer.check_password("a-new-long-passphrase")


def test_it_does_not_reveal_whether_an_address_has_an_account(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})

    assert response.status_code == 302
    assert mail.outbox == []


def test_it_only_lets_staff_into_the_admin(client, reviewer, admin_user):
    client.force_login(reviewer)
    assert client.get("/admin/").status_code == 302
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_role_groups_carry_their_permissions(reviewer, lead_reviewer, manufacturer):
    assert reviewer.has_perm("airlock.access_review_workspace")
    assert not reviewer.has_perm("airlock.lead_review")
    assert lead_reviewer.has_perm("airlock.lead_review")
    assert not manufacturer.has_perm("airlock.access_review_workspace")


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_an_absurdly_long_address_is_an_ordinary_failed_sign_in(client, db, url):
    response = client.post(url, {"username": "a" * 60_000 + "@example.test", "password": "x"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
