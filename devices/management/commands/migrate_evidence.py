from django.core.management.base import BaseCommand, CommandError

from airlock import storage
from devices.evidence_store import evidence_migrate


class Command(BaseCommand):
    help = (
        "Copy evidence from the local disk (PRIVATE_STORAGE_ROOT) to the object store that "
        "STORAGE_URL names, verifying each file's SHA-256 on both sides. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", choices=["s3"], required=True, help="the store to copy to")

    def handle(self, *args, to: str, **options):
        target = storage.backend()
        if not storage.is_object_store(target):
            raise CommandError(
                "Evidence is stored on the local disk: set STORAGE_URL (or "
                "AWS_STORAGE_BUCKET_NAME) to the bucket to copy it to, then run this again."
            )
        try:
            result = evidence_migrate(source=storage.PrivateFileSystemStorage(), target=target)
        except storage.StoreUnavailable as error:
            raise CommandError(
                f"The object store stopped answering; run this again to carry on: {error}"
            ) from None
        for finding in result.problems:
            self.stderr.write(f"NOT COPIED, {finding}")
        summary = (
            f"Copied {result.copied} evidence files to {target.bucket_name}; "
            f"{result.already_there} were there already"
        )
        if result.problems:
            raise CommandError(
                f"{summary}; {len(result.problems)} could not be copied (listed above)."
            )
        self.stdout.write(self.style.SUCCESS(f"{summary}. Every copy matches its SHA-256."))
