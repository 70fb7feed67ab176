"""Content-Security-Policy and the other security headers, and templates that keep to them."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"
STRICT_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy_of(response) -> dict[str, str]:
    directives = (part.strip() for part in response["Content-Security-Policy"].split(";"))
    return dict(directive.split(" ", 1) for directive in directives if directive)


def assert_security_headers(response) -> None:
    assert policy_of(response) == STRICT_POLICY
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_a_public_page_carries_every_security_header(client, db):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert_security_headers(response)


def test_a_signed_in_page_carries_every_security_header(client, manufacturer):
    client.force_login(manufacturer)

    response = client.get(reverse("devices:home"))

    assert response.status_code == 200
    assert_security_headers(response)


def test_error_pages_carry_them_too(client, manufacturer):
    client.force_login(manufacturer)

    assert_security_headers(client.get("/no-such-page/"))
    assert_security_headers(client.get(reverse("reviews:queue")))  # 403


def test_the_api_docs_run_under_the_same_strict_policy(client, db):
    page = client.get(reverse("api:docs"))

    assert page.status_code == 200
    assert_security_headers(page)
    html = page.content.decode()
    assert "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    script = client.get(reverse("api:docs"), {"script": ""})
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


def test_htmx_is_told_not_to_inject_styles_or_evaluate_code(client, db):
    html = client.get(reverse("login")).content.decode()

    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles":false' in html


def _page_templates():
    # Emails are exempt: Content-Security-Policy does not apply to mail clients.
    return sorted(
        path
        for path in TEMPLATES.rglob("*.html")
        if "emails" not in path.relative_to(TEMPLATES).parts
    )


COMMENTS = re.compile(r"{#.*?#}|{% comment %}.*?{% endcomment %}", re.DOTALL)
INLINE = [
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "a style= attribute"),
    (re.compile(r"<style\b", re.IGNORECASE), "a <style> block"),
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "an inline event handler (onclick=...)"),
    (re.compile(r"javascript:", re.IGNORECASE), "a javascript: URL"),
    (re.compile(r"\bhx-on\b|hx-on:", re.IGNORECASE), "an hx-on handler (needs eval)"),
]


@pytest.mark.parametrize(
    "template", _page_templates(), ids=lambda path: str(path.relative_to(TEMPLATES))
)
def test_templates_have_no_inline_script_or_style(template):
    source = COMMENTS.sub("", template.read_text())
    # {{ x|json_script:"id" }} renders a <script type="application/json">, which is data, not
    # code, and allowed; no template writes that tag by hand.
    problems = [what for pattern, what in INLINE if pattern.search(source)]

    assert not problems, (
        f"{template.relative_to(TEMPLATES)} has {', '.join(problems)}: the Content-Security-"
        "Policy blocks it. Move styles to static/css/airlock.css and scripts to static/js/, "
        "passing data with data-* attributes or json_script."
    )
