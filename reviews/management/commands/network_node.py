import hashlib
import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from airlock.demo import DEMO_USERS, seed_demo
from airlock.models import User
from devices.models import Application, ApplicationState
from reviews.models import PartnerRegulator
from reviews.network import keys, signing


class Command(BaseCommand):
    help = (
        "Make this Airlock a node of a network of two, for the two-node test and `make "
        "network`: load the demo data and register the other node as a partner with the "
        "secret and tokens given. Safe to run again. Prints what the other side needs, as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner-name", required=True)
        parser.add_argument("--partner-country", default="Elsewhere")
        parser.add_argument("--partner-inbox", required=True, help="The partner's inbox URL.")
        parser.add_argument(
            "--secret", action="append", default=[], help="A whsec_ secret shared with them."
        )
        parser.add_argument(
            "--their-token", required=True, help="The token they send us (its hash is kept)."
        )
        parser.add_argument("--our-token", required=True, help="The token we send them.")
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo data.")

    @transaction.atomic
    def handle(self, *args, **options):
        for value in options["secret"]:
            if not signing.is_valid_secret(value):
                raise CommandError(f"Not a whsec_ secret: {value[:10]}…")
        if not options["no_demo"]:
            seed_demo()
        partner, _ = PartnerRegulator.objects.update_or_create(
            name=options["partner_name"],
            defaults={
                "country": options["partner_country"],
                "webhook_url": options["partner_inbox"],
                "outbound_token": options["our_token"],
                "inbound_token_sha256": hashlib.sha256(options["their_token"].encode()).hexdigest(),
                "is_active": True,
            },
        )
        try:
            partner.full_clean()
        except ValidationError as exc:
            raise CommandError(f"The partner's inbox is refused: {exc}") from None
        for value in options["secret"]:
            if not partner.secrets.filter(secret=value).exists():
                keys.secret_add(actor=None, partner_id=partner.pk, value=value)
        maker = User.objects.get(email=DEMO_USERS[0].email)
        testing = (
            Application.objects.filter(
                organisation=maker.membership.organisation,
                state=ApplicationState.IN_CONTROLLED_TESTING,
            )
            .order_by("pk")
            .first()
        )
        self.stdout.write(
            json.dumps(
                {
                    "partner_id": partner.pk,
                    "manufacturer_token": Token.objects.get_or_create(user=maker)[0].key,
                    "case": testing.reference if testing else None,
                }
            )
        )
