import os
import sys

import redis
from django.conf import settings
from django.core.management.base import BaseCommand
from honcho.manager import Manager

from airlock.management.commands.seed_demo import demo_logins_text

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _redis_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together (development)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        env = os.environ.copy()
        if "REDIS_URL" not in env and "CELERY_BROKER_URL" not in env:
            if _redis_reachable(LOCAL_REDIS):
                env["REDIS_URL"] = LOCAL_REDIS
                self.stdout.write(f"Using Redis at {LOCAL_REDIS} for the Celery broker and cache.")
            else:
                self.stdout.write(
                    "Redis is not reachable at 127.0.0.1:6379: Celery falls back to the "
                    "filesystem broker in var/broker, which needs no server."
                )
        python = sys.executable
        celery = f"{python} -m celery -A airlock"
        manager = Manager()
        manager.add_process("web", f"{python} manage.py runserver {addrport}", env=env)
        # One worker for every queue; in production each kind of work gets its own workers
        # (docs/DEPLOYMENT.md).
        queues = ",".join(settings.CELERY_TASK_QUEUES)
        manager.add_process(
            "worker", f"{celery} worker --loglevel=INFO --concurrency=2 -Q {queues}", env=env
        )
        manager.add_process("beat", f"{celery} beat --loglevel=INFO", env=env)
        self.stdout.write(f"Airlock is starting at http://{addrport}/ (Ctrl-C stops everything).")
        self.stdout.write(demo_logins_text())
        manager.loop()
        sys.exit(manager.returncode)
