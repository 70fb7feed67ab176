"""One address, one spelling: sign-in, the lockout count and uniqueness all use the canonical
form (airlock.models.canonical_email), and a look-alike spelling is refused before anyone is
authenticated.

The attack this guards against: with an account locked after five wrong passwords, the same
address typed with a dotless i (U+0131) and the right password signed in on PostgreSQL (whose
UPPER() folds it to I), unlocked the real address, and earned five fresh guesses per spelling.
Every variation below goes through the real sign-in pages over HTTP, as an attacker would.
"""

import re

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from airlock.models import User
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = "/admin/login/"
ADDRESS = "kira.iles@example.test"

# Spellings a person could never have meant for another account, each one a way to reach
# ADDRESS through some fold of case or compatibility: Python's, the database's, or a font's.
LOOK_ALIKES = {
    "dotless i": ADDRESS.replace("i", "\u0131", 1),
    "capital dotted I": ADDRESS.replace("i", "\u0130", 1),
    "long s": ADDRESS.replace("s", "\u017f", 1),
    "Kelvin sign": "\u212a" + ADDRESS[1:],
    "fullwidth k": "\uff4b" + ADDRESS[1:],
    "combining dot": ADDRESS.replace("i", "i\u0307", 1),
    "zero-width space": ADDRESS.replace("@", "\u200b@"),
    "no-break space": ADDRESS.replace("@", "\u00a0@"),
    "Cyrillic a": ADDRESS.replace("a", "\u0430", 1),
    "inner space": ADDRESS.replace("@", " @"),
}
# Django's own email check refuses some look-alikes first ("Enter a valid email address"); it
# passes others, such as a dotless i, because its pattern ignores case the Unicode way.
REFUSED = re.compile(r"Look-alike letters from other alphabets|Enter a valid email address")
# Spellings that are the same address: the same account, so the same count of failures.
CASE_VARIANTS = [
    ADDRESS.upper(),
    "Kira.Iles@Example.Test",
    f"  {ADDRESS}  ",
    ADDRESS.replace("example", "EXAMPLE"),
]


@pytest.fixture
def person(db):
    return UserFactory(email=ADDRESS, full_name="Kira Iles")


def _sign_in(client, username, password="wrong-password", url=LOGIN):
    return client.post(url, {"username": username, "password": password})


def _lock(client, username=ADDRESS):
    for _ in range(5):
        _sign_in(client, username)
    assert _sign_in(client, ADDRESS, TEST_PASSWORD).status_code == 429


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_spelling_with_the_right_password_neither_signs_in_nor_unlocks(
    client, person, spelling
):
    _lock(client)

    response = _sign_in(client, spelling, TEST_PASSWORD)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Look-alike letters from other alphabets" in response.content.decode()
    # The real address is still paused: nothing about the look-alike touched its count.
    assert _sign_in(client, ADDRESS, TEST_PASSWORD).status_code == 429


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_spelling_never_signs_in_even_when_nothing_is_locked(client, person, spelling):
    for url in (LOGIN, ADMIN_LOGIN):
        response = _sign_in(client, spelling, TEST_PASSWORD, url=url)

        assert response.status_code == 200
        assert "_auth_user_id" not in client.session


def test_look_alikes_earn_no_fresh_guesses(client, person):
    """Four failures on the address, then one per look-alike: none of them is a guess at
    the password (they are refused unread), and the fifth real failure still locks."""
    for _ in range(4):
        _sign_in(client, ADDRESS)
    for spelling in LOOK_ALIKES.values():
        _sign_in(client, spelling)

    assert _sign_in(client, ADDRESS).status_code == 429


def test_every_case_spelling_shares_one_count_and_one_pause(client, person):
    for spelling in CASE_VARIANTS:
        assert _sign_in(client, spelling).status_code == 200
    assert _sign_in(client, "KIRA.ILES@example.test").status_code == 429

    for spelling in [ADDRESS, *CASE_VARIANTS]:
        assert _sign_in(client, spelling, TEST_PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("spelling", CASE_VARIANTS)
def test_a_case_spelling_signs_in_to_the_one_account(client, person, spelling):
    response = _sign_in(client, spelling, TEST_PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(person.pk)


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_password_reset_for_a_look_alike_sends_nothing(client, person, spelling):
    response = client.post(reverse("password_reset"), {"email": spelling})

    assert response.status_code == 200
    assert REFUSED.search(response.content.decode())
    assert mail.outbox == []


# --- Uniqueness -------------------------------------------------------------------------------


def _admin_add(client, email):
    return client.post(
        reverse("admin:airlock_user_add"),
        {
            "email": email,
            "full_name": "Duplicate Person",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )


@pytest.mark.parametrize(
    "spelling", ["DUP-X@example.test", "Dup-x@Example.Test", " dup-x@example.test"]
)
def test_the_admin_refuses_an_address_that_differs_only_in_case(client, admin_user, spelling):
    UserFactory(email="dup-x@example.test")
    client.force_login(admin_user)

    response = _admin_add(client, spelling)

    assert response.status_code == 200
    assert "Someone already has this email address" in response.content.decode()
    assert User.objects.filter(email__iexact="dup-x@example.test").count() == 1


@pytest.mark.parametrize("spelling", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_the_admin_refuses_a_look_alike_address(client, admin_user, spelling):
    client.force_login(admin_user)

    response = _admin_add(client, spelling)

    assert response.status_code == 200
    assert REFUSED.search(response.content.decode())
    assert not User.objects.filter(full_name="Duplicate Person").exists()


def test_the_admin_stores_a_new_address_in_its_canonical_spelling(client, admin_user):
    client.force_login(admin_user)

    response = _admin_add(client, "New.Person@Example.TEST")

    assert response.status_code == 302
    assert User.objects.filter(email="new.person@example.test").exists()


def test_the_database_refuses_a_second_spelling_whatever_writes_it(person):
    """The functional unique index on LOWER(email): bulk_create skips save() and every
    form, as a script or a future bug might."""
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email=ADDRESS.upper(), full_name="Twin")])


def test_signing_in_never_finds_two_accounts(client, person):
    """Before the index, DUP-x@ beside dup-x@ made sign-in answer 500 (MultipleObjectsReturned):
    now the second row cannot exist, and each spelling finds the one account."""
    for spelling in [ADDRESS, ADDRESS.upper()]:
        response = _sign_in(client, spelling, TEST_PASSWORD)
        assert response.status_code == 302
        client.post(reverse("logout"))


def test_the_migration_stores_existing_addresses_in_their_canonical_spelling(person):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("airlock.migrations.0003_user_email_case_insensitive")
    User.objects.filter(pk=person.pk).update(email="Kira.Iles@Example.Test")

    migration.store_canonical_spelling(apps, None)

    person.refresh_from_db()
    assert person.email == ADDRESS
