""" "Needs your attention": everything a manufacturer (or a reviewer, on their cases) must act
on, with counts that match the lists, checked on the demo data and case by case."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from airlock.models import User
from devices.models import ApplicationState, Message
from reviews.attention import manufacturer_attention, reviewer_attention
from reviews.models import Checkpoint, CheckpointStatus
from tests.factories import make_application

pytestmark = pytest.mark.django_db

S = ApplicationState
COUNT = re.compile(r'data-count="([a-z-]+)">(\d+)<')
LIST = re.compile(r'<ul[^>]* data-list="([a-z-]+)">(.*?)</ul>', re.DOTALL)


def counts_and_lists(page: str) -> tuple[dict[str, int], dict[str, int]]:
    counts = {name: int(number) for name, number in COUNT.findall(page)}
    lists = {name: body.count("<li") for name, body in LIST.findall(page)}
    return counts, lists


def assert_counts_match(page: str) -> dict[str, int]:
    counts, lists = counts_and_lists(page)
    total = counts.pop("attention", 0)
    assert counts == lists
    assert total == sum(lists.values())
    return lists


def test_on_the_demo_data_the_manufacturer_s_counts_match_the_lists(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(email="maker@demo.airlock"))

    lists = assert_counts_match(client.get(reverse("devices:home")).content.decode())

    assert lists == {
        "overdue": 1,  # checkpoint 2 of the case in testing, escalated
        "due-soon": 1,  # checkpoint 3
        "requests": 1,
        "plans": 1,  # the amendment the reviewer sent
        "messages": 1,  # the reviewer's question about the scanner settings
        "drafts": 1,
    }


def test_on_the_demo_data_the_reviewer_s_counts_match_the_lists(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(email="reviewer@demo.airlock"))

    lists = assert_counts_match(client.get(reverse("reviews:home")).content.decode())

    assert lists == {"overdue": 1, "due-soon": 1, "requests": 1, "plans": 1}


def test_each_thing_that_needs_the_manufacturer_is_listed(manufacturer, organisation, reviewer):
    today = timezone.localdate()
    testing = make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    suspended = make_application(S.SUSPENDED, organisation=organisation)
    Checkpoint.objects.create(
        application=testing, sequence=1, due_on=today - timedelta(days=9), status="overdue"
    )
    Checkpoint.objects.create(application=testing, sequence=2, due_on=today + timedelta(days=13))
    Checkpoint.objects.create(application=testing, sequence=3, due_on=today + timedelta(days=15))
    Checkpoint.objects.create(
        application=testing,
        sequence=4,
        due_on=today - timedelta(days=40),
        status=CheckpointStatus.SUBMITTED,
    )
    Message.objects.create(application=testing, author=reviewer, from_regulator=True, body="?")
    answered = make_application(S.SCREENING, organisation=organisation)
    Message.objects.create(application=answered, author=reviewer, from_regulator=True, body="?")
    Message.objects.create(
        application=answered, author=manufacturer, from_regulator=False, body="Done."
    )
    make_application(S.IN_CONTROLLED_TESTING)  # another organisation's: never listed

    attention = manufacturer_attention(manufacturer)

    assert [c.sequence for c in attention.overdue_checkpoints] == [1]
    assert [c.sequence for c in attention.due_soon_checkpoints] == [2]
    assert attention.suspended == [suspended]
    assert attention.unanswered == [testing]
    assert attention.total == 4


def test_the_reviewer_s_list_covers_only_their_cases(reviewer, manufacturer):
    mine = make_application(S.SUSPENDED, assignee=reviewer)
    make_application(S.SUSPENDED)
    Message.objects.create(
        application=mine, author=mine.created_by, from_regulator=False, body="Help?"
    )

    attention = reviewer_attention(reviewer)

    assert attention.suspended == [mine]
    assert attention.unanswered == [mine]


def test_the_home_pages_cost_the_same_however_much_needs_attention(
    client, manufacturer, organisation, django_assert_max_num_queries
):
    client.force_login(manufacturer)
    make_application(S.IN_CONTROLLED_TESTING, organisation=organisation)
    client.get(reverse("devices:home"))
    with django_assert_max_num_queries(16) as few:
        client.get(reverse("devices:home"))
    for _ in range(4):
        application = make_application(S.SUSPENDED, organisation=organisation)
        Checkpoint.objects.create(
            application=application, sequence=1, due_on=timezone.localdate(), status="overdue"
        )

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("devices:home")).content.decode()

    assert_counts_match(page)
