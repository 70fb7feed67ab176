from django.core.management.base import BaseCommand

from airlock.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo, seed_scale
from airlock.demo_findings import seed_demo_findings
from airlock.demo_outputs import seed_demo_outputs
from ledger.signing import public_key_hex


def demo_logins_text() -> str:
    lines = [f"Demo logins (password {DEMO_PASSWORD}):"]
    for demo in DEMO_USERS:
        where = f", {demo.organisation}" if demo.organisation else ""
        lines.append(f"  {demo.email:<24} {demo.role.label}{where}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load the demo organisations and logins. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument(
            "--applications",
            type=int,
            default=0,
            metavar="N",
            help="Also make sure N synthetic applications exist, for benchmarks (e.g. 100000).",
        )

    def handle(self, *args, **options):
        seed_demo()
        bundle = seed_demo_outputs()
        seed_demo_findings()
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        if bundle:
            self.stdout.write(
                f"A cleared case's bundle: {bundle}\n  check it with: python3 "
                f"ledger/verify_bundle.py {bundle} --public-key {public_key_hex()}"
            )
        if options["applications"]:
            added = seed_scale(options["applications"])
            self.stdout.write(f"Scale data: {added} applications added.")
        if options["verbosity"] > 1:
            self.stdout.write(demo_logins_text())
