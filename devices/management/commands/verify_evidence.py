from django.core.management.base import BaseCommand, CommandError

from airlock import storage
from devices.evidence_store import evidence_verify


class Command(BaseCommand):
    help = (
        "Read every stored evidence file (every version) and check it against the SHA-256 "
        "recorded at upload. Lists each file missing or changed; fails if there is any."
    )

    def handle(self, *args, **options):
        try:
            checked, findings = evidence_verify()
        except storage.StoreUnavailable as error:
            raise CommandError(f"The file store is not answering: {error}") from None
        for finding in findings:
            self.stderr.write(str(finding))
        summary = f"Checked {checked} evidence files: {checked - len(findings)} intact"
        missing = sum(finding.problem == "missing" for finding in findings)
        changed = len(findings) - missing
        if findings:
            raise CommandError(f"{summary}, {missing} missing, {changed} changed.")
        self.stdout.write(self.style.SUCCESS(f"{summary}."))
