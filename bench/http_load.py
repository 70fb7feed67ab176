"""Requests per second over HTTP: gunicorn (sync workers) on the benchmark database, loaded by
wrk over loopback, for a bare health check, the review queue and the admin changelist.

    .venv/bin/python bench/http_load.py [--workers 3] [--connections 6] [--duration 15]

Needs wrk (Debian: apt-get install -y wrk). Traffic goes to 127.0.0.1 only; each target is
loaded for --duration seconds in all (plus a 2-second warm-up that is not counted), in
--rounds slices taken in turn with the other targets. The signed-in
pages use a session made for the demo lead reviewer and administrator; each target is checked
to answer 200 with the expected page before it is loaded, so a redirect to the sign-in page
cannot pass for a fast answer.
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

from benchlib import (
    ADMIN,
    LEAD,
    ROOT,
    TEAM,
    Writer,
    bench_environ,
    database_url,
    ensure_team,
    setup_django,
    write_result,
)

WARMUP_SECONDS = 2
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    user: str
    # Text the right page contains: a sign-in page or an error must not be measured.
    expect: str
    # The team's writer changes one application every 100 ms while this target is loaded.
    writer: bool = False


# The ten reviewers of benchlib.TEAM, a session each, taken in turn request by request.
TEAM_USER = "team"
# wrk runs this in each of its threads: every request carries the next reviewer's cookie.
TEAM_SCRIPT = """
local cookies = {%s}
local turn = 0
request = function()
  turn = turn %% #cookies + 1
  wrk.headers["Cookie"] = cookies[turn]
  return wrk.format(nil)
end
"""


TARGETS = [
    Target("healthz", "/healthz/", "", '"database": "ok"'),
    Target("queue", "/reviews/queue/", LEAD, "Review queue"),
    Target("queue, 50 a page", "/reviews/queue/?per_page=50", LEAD, "Review queue"),
    Target("admin changelist", "/admin/devices/application/", ADMIN, "Select application"),
    Target(
        "queue, ten reviewers, a change every 100 ms",
        "/reviews/queue/",
        TEAM_USER,
        "Review queue",
        writer=True,
    ),
    Target(
        "admin changelist, a change every 100 ms",
        "/admin/devices/application/",
        ADMIN,
        "Select application",
        writer=True,
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_cookies() -> dict[str, str]:
    """A signed-in session per user, stored in the benchmark database like any other."""
    from django.conf import settings
    from django.test import Client

    from airlock.models import User

    cookies = {}
    for email in (LEAD, ADMIN, *ensure_team()):
        client = Client()
        client.force_login(User.objects.get(email=email))
        cookies[email] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return cookies


def get(port: int, path: str, cookie: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn stopped while starting; see its output above.")
        try:
            get(port, "/healthz/", "")
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on 127.0.0.1:{port} within {seconds:.0f} s.")


def milliseconds(text: str) -> float:
    # Stripped too: wrk pads a figure in seconds with a trailing space ("1.04s ").
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    number, unit = match.groups()
    return round(float(number) * UNITS[unit], 2)


def parse_wrk(output: str) -> dict:
    """Requests per second, latency percentiles and failures from one wrk --latency run."""
    # wrk pads a figure in seconds with a trailing space ("99%    1.08s ").
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(total.group(1)),
        **{f"p{key}_ms": milliseconds(value) for key, value in percentiles.items()},
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        # Read errors are sync workers closing each connection after answering; wrk counts
        # them when it had already sent the next request on that connection.
        "socket_errors": dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
    }


def combine(rounds: list[dict]) -> dict:
    """The median of each figure over the rounds; failures and requests are summed."""
    figures = {
        key: round(statistics.median(r[key] for r in rounds), 2)
        for key in rounds[0]
        if key.endswith("_ms") or key == "rps"
    }
    errors = {
        kind: sum(r["socket_errors"].get(kind, 0) for r in rounds)
        for kind in ("connect", "read", "write", "timeout")
    }
    return {
        **figures,
        "requests": sum(r["requests"] for r in rounds),
        "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in rounds),
        "socket_errors": errors,
    }


def address(port: int, target: Target) -> str:
    return f"http://127.0.0.1:{port}{target.path}"


def wrk(
    url: str,
    cookie: str,
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
    script: str | None = None,
) -> str:
    # wrk gives each thread connections // threads connections.
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    elif cookie:
        command += ["-H", f"Cookie: {cookie}"]
    return subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=6)
    parser.add_argument("--duration", type=int, default=15, help="seconds per target")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("http_load needs wrk: apt-get install -y wrk")
    url = database_url()
    setup_django(url)
    from django.conf import settings

    cookies = {
        email: f"{settings.SESSION_COOKIE_NAME}={value}"
        for email, value in session_cookies().items()
    }
    team_script = ROOT / "var" / "bench" / "team.lua"
    team_script.parent.mkdir(parents=True, exist_ok=True)
    team_script.write_text(TEAM_SCRIPT % ", ".join(f'"{cookies[email]}"' for email in TEAM))
    cookies[TEAM_USER] = cookies[TEAM[0]]
    writer = Writer(url)
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "airlock.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**bench_environ(url), "PYTHONPATH": str(ROOT)},
    )
    results = []
    try:
        wait_until_up(port, server)
        rounds: dict[str, list[dict]] = {target.name: [] for target in TARGETS}
        for target in TARGETS:
            cookie = cookies.get(target.user, "")
            status, body = get(port, target.path, cookie)
            if status != 200 or target.expect not in body:
                raise SystemExit(f"{target.name}: {target.path} answered {status}, not the page.")
            wrk(
                address(port, target),
                cookie,
                connections=args.connections,
                seconds=WARMUP_SECONDS,
                script=str(team_script) if target.user == TEAM_USER else None,
            )
        # The targets take turns, a slice of the duration each per round, so a burst of other
        # work on the machine slows every target alike; the medians of the rounds are reported.
        for _ in range(args.rounds):
            for target in TARGETS:
                stop = threading.Event()
                if target.writer:
                    threading.Thread(target=writer.run, args=(stop,), daemon=True).start()
                try:
                    output = wrk(
                        address(port, target),
                        cookies.get(target.user, ""),
                        connections=args.connections,
                        seconds=args.duration // args.rounds,
                        script=str(team_script) if target.user == TEAM_USER else None,
                    )
                finally:
                    stop.set()
                rounds[target.name].append(parse_wrk(output))
        print(f"{'target':44} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
        for target in TARGETS:
            result = {"name": target.name, "path": target.path, **combine(rounds[target.name])}
            if result["non_2xx_3xx"]:
                raise SystemExit(f"{target.name}: {result['non_2xx_3xx']} failed responses.")
            results.append(result)
            print(
                f"{target.name:44} {result['rps']:8.0f} {result['p50_ms']:8.1f} "
                f"{result['p90_ms']:8.1f} {result['p99_ms']:8.1f}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    path = write_result(
        "http_load",
        {
            "server": f"gunicorn, {args.workers} sync workers",
            "load_generator": f"wrk, 2 threads, {args.connections} connections",
            "duration_seconds": args.duration,
            "rounds": args.rounds,
            "writes": writer.writes,
            "cache": settings.CACHES["default"]["BACKEND"],
            "targets": results,
        },
    )
    print(f"http_load: written to {path}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
