"""The findings pages: the case tab, the register, themes; who may open them; bad input shown
on the form (200), never a 500; the lists read in a fixed number of queries."""

import pytest
from django.urls import reverse

from airlock.roles import Role
from devices.models import ApplicationState
from findings.models import ChallengeArea, Finding, FindingEvent, Suggestion, Theme
from findings.services import FindingDetails, finding_record, theme_create, theme_finding_add
from reviews.models import ConflictOfInterest
from tests.factories import UserFactory, add_evidence, make_application

pytestmark = pytest.mark.django_db
S = ApplicationState


@pytest.fixture
def case(organisation):
    return make_application(S.SCREENING, organisation=organisation)


@pytest.fixture
def area():
    return ChallengeArea.objects.get(name="Synthetic data validation")


def _record(reviewer, case, area, title="Synthetic controls unvalidated"):
    return finding_record(
        actor=reviewer,
        application_id=case.pk,
        details=FindingDetails(title, "No rule says how.", area.pk, Suggestion.STANDARD),
    )


def test_a_reviewer_records_a_finding_from_the_case_tab(client, reviewer, case, area):
    client.force_login(reviewer)
    url = reverse("findings:case-findings", args=[case.pk])

    page = client.get(url)
    response = client.post(
        url,
        {
            "title": "Synthetic controls unvalidated",
            "description": "No rule says how to validate them.",
            "challenge_area": area.pk,
            "suggests": Suggestion.STANDARD,
            "evidence": case.evidence.first().pk,
            "checkpoint": "",
        },
    )

    assert page.status_code == 200
    assert 'aria-current="page" href="' + url in page.content.decode()
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert (finding.application, finding.evidence) == (case, case.evidence.first())
    assert "Synthetic controls unvalidated" in client.get(url).content.decode()


def test_an_empty_form_shows_the_errors_not_a_400(client, reviewer, case):
    client.force_login(reviewer)

    response = client.post(reverse("findings:case-findings", args=[case.pk]), {})

    assert response.status_code == 200
    body = response.content.decode()
    assert "govuk-error-summary" in body
    assert "Enter the title" in body or "Enter title" in body
    assert not Finding.objects.exists()


def test_evidence_of_another_case_is_refused_on_the_form(
    client, reviewer, case, area, other_manufacturer
):
    foreign = add_evidence(
        make_application(S.SCREENING, organisation=other_manufacturer.membership.organisation),
        "other",
    )
    client.force_login(reviewer)

    response = client.post(
        reverse("findings:case-findings", args=[case.pk]),
        {
            "title": "T",
            "description": "D",
            "challenge_area": area.pk,
            "suggests": Suggestion.NONE,
            "evidence": foreign.pk,
        },
    )

    assert response.status_code == 200
    assert "govuk-error-summary" in response.content.decode()
    assert not Finding.objects.exists()


@pytest.mark.parametrize("who", ["manufacturer", "observer"])
def test_manufacturers_and_observers_never_see_findings(
    client, manufacturer, case, area, reviewer, who
):
    finding = _record(reviewer, case, area)
    client.force_login(manufacturer if who == "manufacturer" else UserFactory(role=Role.OBSERVER))

    for url in (
        reverse("findings:case-findings", args=[case.pk]),
        reverse("findings:finding-edit", args=[finding.pk]),
        reverse("findings:register"),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert finding.title not in response.content.decode()


def test_a_conflicted_reviewer_sees_none_of_the_organisation_s_findings(
    client, organisation, case, area, reviewer
):
    finding = _record(reviewer, case, area)
    blind = UserFactory(role=Role.REVIEWER)
    ConflictOfInterest.objects.create(reviewer=blind, organisation=organisation, reason="Ex.")
    client.force_login(blind)

    assert client.get(reverse("findings:case-findings", args=[case.pk])).status_code == 404
    assert client.get(reverse("findings:finding-edit", args=[finding.pk])).status_code == 404
    assert finding.title not in client.get(reverse("findings:register")).content.decode()


def test_a_reviewer_links_findings_across_cases_on_the_edit_page(
    client, reviewer, case, area, other_manufacturer
):
    finding = _record(reviewer, case, area)
    other = _record(
        reviewer,
        make_application(S.SCREENING, organisation=other_manufacturer.membership.organisation),
        area,
        title="Seen again",
    )
    client.force_login(reviewer)
    url = reverse("findings:finding-edit", args=[finding.pk])

    page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "title": finding.title,
            "description": finding.description,
            "challenge_area": area.pk,
            "suggests": Suggestion.LEGISLATION,
            "related": [other.pk],
        },
    )

    assert "Seen again" in page
    assert response.status_code == 302
    assert list(other.related.all()) == [finding]
    tab = client.get(reverse("findings:case-findings", args=[case.pk])).content.decode()
    assert "Seen again" in tab


def test_the_register_filters_by_area_theme_and_suggestion(
    client, reviewer, lead_reviewer, case, area
):
    first = _record(reviewer, case, area, title="First gap")
    hallucination = ChallengeArea.objects.get(name="Hallucination")
    finding_record(
        actor=reviewer,
        application_id=case.pk,
        details=FindingDetails("Second gap", "D.", hallucination.pk, Suggestion.GUIDANCE),
    )
    theme = theme_create(actor=lead_reviewer, name="Validation")
    theme_finding_add(actor=lead_reviewer, theme_id=theme.pk, finding_id=first.pk)
    client.force_login(reviewer)
    url = reverse("findings:register")

    def titles(query):
        return [f.title for f in client.get(url, query).context["page"].object_list]

    assert sorted(titles({})) == ["First gap", "Second gap"]
    assert titles({"area": hallucination.pk}) == ["Second gap"]
    assert titles({"theme": theme.pk}) == ["First gap"]
    assert titles({"suggests": Suggestion.GUIDANCE}) == ["Second gap"]
    # Nonsense filters are ignored, not a 500.
    assert sorted(titles({"area": "x", "theme": "99999999999999999999"})) == [
        "First gap",
        "Second gap",
    ]


def test_the_register_and_the_case_tab_read_in_a_fixed_number_of_queries(
    client, reviewer, case, area, django_assert_max_num_queries
):
    client.force_login(reviewer)
    for n in range(12):
        _record(reviewer, case, area, title=f"Gap {n}")

    with django_assert_max_num_queries(12):
        register = client.get(reverse("findings:register"))
    with django_assert_max_num_queries(18):
        tab = client.get(reverse("findings:case-findings", args=[case.pk]))

    assert len(register.context["page"].object_list) == 12
    assert len(tab.context["findings"]) == 12


def test_a_lead_curates_a_theme_through_the_pages(client, lead_reviewer, reviewer, case, area):
    finding = _record(reviewer, case, area)
    client.force_login(lead_reviewer)

    empty = client.post(reverse("findings:themes"), {"name": ""})
    created = client.post(reverse("findings:themes"), {"name": "Validation", "summary": "S."})
    theme = Theme.objects.get()
    added = client.post(
        reverse("findings:theme-finding-add", args=[theme.pk]), {"finding": finding.pk}
    )
    twice = client.post(
        reverse("findings:theme-finding-add", args=[theme.pk]), {"finding": finding.pk}
    )
    shown = client.get(reverse("findings:theme", args=[theme.pk])).content.decode()
    removed = client.post(
        reverse("findings:theme-finding-remove", args=[theme.pk]), {"finding": finding.pk}
    )

    assert empty.status_code == 200
    assert "govuk-error-summary" in empty.content.decode()
    assert created.status_code == added.status_code == removed.status_code == 302
    assert twice.status_code == 200
    assert "govuk-error-summary" in twice.content.decode()
    assert finding.title in shown
    assert not theme.findings.exists()
    assert FindingEvent.objects.filter(theme=theme).count() == 2


def test_a_plain_reviewer_cannot_open_themes(client, reviewer, lead_reviewer):
    theme = theme_create(actor=lead_reviewer, name="Validation")
    client.force_login(reviewer)

    assert client.get(reverse("findings:themes")).status_code == 403
    assert client.post(reverse("findings:theme", args=[theme.pk]), {"name": "X"}).status_code == 403
    assert Theme.objects.get().name == "Validation"


@pytest.mark.parametrize("value", ["", "abc", "99999999999999999999", "-1"])
def test_removing_a_bogus_finding_is_a_404(client, lead_reviewer, value):
    theme = theme_create(actor=lead_reviewer, name="Validation")
    client.force_login(lead_reviewer)

    response = client.post(
        reverse("findings:theme-finding-remove", args=[theme.pk]), {"finding": value}
    )

    assert response.status_code == 404
