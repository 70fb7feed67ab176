from django.core.management.base import BaseCommand, CommandError

from ledger.verify import chain_verify


class Command(BaseCommand):
    help = (
        "Walk the hash chain over every audit row and report the first row that was changed, "
        "deleted or inserted out of order. Exits 1 when the chain does not hold."
    )

    def handle(self, *args, **options) -> None:
        report = chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken after {report.checked} good links: {report.problem}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain holds: {report.checked} links, head {report.head_hash}."
            )
        )
