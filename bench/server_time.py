"""Server time per page, in process: Django's test client against the benchmark database with
DEBUG off, so the time is Django's own (middleware, view, queries, templates) with no HTTP or
network in it.

    .venv/bin/python bench/server_time.py [--repeat 200]

Each page is requested `--warmup` times first (connections, template cache, the queue's
cached counts and HTML), then `--repeat` times timed, spread over `--rounds` rounds that take
the pages in turn. Pages marked "after a change" touch an application before every request,
as any transition would, so the queue counts and draws its rows again; "nothing cached" empties
the whole cache first. The query count comes from one more request under
CaptureQueriesContext, which is not timed.
"""

import argparse
import time
from dataclasses import dataclass

from benchlib import (
    ADMIN,
    CASE_REFERENCE,
    LEAD,
    MAKER,
    TEAM,
    Writer,
    database_url,
    ensure_team,
    setup_django,
    summary_ms,
    write_result,
)

REFERENCE = "AIA-2025-012345"


@dataclass(frozen=True)
class Page:
    name: str
    url: str
    user: str
    # What happens before each timed request: "" nothing; "change" an application is touched,
    # as any transition or assignment would, so the queue's counts and rows are stale and
    # drawn again (its menus stay cached); "clear" the whole cache is emptied, the worst case;
    # "write" the team's writer changes a random application if 100 ms have passed since
    # its last change (benchlib.Writer).
    before: str = ""


TEAM_USER = "team"


class TeamClient:
    """The ten reviewers of benchlib.TEAM, each signed in, taking turns request by request."""

    def __init__(self, clients: list):
        self.clients = clients
        self.turn = 0

    def get(self, url: str):
        self.turn = (self.turn + 1) % len(self.clients)
        return self.clients[self.turn].get(url)


def pages(case_pk: int) -> list[Page]:
    queue = "/reviews/queue/"
    admin = "/admin/devices/application/"
    return [
        Page("queue", queue, LEAD),
        Page("queue, after an application changed", queue, LEAD, before="change"),
        Page("queue, nothing cached", queue, LEAD, before="clear"),
        Page("queue, ten reviewers, a change every 100 ms", queue, TEAM_USER, before="write"),
        Page("queue, ten reviewers, warm", queue, TEAM_USER),
        Page("queue, ten reviewers, nothing cached", queue, TEAM_USER, before="clear"),
        Page("queue, 50 a page", f"{queue}?per_page=50", LEAD),
        Page("queue, 100 a page", f"{queue}?per_page=100", LEAD),
        Page("queue, page 100", f"{queue}?page=100", LEAD),
        Page("queue, state screening", f"{queue}?state=screening", LEAD),
        Page("queue, clock breached", f"{queue}?clock=breached", LEAD),
        Page("queue, search by reference", f"{queue}?q={REFERENCE}", LEAD),
        Page(
            "queue, search by reference, after a change",
            f"{queue}?q={REFERENCE}",
            LEAD,
            before="change",
        ),
        Page(
            "queue, search for a device name, after a change",
            f"{queue}?q=model+2",
            LEAD,
            before="change",
        ),
        Page("review page", f"/reviews/applications/{case_pk}/", LEAD),
        Page("manufacturer case page", f"/applications/{case_pk}/", MAKER),
        Page("admin changelist", admin, ADMIN),
        Page("admin changelist, a change every 100 ms", admin, ADMIN, before="write"),
        Page("admin changelist, state screening", f"{admin}?state__exact=screening", ADMIN),
        Page("admin changelist, search by reference", f"{admin}?q={REFERENCE}", ADMIN),
    ]


def prepare(page: Page, writer: Writer) -> None:
    from django.core.cache import cache
    from django.utils import timezone

    from devices.models import Application

    if page.before == "write":
        writer.tick()
    elif page.before == "change":
        Application.objects.filter(reference=REFERENCE).update(updated_at=timezone.now())
    elif page.before == "clear":
        cache.clear()


def measure(
    pages: list[Page], clients: dict, writer: Writer, *, warmup: int, repeat: int, rounds: int
) -> dict:
    """Time every page `repeat` times, in `rounds` interleaved rounds, so anything else the
    machine does meanwhile weighs on every page alike rather than on whichever ran then."""

    samples: dict[str, list[float]] = {page.name: [] for page in pages}
    for page in pages:
        for _ in range(warmup):
            response = clients[page.user].get(page.url)
            if response.status_code != 200:
                raise SystemExit(f"{page.name}: {page.url} answered {response.status_code}")
    for _ in range(rounds):
        for page in pages:
            client = clients[page.user]
            # The page before may have emptied the cache or changed the data: refill, untimed.
            client.get(page.url)
            for _ in range(repeat // rounds):
                prepare(page, writer)
                started = time.perf_counter()
                client.get(page.url)
                samples[page.name].append(time.perf_counter() - started)
    return samples


def queries_and_size(page: Page, client, writer: Writer) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(page.url)
    if page.before == "write":
        # The count when the writer has just changed a case, the most this page costs.
        writer.last = 0.0
    prepare(page, writer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.url)
    return len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", nargs="*", help="measure only the pages so named")
    parser.add_argument("--name", default="server_time", help="the results file's name")
    args = parser.parse_args()
    url = database_url()
    setup_django(url)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from airlock.models import User
    from devices.models import Application

    case_pk = Application.objects.get(reference=CASE_REFERENCE).pk
    clients = {}
    for email in (LEAD, ADMIN, MAKER, *ensure_team()):
        clients[email] = Client()
        clients[email].force_login(User.objects.get(email=email))
    clients[TEAM_USER] = TeamClient([clients[email] for email in TEAM])
    writer = Writer(url)
    all_pages = [page for page in pages(case_pk) if not args.only or page.name in args.only]
    samples = measure(
        all_pages, clients, writer, warmup=args.warmup, repeat=args.repeat, rounds=args.rounds
    )
    results = []
    print(f"{'page':42} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} {'queries':>8}")
    for page in all_pages:
        queries, size = queries_and_size(page, clients[page.user], writer)
        result = {
            "name": page.name,
            "url": page.url,
            "user": page.user,
            "before": page.before or "nothing",
            **summary_ms(samples[page.name]),
            "queries": queries,
            "bytes": size,
            "repeat": len(samples[page.name]),
        }
        results.append(result)
        print(
            f"{page.name:42} {result['p50_ms']:8.1f} {result['p95_ms']:8.1f} "
            f"{result['rps']:7.0f} {result['queries']:8d}"
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    applications = Application.objects.count()
    path = write_result(
        args.name,
        {
            "rounds": args.rounds,
            "writes": writer.writes,
            "postgresql": server,
            "cache": settings.CACHES["default"]["BACKEND"],
            "applications": applications,
            "pages": results,
        },
    )
    print(f"{args.name}: {applications} applications; written to {path}")


if __name__ == "__main__":
    main()
