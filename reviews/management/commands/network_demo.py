import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from honcho.manager import Manager

from airlock.demo import DEMO_PASSWORD
from reviews.network import signing

NODES = {"A": 8101, "B": 8102}


def node_env(name: str, folder: Path) -> dict[str, str]:
    """One node's own database, broker folder and files, and the loopback allowance that lets
    it reach the other (refused by production settings)."""
    port = NODES[name]
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    return env | {
        "DATABASE_URL": f"sqlite:///{folder / f'node-{name.lower()}.sqlite3'}",
        "CELERY_FILESYSTEM_DIR": str(folder / f"node-{name.lower()}-broker"),
        "PRIVATE_STORAGE_ROOT": str(folder / f"node-{name.lower()}-private"),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "NETWORK_ISSUER_NAME": f"Airlock {name}",
        "PARTNER_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
        "PARTNER_WEBHOOK_ALLOW_HTTP": "true",
        "AIRLOCK_REQUIRE_2FA": "false",
    }


def _shared(folder: Path) -> dict[str, str]:
    """The secret and tokens the two nodes share, kept so a second run changes nothing."""
    path = folder / "shared.json"
    if not path.exists():
        path.write_text(
            json.dumps(
                {
                    "secret": signing.new_secret(),
                    "token_a": secrets.token_urlsafe(24),
                    "token_b": secrets.token_urlsafe(24),
                }
            )
        )
    return json.loads(path.read_text())


class Command(BaseCommand):
    help = (
        "Start two Airlocks on this machine (ports 8101 and 8102), each with its own SQLite "
        "database and worker, registered as each other's partners (docs/NETWORK.md)."
    )

    def handle(self, *args, **options):
        folder = Path(settings.BASE_DIR) / "var" / "network"
        folder.mkdir(parents=True, exist_ok=True)
        shared = _shared(folder)
        python = sys.executable
        manager = Manager()
        for name, other in (("A", "B"), ("B", "A")):
            env = node_env(name, folder)
            self.stdout.write(f"Preparing node {name} (migrations, demo data, partner)…")
            subprocess.run([python, "manage.py", "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [
                    python,
                    "manage.py",
                    "network_node",
                    f"--partner-name=Airlock {other}",
                    f"--partner-inbox=http://127.0.0.1:{NODES[other]}/api/network/inbox/",
                    f"--secret={shared['secret']}",
                    f"--their-token={shared[f'token_{other.lower()}']}",
                    f"--our-token={shared[f'token_{name.lower()}']}",
                ],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            queues = ",".join(settings.CELERY_TASK_QUEUES)
            manager.add_process(
                f"web-{name}", f"{python} manage.py runserver 127.0.0.1:{NODES[name]}", env=env
            )
            manager.add_process(
                f"worker-{name}",
                f"{python} -m celery -A airlock worker --pool=solo -Q {queues} --loglevel=INFO "
                f"--hostname=node{name}@%h",
                env=env,
            )
        self.stdout.write(
            "Node A: http://127.0.0.1:8101/  Node B: http://127.0.0.1:8102/\n"
            f"Sign in on either as reviewer@demo.airlock (password {DEMO_PASSWORD}). Raise or "
            "share a safety signal on A; it arrives in B's 'Alerts from partner regulators', "
            "where a triage goes back to A's signal page. Ctrl-C stops both."
        )
        manager.loop()
        sys.exit(manager.returncode)
