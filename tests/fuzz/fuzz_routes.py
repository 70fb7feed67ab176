"""The routes the fuzz tests cover: every named route in the URLconf, with its full path,
but the namespaces fuzzed elsewhere and Django's own admin views."""

import re

from django.urls import URLPattern, URLResolver, get_resolver

# Not fuzzed here, and why.
SKIPPED_NAMESPACES = {
    # The JSON API is fuzzed from its OpenAPI schema by tests/fuzz/test_api_fuzz.py.
    "api",
}
# Django's admin is Django's own code; only the views we add to it are in TARGETS.
OUR_ADMIN_VIEWS = {"admin:devices_application_transition"}


def route_paths(patterns=None, namespace: str = "", prefix: str = "") -> dict[str, str]:
    """Every named route, with its full path pattern (the first, where a name repeats)."""
    paths: dict[str, str] = {}
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}:{entry.namespace}".strip(":") if entry.namespace else namespace
            found = route_paths(entry.url_patterns, inner, prefix + str(entry.pattern))
            paths = found | paths
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            paths.setdefault(name, prefix + str(entry.pattern))
    return paths


def fuzzed_routes() -> list[str]:
    return sorted(
        name
        for name in route_paths()
        if name.split(":")[0] not in SKIPPED_NAMESPACES
        and (not name.startswith("admin:") or name in OUR_ADMIN_VIEWS)
    )


def text_parameters(name: str) -> list[str]:
    """The route's path parameters that take text rather than a number."""
    return [
        parameter
        for converter, parameter in re.findall(r"<(?:(\w+):)?(\w+)>", route_paths()[name])
        if converter != "int"
    ]
