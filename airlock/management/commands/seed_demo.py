from django.core.management.base import BaseCommand

from airlock.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo


def demo_logins_text() -> str:
    lines = [f"Demo logins (password {DEMO_PASSWORD}):"]
    for demo in DEMO_USERS:
        where = f", {demo.organisation}" if demo.organisation else ""
        lines.append(f"  {demo.email:<24} {demo.role.label}{where}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load the demo organisations and logins. Safe to run again: nothing is duplicated."

    def handle(self, *args, **options):
        seed_demo()
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        if options["verbosity"] > 1:
            self.stdout.write(demo_logins_text())
