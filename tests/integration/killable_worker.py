"""A real Celery worker for tests/integration/test_worker_killed.py, run as a process of its own.

The first email any task tries to send hangs instead, inside the task's transaction, after
writing the pool process's id to $AIRLOCK_HANG_FILE: the test kills that process there. Every
later email is sent (to Django's in-memory outbox, which dies with the process) and recorded as
a line in $AIRLOCK_SENT_LOG, so the test can count what reached anyone.

Usage: python -m tests.integration.killable_worker QUEUE
"""

import os
import sys
import time


def main(queue: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airlock.settings")
    import django

    django.setup()
    import reviews.monitoring.checkpoint_emails
    from airlock.celery import app

    send = reviews.monitoring.checkpoint_emails.send_templated
    hang_file, sent_log = os.environ["AIRLOCK_HANG_FILE"], os.environ["AIRLOCK_SENT_LOG"]

    def send_or_hang(name: str, context: dict, recipients: list[str]) -> int:
        try:
            # O_EXCL: exactly one send, in whichever process gets here first, ever hangs.
            marker = os.open(hang_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            sent = send(name, context, recipients)
            with open(sent_log, "a") as log:
                log.write(f"{os.getpid()} {name} {','.join(sorted(recipients))}\n")
            return sent
        os.write(marker, str(os.getpid()).encode())
        os.close(marker)
        time.sleep(600)
        raise AssertionError("the test should have killed this process")

    # Patched before the pool forks, so every pool process inherits it.
    reviews.monitoring.checkpoint_emails.send_templated = send_or_hang
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            f"--queues={queue}",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1])
