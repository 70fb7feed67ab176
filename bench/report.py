"""Summarise bench/results/*.json against the targets in DESIGN.md, as Markdown tables (the
figures docs/PERFORMANCE.md quotes).

    .venv/bin/python bench/report.py
"""

import json
import sys

from benchlib import RESULTS

QUEUE_SPEEDUP_TARGET = 10
QUEUE_P50_TARGET_MS = 30
# DESIGN.md: the queue against the admin changelist, side by side, ten reviewers at 100k.
TEAM_WRITING_TARGET = 5
TEAM_COLD_TARGET = 3
TEAM_WARM_TARGET = 20
SWEEP_DAILY_TARGET_SECONDS = 5
SWEEP_CATCH_UP_TARGET_SECONDS = 20


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def server_time(data: dict) -> list[str]:
    pages = {page["name"]: page for page in data["pages"]}
    machine = data["machine"]
    lines = [
        f"## Server time, in process ({data['applications']:,} applications, "
        f"PostgreSQL {data['postgresql']}, {machine['cores']} cores, "
        f"load average {machine['load_average'][0]} at the end)",
        "",
        "| page | p50 ms | p95 ms | req/s (one client) | queries |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {p['name']} | {p['p50_ms']} | {p['p95_ms']} | {p['rps']:.0f} | {p['queries']} |"
        for p in data["pages"]
    ]
    queue, admin = pages["queue"], pages["admin changelist"]
    changed = pages["queue, after an application changed"]
    sizes = {pages[name]["queries"] for name in ("queue", "queue, 50 a page", "queue, 100 a page")}
    lines += [
        "",
        f"- Queue vs admin changelist, p50: {admin['p50_ms'] / queue['p50_ms']:.1f}x faster "
        f"({queue['p50_ms']} ms vs {admin['p50_ms']} ms); just after an application changed "
        f"{admin['p50_ms'] / changed['p50_ms']:.1f}x.",
        f"- Constant queries whatever the page size (25, 50, 100 a page: "
        f"{sorted(sizes)}): {verdict(len(sizes) == 1)}.",
        f"- Queue p50 under {QUEUE_P50_TARGET_MS} ms: {verdict(queue['p50_ms'] < 30)} "
        f"({queue['p50_ms']} ms; {changed['p50_ms']} ms just after a change, "
        f"{pages['queue, nothing cached']['p50_ms']} ms with nothing cached).",
        *team_ratios(pages),
        "",
    ]
    return lines


def team_ratios(pages: dict) -> list[str]:
    """The DESIGN.md targets: ten reviewers' queue against the admin changelist, p50."""
    admin = pages.get("admin changelist")
    scenarios = [
        (
            "with one change every 100 ms",
            "queue, ten reviewers, a change every 100 ms",
            "admin changelist, a change every 100 ms",
            TEAM_WRITING_TARGET,
        ),
        (
            "with nothing cached",
            "queue, ten reviewers, nothing cached",
            "admin changelist",
            TEAM_COLD_TARGET,
        ),
        ("warm", "queue, ten reviewers, warm", "admin changelist", TEAM_WARM_TARGET),
    ]
    lines = []
    for label, queue_name, admin_name, target in scenarios:
        queue, admin = pages.get(queue_name), pages.get(admin_name, admin)
        if queue is None or admin is None:
            continue
        ratio = admin["p50_ms"] / queue["p50_ms"]
        lines.append(
            f"- Ten reviewers {label}: {ratio:.1f}x the admin changelist "
            f"({queue['p50_ms']} vs {admin['p50_ms']} ms); target {target}x: "
            f"{verdict(ratio >= target)}."
        )
    return lines


FLAT_TARGET = 1.3


def server_time_1m(data: dict) -> list[str]:
    """The queue at 1M against the same pages at 100k (server_time.json): flat with size?"""
    small = load("server_time")
    lines = [
        f"## The queue at {data['applications']:,} applications "
        f"(load average {data['machine']['load_average'][0]} at the end)",
        "",
        "| page | p50 ms | p95 ms | queries | p50 at 100k | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    before = {p["name"]: p for p in small["pages"]} if small else {}
    for page in data["pages"]:
        at_100k = before.get(page["name"])
        ratio = f"{page['p50_ms'] / at_100k['p50_ms']:.2f}x" if at_100k else "—"
        lines.append(
            f"| {page['name']} | {page['p50_ms']} | {page['p95_ms']} | {page['queries']} | "
            f"{at_100k['p50_ms'] if at_100k else '—'} | {ratio} |"
        )
    cold = {p["name"]: p for p in data["pages"]}.get("queue, nothing cached")
    if cold and "queue, nothing cached" in before:
        ratio = cold["p50_ms"] / before["queue, nothing cached"]["p50_ms"]
        lines.append("")
        lines.append(
            f"- Uncached queue at 1M within {FLAT_TARGET}x of 100k: {verdict(ratio <= FLAT_TARGET)}"
            f" ({ratio:.2f}x; separate runs, so the machine's load weighs on it)."
        )
    return [*lines, ""]


def http_load(data: dict) -> list[str]:
    targets = {target["name"]: target for target in data["targets"]}
    lines = [
        f"## HTTP throughput ({data['server']}; {data['load_generator']}; "
        f"{data['duration_seconds']} s each, loopback)",
        "",
        "| target | req/s | p50 ms | p90 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {t['name']} | {t['rps']:.0f} | {t['p50_ms']} | {t['p90_ms']} | {t['p99_ms']} |"
        for t in data["targets"]
    ]
    ratio = targets["queue"]["rps"] / targets["admin changelist"]["rps"]
    same_size = targets["queue, 50 a page"]["rps"] / targets["admin changelist"]["rps"]
    lines += [
        "",
        f"- Queue throughput / admin changelist throughput: {ratio:.1f}x "
        f"({same_size:.1f}x at the admin's 50 rows a page); target "
        f"{QUEUE_SPEEDUP_TARGET}x: {verdict(ratio >= QUEUE_SPEEDUP_TARGET)}.",
    ]
    team = targets.get("queue, ten reviewers, a change every 100 ms")
    busy_admin = targets.get("admin changelist, a change every 100 ms")
    if team and busy_admin:
        ratio = team["rps"] / busy_admin["rps"]
        lines.append(
            f"- Ten reviewers with one change every 100 ms / the admin changelist under the "
            f"same writer: {ratio:.1f}x; target {TEAM_WRITING_TARGET}x: "
            f"{verdict(ratio >= TEAM_WRITING_TARGET)}."
        )
    return [*lines, ""]


def checkpoint_sweep(data: dict) -> list[str]:
    lines = [
        f"## Checkpoint sweep ({data['applications_in_testing']:,} applications in testing)",
        "",
        "| run | seconds | created | reminded | overdue | escalated | emails |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in data["runs"]:
        reminded = run["reminded_7_days"] + run["reminded_1_day"]
        lines.append(
            f"| {run['run']} | {run['seconds']} | {run['created']:,} | {reminded:,} | "
            f"{run['overdue']:,} | {run['escalated']:,} | {run['emails']:,} |"
        )
    runs = {run["run"]: run for run in data["runs"]}
    repeats = [runs["again"], runs["next day, again"]]
    idle = all(
        run["created"] == run["overdue"] == run["escalated"] == run["emails"] == 0
        and run["reminded_7_days"] == run["reminded_1_day"] == 0
        for run in repeats
    )
    lines += [
        "",
        f"- Daily run under {SWEEP_DAILY_TARGET_SECONDS} s: "
        f"{verdict(runs['next day']['seconds'] < SWEEP_DAILY_TARGET_SECONDS)} "
        f"({runs['next day']['seconds']} s).",
        f"- First run, catching up 20 weeks, under {SWEEP_CATCH_UP_TARGET_SECONDS} s: "
        f"{verdict(runs['catch-up']['seconds'] < SWEEP_CATCH_UP_TARGET_SECONDS)} "
        f"({runs['catch-up']['seconds']} s; peak memory "
        f"{runs['catch-up'].get('peak_rss_mb', '?')} MB).",
        f"- A second run the same day creates and sends nothing: {verdict(idle)}.",
        "",
    ]
    return lines


def evidence_storage(data: dict) -> list[str]:
    lines = [
        "## Evidence upload and download (" + data["method"] + ")",
        "",
        "| store | MB | operation | median ms | MB/s |",
        "|---|---:|---|---:|---:|",
    ]
    for result in data["results"]:
        for name, figures in result["operations"].items():
            lines.append(
                f"| {result['store']} | {result['size_mb']} | {name} | "
                f"{figures['median_ms']} | {figures['mb_per_s']} |"
            )
    return [*lines, ""]


def two_nodes(data: dict) -> list[str]:
    lines = [
        f"## The queue on one web node and on two ({data['target']}; {data['cache']}; "
        f"{data['duration_seconds']} s each)",
        "",
        "| scenario | nodes x workers | req/s | p50 ms | p90 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in data["scenarios"]:
        lines.append(
            f"| {s['name']} | {s['nodes']} x {s['workers_per_node']} | {s['rps']:.0f} | "
            f"{s['p50_ms']} | {s['p90_ms']} | {s['p99_ms']} |"
        )
    scenarios = {s["name"]: s for s in data["scenarios"]}
    ratio = scenarios["two nodes"]["rps"] / scenarios["one node, 6 workers"]["rps"]
    lines += [
        "",
        f"- Two nodes / one node with as many processes: {ratio:.2f}x (same machine, same cores).",
        "",
    ]
    return lines


def main() -> None:
    sections = {
        "server_time": server_time,
        "server_time_1m": server_time_1m,
        "http_load": http_load,
        "checkpoint_sweep": checkpoint_sweep,
        "evidence_storage": evidence_storage,
        "two_nodes": two_nodes,
    }
    found = False
    for name, section in sections.items():
        data = load(name)
        if data is None:
            print(f"(no {name} results: run bench/{name}.py)\n")
            continue
        found = True
        print("\n".join(section(data)))
    if not found:
        sys.exit("No results yet: run `make bench`.")


if __name__ == "__main__":
    main()
