import hashlib
import secrets

from django.core.management.base import BaseCommand, CommandError

from reviews.models import PartnerRegulator
from reviews.network import keys


class Command(BaseCommand):
    help = (
        "Issue a new inbound API token for a partner regulator (replacing the old one) and, "
        "with --signing-secret, a new signing secret (a rotation: older secrets keep working "
        "for PARTNER_SECRET_OVERLAP_HOURS). Each is printed once: Airlock keeps only the "
        "token's SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("partner", help="The partner regulator's name, as in the admin.")
        parser.add_argument(
            "--signing-secret",
            action="store_true",
            help="Also issue a new secret for signing the messages between us (audited).",
        )

    def handle(self, *args, partner: str, signing_secret: bool, **options):
        regulator = PartnerRegulator.objects.filter(name=partner).first()
        if regulator is None:
            raise CommandError(f"No partner regulator is called {partner!r}; add it in the admin.")
        token = secrets.token_urlsafe(32)
        regulator.inbound_token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        regulator.save(update_fields=["inbound_token_sha256"])
        self.stdout.write(f"Inbound token for {regulator} (send it to them securely): {token}")
        if signing_secret:
            secret = keys.secret_rotate(actor=None, partner_id=regulator.pk)
            self.stdout.write(f"Signing secret: {secret.secret}")
