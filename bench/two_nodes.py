"""Benchmark: the review queue served by one web node and by two, sharing one Redis.

    BENCH_REDIS_URL=redis://127.0.0.1:6379/15 .venv/bin/python bench/two_nodes.py

On the 100k-application benchmark database (bench/seed.py), with the cache in Redis (which
every node must share: the queue's page cache and its version live there), wrk loads the lead
reviewer's queue page:

- one node: gunicorn with 3 sync workers, 6 connections;
- one node, 6 workers: as many processes as two nodes, on one port;
- two nodes: two gunicorns with 3 workers each, on two ports, 3 connections each at once
  (what a load balancer in front of them would do); their requests per second are summed.

Every node is first checked to answer the real queue page. All of it runs on this machine, so
two nodes share its cores: the figure shows what spreading over nodes costs (the shared cache,
sessions in the database), not what a second machine would add.
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
from contextlib import ExitStack

from benchlib import LEAD, ROOT, bench_environ, database_url, setup_django, write_result
from http_load import combine, free_port, get, parse_wrk, session_cookies, wait_until_up, wrk

QUEUE = "/reviews/queue/"
WARMUP_SECONDS = 2


def start_node(url: str, redis_url: str, workers: int) -> tuple[int, subprocess.Popen]:
    port = free_port()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "airlock.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env={**bench_environ(url), "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)},
    )
    wait_until_up(port, server)
    return port, server


def load(ports: list[int], cookie: str, connections: int, seconds: int) -> list[dict]:
    """wrk against every port at once, `connections` each; one parsed result per port. Two
    load-generating threads in all, as for one node, so the load itself costs the same."""
    outputs: list[str] = [""] * len(ports)
    per_node_threads = max(1, 2 // len(ports))

    def run(index: int, port: int) -> None:
        outputs[index] = wrk(
            f"http://127.0.0.1:{port}{QUEUE}",
            cookie,
            connections=connections,
            seconds=seconds,
            threads=per_node_threads,
        )

    runners = [threading.Thread(target=run, args=pair) for pair in enumerate(ports)]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()
    return [parse_wrk(output) for output in outputs]


def scenario(name, url, redis_url, cookie, *, nodes, workers, connections, duration, rounds):
    with ExitStack() as stack:
        ports = []
        for _ in range(nodes):
            port, server = start_node(url, redis_url, workers)
            stack.callback(lambda server=server: (server.terminate(), server.wait(timeout=30)))
            ports.append(port)
        for port in ports:
            status, body = get(port, QUEUE, cookie)
            if status != 200 or "Review queue" not in body:
                raise SystemExit(f"node on {port} answered {status}, not the queue.")
        load(ports, cookie, connections, WARMUP_SECONDS)
        per_node: list[list[dict]] = [[] for _ in ports]
        totals = []
        for _ in range(rounds):
            results = load(ports, cookie, connections, duration // rounds)
            for index, result in enumerate(results):
                per_node[index].append(result)
            totals.append(sum(result["rps"] for result in results))
    nodes_combined = [combine(rounds_of_node) for rounds_of_node in per_node]
    failed = sum(node["non_2xx_3xx"] for node in nodes_combined)
    if failed:
        raise SystemExit(f"{name}: {failed} failed responses.")
    return {
        "name": name,
        "nodes": nodes,
        "workers_per_node": workers,
        "connections_per_node": connections,
        "rps": round(statistics.median(totals), 1),
        "p50_ms": max(node["p50_ms"] for node in nodes_combined),
        "p90_ms": max(node["p90_ms"] for node in nodes_combined),
        "p99_ms": max(node["p99_ms"] for node in nodes_combined),
        "per_node": nodes_combined,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("two_nodes needs a Redis the nodes share: set BENCH_REDIS_URL (or REDIS_URL).")
    url = database_url()
    os.environ["REDIS_URL"] = redis_url
    setup_django(url)
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={session_cookies()[LEAD]}"
    common = {"duration": args.duration, "rounds": args.rounds}
    results = [
        scenario("one node", url, redis_url, cookie, nodes=1, workers=3, connections=6, **common),
        scenario(
            "one node, 6 workers",
            url,
            redis_url,
            cookie,
            nodes=1,
            workers=6,
            connections=6,
            **common,
        ),
        scenario("two nodes", url, redis_url, cookie, nodes=2, workers=3, connections=3, **common),
    ]
    print(f"{'scenario':22} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}")
    for result in results:
        print(
            f"{result['name']:22} {result['rps']:8.0f} {result['p50_ms']:8.1f} "
            f"{result['p90_ms']:8.1f} {result['p99_ms']:8.1f}"
        )
    path = write_result(
        "two_nodes",
        {
            "target": f"{QUEUE} as the lead reviewer (25 a page)",
            "cache": "Redis, shared by every node",
            "load_generator": "wrk, 2 threads and 6 connections in all",
            "duration_seconds": args.duration,
            "rounds": args.rounds,
            "scenarios": results,
        },
    )
    print(f"two_nodes: written to {path}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
