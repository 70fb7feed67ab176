"""Hostile input to every form on the site: never a 500, never the input's markup unescaped.

Every route in the URLconf must have an entry in TARGETS (test_every_route_has_a_fuzz_target
names any that does not): who may use it, what records its URL names, and whether it takes a
POST or reads a query string. The fields to fuzz are not listed by hand. They are read from
the <form> that the site itself renders for that URL (`form_on`, or the URL's own page), so a
field added to a template is fuzzed from then on, and a form that disappears fails loudly.

Each example starts from the rendered form and, field by field, keeps the rendered value, picks
another of the field's options, or sends something hostile instead: a huge or odd Unicode
string, a NUL byte, a number out of any range, an impossible date, SQL or markup injection, a
list where one value is expected, a missing field, a bogus id, bogus formset management
counts, a disguised or empty file. Some bodies are sent url-encoded with invalid UTF-8.
Every response must be below 500; an HTML page must not carry the input's markup unescaped; a
redirect must stay on this site, and the page it leads to must pass the same checks.

Each example runs in a savepoint that is rolled back, so examples do not depend on each other
and hypothesis (derandomized) generates the same examples on every run and every machine.
"""

from functools import partial
from urllib.parse import quote

import pytest
from django.urls import reverse
from hypothesis import event, given, settings
from hypothesis import strategies as st

from devices.models import ApplicationState
from tests.fuzz.fuzz_routes import fuzzed_routes, text_parameters
from tests.fuzz.harness import client_for, problems_with, rolled_back, send_and_check, the_form
from tests.fuzz.html_forms import forms_on
from tests.fuzz.strategies import FUZZ, HOSTILE, QUERY_EXAMPLES, SWEEP, as_request, payloads, scalar
from tests.fuzz.targets import PATH_TEXT, TARGETS, cases

pytestmark = pytest.mark.django_db

S = ApplicationState


def test_every_route_has_a_fuzz_target():
    missing = [name for name in fuzzed_routes() if name not in TARGETS]
    stale = [name for name in TARGETS if name not in fuzzed_routes()]

    assert not missing, (
        "Add these routes to TARGETS in tests/fuzz/targets.py (who uses them, what "
        "their URL names, whether they take a POST or read a query string): " + ", ".join(missing)
    )
    assert not stale, "TARGETS names routes that no longer exist: " + ", ".join(stale)


def test_every_route_with_text_in_its_path_has_its_segments_fuzzed():
    missing = [name for name in fuzzed_routes() if text_parameters(name) and name not in PATH_TEXT]

    assert not missing, "Add these routes to PATH_TEXT: " + ", ".join(missing)


@pytest.mark.parametrize(("name", "target"), cases("post"))
def test_posting_hostile_input_never_breaks_a_form(stage, name, target):
    kwargs = target.setup(stage)
    url, form = the_form(stage, name, target, kwargs)
    for value in SWEEP:
        data = {field: [value] for field, entry in form.fields.items() if entry.kind != "file"}
        client = client_for(stage, target.persona)
        rolled_back(partial(send_and_check, client, "POST", url, headers=target.headers, data=data))

    @FUZZ
    @given(payloads(form))
    def post(payload):
        fields, junk, encoding = payload
        client = client_for(stage, target.persona)
        request = as_request(fields | junk, encoding)
        status = rolled_back(
            lambda: send_and_check(client, "POST", url, headers=target.headers, **request)
        )
        # Shown by --hypothesis-show-statistics: how often the fuzz got past validation.
        event(f"answered {status}")

    post()


@pytest.mark.parametrize(("name", "target"), cases("query"))
def test_hostile_query_strings_never_break_a_page(stage, name, target):
    url = reverse(name, kwargs=target.setup(stage))
    client = client_for(stage, target.persona)
    # Query strings are read by hand more often than forms are: try every hostile value (in
    # every parameter at once: each is read on its own), then random mixtures.
    for value in HOSTILE:
        query = dict.fromkeys(target.query, value)
        rolled_back(partial(send_and_check, client, "GET", url, data=query))
    params = st.fixed_dictionaries(
        {},
        optional={
            parameter: st.one_of(scalar.map(lambda v: [v]), st.lists(scalar, max_size=3))
            for parameter in target.query
        },
    )

    @settings(FUZZ, max_examples=QUERY_EXAMPLES)
    @given(params)
    def get(query):
        event(f"answered {rolled_back(lambda: send_and_check(client, 'GET', url, data=query))}")

    get()


@pytest.mark.parametrize(("name", "target"), PATH_TEXT.items(), ids=list(PATH_TEXT))
def test_hostile_path_segments_never_break_a_page(stage, name, target):
    kwargs = target.setup(stage)
    placeholders = {parameter: f"ZZ{parameter}ZZ" for parameter in text_parameters(name)}
    template = reverse(name, kwargs=kwargs | placeholders)
    # Each segment often keeps its real value, so one bad segment is tried with the others
    # good (a bogus object id alone would stop the admin before it reads the transition name).
    segments = st.fixed_dictionaries(
        {
            parameter: st.one_of(st.just(str(kwargs[parameter])), scalar, st.text(min_size=1))
            for parameter in placeholders
        }
    )

    @settings(FUZZ, max_examples=QUERY_EXAMPLES)
    @given(segments, st.sampled_from(["GET", "POST"]))
    def visit(values, method):
        url = template
        for parameter, value in values.items():
            url = url.replace(placeholders[parameter], quote(value, safe="") or "-")
        client = client_for(stage, target.persona)
        event(f"answered {rolled_back(lambda: send_and_check(client, method, url))}")

    visit()


@pytest.mark.parametrize(("name", "target"), cases("get-only"))
def test_pages_without_a_form_answer_get_and_refuse_post(stage, name, target):
    url = reverse(name, kwargs=target.setup(stage))
    client = client_for(stage, target.persona)

    send_and_check(client, "GET", url)
    response = client.post(url, {"state": S.CLEARED, "next": "//evil.example/"})

    assert response.status_code == 405, (
        f"POST {url} answered {response.status_code}: a page that takes a POST needs "
        "posts=True in TARGETS, so its form is fuzzed."
    )


def test_the_form_reader_finds_fields_outside_their_form_and_textarea_text():
    html = """
    <form method="post" action="/x/" id="bulk"><input name="query" value="a=1">
      <textarea name="body">
Hello</textarea><select name="who"><option value="">Anyone</option><option value="7">R</option>
      </select><button name="save_draft">Save</button></form>
    <input type="checkbox" form="bulk" name="applications" value="3">
    <input type="checkbox" form="bulk" name="applications" value="4">
    <form hx-post="/y/"><input type="file" name="file"></form>
    """

    bulk, htmx = forms_on(html, "/page/")

    assert (bulk.action, bulk.method) == ("/x/", "post")
    assert bulk.fields["applications"].values == ["3", "4"]
    assert bulk.fields["body"].values == ["Hello"]
    assert bulk.fields["who"].values == ["", "7"]
    assert bulk.fields["save_draft"].kind == "choice"
    assert (htmx.action, htmx.method, htmx.fields["file"].kind) == ("/y/", "post", "file")


def test_the_checks_catch_unescaped_markup_and_off_site_redirects():
    from django.http import HttpResponse, HttpResponseRedirect

    page = HttpResponse('<p><script>fz("xss")</script></p>', content_type="text/html")
    away = HttpResponseRedirect("https://evil.example/")
    escaped = HttpResponse("<p>&lt;script&gt;fz(&quot;xss&quot;)</p>", content_type="text/html")

    assert problems_with(page, "GET /")
    assert problems_with(away, "GET /")
    assert not problems_with(escaped, "GET /")
