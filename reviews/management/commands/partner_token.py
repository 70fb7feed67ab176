import hashlib
import secrets

from django.core.management.base import BaseCommand, CommandError

from reviews.models import PartnerRegulator


class Command(BaseCommand):
    help = (
        "Issue a new inbound API token for a partner regulator (replacing the old one) and, "
        "with --signing-secret, a new webhook signing secret. Each is printed once: Airlock "
        "keeps only the token's SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("partner", help="The partner regulator's name, as in the admin.")
        parser.add_argument(
            "--signing-secret",
            action="store_true",
            help="Also generate a new secret for signing the webhooks we send them.",
        )

    def handle(self, *args, partner: str, signing_secret: bool, **options):
        regulator = PartnerRegulator.objects.filter(name=partner).first()
        if regulator is None:
            raise CommandError(f"No partner regulator is called {partner!r}; add it in the admin.")
        token = secrets.token_urlsafe(32)
        regulator.inbound_token_sha256 = hashlib.sha256(token.encode()).hexdigest()
        fields = ["inbound_token_sha256"]
        if signing_secret:
            regulator.signing_secret = secrets.token_hex(32)
            fields.append("signing_secret")
        regulator.save(update_fields=fields)
        self.stdout.write(f"Inbound token for {regulator} (send it to them securely): {token}")
        if signing_secret:
            self.stdout.write(f"Webhook signing secret: {regulator.signing_secret}")
