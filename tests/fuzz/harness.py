"""Sending the form fuzzer's requests and checking the answers."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse

from tests.fuzz.fuzz_routes import route_paths
from tests.fuzz.html_forms import Form, forms_on
from tests.fuzz.stage import ANONYMOUS, Stage
from tests.fuzz.strategies import MARKUP_MARKERS
from tests.fuzz.target_kinds import Target


def client_for(stage: Stage, persona: str) -> Client:
    client = Client()
    if persona != ANONYMOUS:
        client.force_login(stage.people[persona])
    return client


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def problems_with(response, where: str) -> list[str]:
    problems = []
    if response.status_code >= 500:
        problems.append(f"{where}: {response.status_code}")
    content_type = response.get("Content-Type", "")
    content = body(response)
    if content_type.startswith("text/html"):
        problems.extend(
            f"{where}: the page shows the input's markup unescaped ({marker.decode()}…)"
            for marker in MARKUP_MARKERS
            if marker in content
        )
    if response.status_code in {301, 302, 303, 307, 308}:
        location = urlsplit(response["Location"])
        if location.netloc and location.netloc != "testserver":
            problems.append(f"{where}: redirects off the site, to {response['Location']}")
    return problems


def send_and_check(client: Client, method: str, url: str, **kwargs) -> int:
    """One request, and the page a redirect leads to; fail with everything found wrong.
    Returns the first response's status."""
    where = f"{method} {url}"
    response = client.get(url, **kwargs) if method == "GET" else client.post(url, **kwargs)
    problems = problems_with(response, where)
    if response.status_code in {301, 302, 303} and not problems:
        location = urlsplit(response["Location"])
        if not location.netloc:
            follow = f"{location.path}?{location.query}" if location.query else location.path
            problems += problems_with(client.get(follow), f"{where} -> GET {follow}")
    assert not problems, "\n".join(problems)
    return response.status_code


def rolled_back(run: Callable[[], int]) -> int:
    with transaction.atomic():
        status = run()
        transaction.set_rollback(True)
    return status


def the_form(stage: Stage, name: str, target: Target, kwargs: dict) -> tuple[str, Form]:
    """The URL to post to and the form the site renders for it."""
    url = reverse(name, kwargs=kwargs)
    if target.form_on:
        # The page takes the record it shows, if its path names one (a list page names none).
        takes_pk = "pk>" in route_paths()[target.form_on]
        page_kwargs = {key: value for key, value in kwargs.items() if key == "pk" and takes_pk}
        page = reverse(target.form_on, kwargs=page_kwargs)
    else:
        page = url
    client = client_for(stage, target.persona)
    response = client.get(page, follow=True)
    assert response.status_code == 200, f"GET {page} as {target.persona}: {response.status_code}"
    final_page = response.request["PATH_INFO"]
    forms = [f for f in forms_on(response.content.decode(), final_page) if f.method == "post"]
    matching = [f for f in forms if f.action == url]
    if not matching and not target.form_on:
        # The page moved on the way (a reset link puts its token in the session and redirects)
        # and posts to its new address.
        matching = [f for f in forms if resolve(f.action).view_name == name]
    assert matching, (
        f"{page} (as {target.persona}) no longer shows a form that posts to {url}: update "
        "TARGETS in tests/fuzz/targets.py."
    )
    return matching[0].action, matching[0]
