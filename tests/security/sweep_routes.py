"""The permission sweep's table of routes: every routed URL, and the values its parameters
take from the organisation's records (tests/security/test_permission_sweep.py)."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import cycle, islice

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from devices.models import TRANSITIONS
from reviews.views.case import PANEL_ACTIONS

# Written into every record of the organisation: it must never reach an outsider.
MARKER = "ZQX-CONFIDENTIAL-7731"

# Includes not swept, and why.
SKIPPED_INCLUDES = {
    # Django's admin has its own staff-only gate and permission system, tested in
    # tests/airlock/test_auth.py and tests/devices/test_admin.py.
    "admin",
    # Django's sign-in, sign-out and password-reset views: public by design and object-free
    # (tests/airlock/test_auth.py and tests/security/test_lockout.py cover them).
    "django.contrib.auth.urls",
}
# Our own overrides of those same auth views, for the same reason.
SKIPPED_NAMES = {"login", "password_reset", "password_reset_confirm"}
# Static files are not in the URLconf at all: the web server (or, under runserver, the static
# files handler) answers them, and they are public.

# What a `pk` names, by the path segment before it ("applications/<int:pk>/" -> application).
PK_MODELS = {
    "applications": "application",
    "devices": "device",
    "evidence": "evidence",
    "signals": "signal",
    "notifications": "notification",
    # Partners' alerts are the regulator's, not an organisation's: every reviewer sees them
    # (REGULATOR_WIDE), and the sweep checks everyone else is refused.
    "incoming": "incoming_alert",
    "model-changes": "model_change",
    "members": "membership",
    "invitations": "invitation",
    "api-keys": "api_key",
    "calls": "call",
    "organisations": "organisation",
    "documents": "document",
    "findings": "finding",
    # Themes, cohorts and their programme reports are the regulator's own, not an
    # organisation's; the pages show only the findings and cases the reader may see.
    "themes": "theme",
    "cohorts": "cohort",
    "programme-reports": "programme_report",
    "observer-invitations": "observer_invitation",
}
# Records that belong to no organisation: open to every reviewer, conflicted or not.
# (An invitation to observe is the regulator's, managed by any lead reviewer.)
REGULATOR_WIDE = {
    "incoming_alert",
    "observer_invitation",
    "theme",
    "cohort",
    "programme_report",
}


@dataclass
class World:
    """One organisation's records, in every state, each carrying MARKER somewhere."""

    applications: list
    device: object
    evidence: list
    signal: object
    references: list[str]
    notifications: list
    # A colleague's two-factor set-up link: no one else may use it.
    enrolment_token: str = ""
    incoming_alerts: list = field(default_factory=list)
    model_changes: list = ()
    # The organisation's team: a member, an invitation waiting, an API key.
    memberships: list = field(default_factory=list)
    invitations: list = field(default_factory=list)
    api_keys: list = field(default_factory=list)
    organisations: list = field(default_factory=list)
    # A grant to an observer who is not among the visitors: no visitor may see or revoke it.
    observer_grants: list = field(default_factory=list)
    # Issued decision documents (documents.CaseDocument).
    documents: list = field(default_factory=list)
    # A finding on a case, the theme it is in, the case's cohort and a PDF of its report.
    findings: list = field(default_factory=list)
    themes: list = field(default_factory=list)
    cohorts: list = field(default_factory=list)
    programme_reports: list = field(default_factory=list)
    # An invitation to observe, waiting: no one but a lead reviewer may cancel it.
    observer_invitations: list = field(default_factory=list)

    def pks(self, model: str) -> list[int]:
        return {
            "application": [application.pk for application in self.applications],
            "device": [self.device.pk],
            "evidence": [document.pk for document in self.evidence],
            "signal": [self.signal.pk],
            "notification": [notification.pk for notification in self.notifications],
            "incoming_alert": [alert.pk for alert in self.incoming_alerts],
            "model_change": [change.pk for change in self.model_changes],
            "membership": [membership.pk for membership in self.memberships],
            "invitation": [invitation.pk for invitation in self.invitations],
            "api_key": [key.pk for key in self.api_keys],
            "call": sorted({application.call_id for application in self.applications}),
            "organisation": [organisation.pk for organisation in self.organisations],
            "document": [document.pk for document in self.documents],
            "finding": [finding.pk for finding in self.findings],
            "theme": [theme.pk for theme in self.themes],
            "cohort": [cohort.pk for cohort in self.cohorts],
            "programme_report": [report.pk for report in self.programme_reports],
            "observer_invitation": [invitation.pk for invitation in self.observer_invitations],
        }[model]


# Records every organisation shares (a call for applications): the URL naming one may answer,
# but must still show none of the organisation's records.
SHARED_PK_MODELS = {"call"}

# Every other parameter: the values to try, given the world.
PARAMETERS = {
    "step": lambda world: [1, 2, 3, 4],
    "sequence": lambda world: [1, 2],
    "action": lambda world: sorted(set(TRANSITIONS) | set(PANEL_ACTIONS)),
    "reference": lambda world: world.references,
    "token": lambda world: [world.enrolment_token],
}


# Lists and exports show the organisation's records only under some query strings (every
# status, a search, a file format): each is asked with these too, by GET, besides the bare URL,
# so an outsider is checked where the records would be (tests/security/test_permission_sweep.py
# checks a reader entitled to them does find them there). None repeats a reference or the
# marker: a page that echoes its search box would otherwise count as a leak.
QUERIES = {
    "reviews:queue": lambda world: ["per_page=100&state=cleared", "q=AIA-", "q=Sentinel"],
    "reviews:queue-export": lambda world: ["state=in_controlled_testing", "q=Sentinel"],
    "reviews:signals": lambda world: ["show=all"],
    "notifications:list": lambda world: ["show=all"],
    "ledger:audit-export": lambda world: [
        "format=json",
        "format=csv",
        "format=json&scope=programme",
    ],
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str

    @property
    def namespace(self) -> str:
        return self.name.split(":", 1)[0] if ":" in self.name else ""

    @property
    def parameters(self) -> tuple[str, ...]:
        """Every parameter in the full path, includes' too (path() "<int:pk>" and re_path()
        "(?P<pk>...)" alike)."""
        return tuple(re.findall(r"<(?:\w+:)?(\w+)>", self.path))

    @property
    def is_reviewer_page(self) -> bool:
        """The regulator's pages: the reviews app, and other apps' pages under /reviews/."""
        return self.namespace == "reviews" or self.path.startswith("reviews/")

    @property
    def pk_segment(self) -> str:
        match = re.search(r"([\w-]+)/(?:\(\?P)?<(?:\w+:)?pk>", self.path)
        return match.group(1) if match else ""


def _skipped(resolver: URLResolver) -> bool:
    # include("dotted.path") hands the resolver the imported module.
    module = getattr(resolver.urlconf_name, "__name__", resolver.urlconf_name)
    return resolver.app_name in SKIPPED_INCLUDES or module in SKIPPED_INCLUDES


def routes(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URL pattern, through every include, with its full path and namespaced name."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if _skipped(entry):
                continue
            inner = entry.namespace or ""
            yield from routes(
                entry.url_patterns,
                prefix + str(entry.pattern),
                f"{namespace}:{inner}".strip(":") if inner else namespace,
            )
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name or ""
            if entry.name in SKIPPED_NAMES and not namespace:
                continue
            yield Route(name=name, path=prefix + str(entry.pattern))


def unknown_parameters(route: Route) -> list[str]:
    problems = []
    if not route.name:
        problems.append(f"{route.path!r} has no name, so it cannot be reversed: name it.")
    for parameter in route.parameters:
        if parameter == "pk":
            segment = route.pk_segment
            if segment not in PK_MODELS:
                problems.append(
                    f"{route.name} ({route.path}): add {segment!r} to PK_MODELS in "
                    "tests/security/sweep_routes.py, naming the model its pk is."
                )
        elif parameter not in PARAMETERS:
            problems.append(
                f"{route.name} ({route.path}): add {parameter!r} to PARAMETERS in "
                "tests/security/sweep_routes.py, with values from build_world."
            )
    return problems


def urls_for(route: Route, world: World) -> list[str]:
    """The URL filled with the world's records: every value of every parameter at least once
    (the lists are cycled side by side, not multiplied, to keep the sweep quick)."""
    names = route.parameters
    if not names:
        return [reverse(route.name)]
    columns = []
    for name in names:
        if name == "pk":
            columns.append(world.pks(PK_MODELS[route.pk_segment]))
        else:
            columns.append(PARAMETERS[name](world))
    longest = max(len(column) for column in columns)
    rows = zip(*(islice(cycle(column), longest) for column in columns), strict=True)
    return [reverse(route.name, kwargs=dict(zip(names, row, strict=True))) for row in rows]


def visits_for(route: Route, world: World) -> list[tuple[str, str]]:
    """(method, URL) to ask: each URL by GET and by an empty POST, and by GET under each of
    the route's QUERIES."""
    urls = urls_for(route, world)
    queries = QUERIES.get(route.name, lambda world: [])(world)
    return [(method, url) for url in urls for method in ("GET", "POST")] + [
        ("GET", f"{url}?{query}") for url in urls for query in queries
    ]


def all_routes() -> list[Route]:
    return sorted(routes(), key=lambda route: route.name)
