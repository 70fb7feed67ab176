"""Benchmark: what chaining costs an audit write, and how long verify_audit takes.

    .venv/bin/python bench/audit_chain.py [--rows 100000]

Recreates its own PostgreSQL database (BENCH_DATABASE_URL's name + "_chain") with one case,
then times:

- one transition's audit row written with and without its link (ApplicationEvent.save with
  the chain, and the same insert through bulk_create of one row, which skips it), 500 each;
- chaining rows in bulk (`ledger.chain.record_many`) as a set-based job would, per 1000 rows;
- ten writers appending at once (threads, each its own connection): appends per second while
  they queue on the chain head's row lock;
- `verify_audit` over the whole chain.
"""

import argparse
import os
import statistics
import threading
import time

from benchlib import ROOT, database_url, ensure_database, setup_django, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    url = database_url("_chain")
    ensure_database(url, fresh=True)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connections, transaction

    call_command("migrate", verbosity=0)
    from devices.models import ApplicationEvent
    from ledger.chain import record_many
    from ledger.verify import chain_verify
    from tests.factories import ApplicationFactory

    case = ApplicationFactory()

    def event(n, prefix: str = "") -> ApplicationEvent:
        return ApplicationEvent(
            application=case,
            transition="note",
            from_state="draft",
            to_state="draft",
            reason=f"{prefix}{n}",
        )

    def timed(fn, rounds: int = 500) -> float:
        samples = []
        for n in range(rounds):
            started = time.perf_counter()
            with transaction.atomic():
                fn(n)
            samples.append(time.perf_counter() - started)
        return round(statistics.median(samples) * 1000, 3)

    unchained_ms = timed(lambda n: ApplicationEvent.objects.bulk_create([event(n, "u")]))
    chained_ms = timed(lambda n: event(n).save())
    # The unchained rows would fail verification: chain them before the bulk figures.
    record_many(list(ApplicationEvent.objects.filter(reason__startswith="u").order_by("pk")))

    bulk = []
    remaining = args.rows - ApplicationEvent.objects.count()
    while remaining > 0:
        size = min(10_000, remaining)
        rows = ApplicationEvent.objects.bulk_create(
            [event(n) for n in range(size)], batch_size=1000
        )
        started = time.perf_counter()
        with transaction.atomic():
            record_many(rows)
        bulk.append((time.perf_counter() - started) / size * 1000)
        remaining -= size

    writers, each = 10, 50
    barrier = threading.Barrier(writers)

    def write() -> None:
        barrier.wait()
        for n in range(each):
            event(n).save()
        connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_per_s = round(writers * each / (time.perf_counter() - started))

    started = time.perf_counter()
    report = chain_verify()
    verify_s = round(time.perf_counter() - started, 2)
    assert report.ok, report.problem
    result = {
        "links": report.checked,
        "audit_write_unchained_median_ms": unchained_ms,
        "audit_write_chained_median_ms": chained_ms,
        "record_many_ms_per_1000_rows": round(statistics.median(bulk) * 1000, 1),
        "ten_writers_appends_per_s": concurrent_per_s,
        "verify_audit_s": verify_s,
    }
    for name, value in result.items():
        print(f"{name:36} {value}")
    print(f"audit_chain: written to {write_result('audit_chain', result)}")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
