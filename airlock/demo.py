"""Demo data for `make run`: the same logins every time, safe to load again and again."""

from dataclasses import dataclass

from django.db import transaction

from airlock.models import User
from airlock.roles import Role, group_for, sync_role_groups
from devices.models import Membership, Organisation

DEMO_PASSWORD = "airlock-demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role
    organisation: str = ""


DEMO_USERS = (
    DemoUser("maker@demo.airlock", "Maya Patel", Role.MANUFACTURER, "Demo Diagnostics Ltd"),
    DemoUser("other@demo.airlock", "Oliver Grant", Role.MANUFACTURER, "Northern Imaging AI Ltd"),
    DemoUser("reviewer@demo.airlock", "Rachel Evans", Role.REVIEWER),
    DemoUser("lead@demo.airlock", "Leo Okafor", Role.LEAD_REVIEWER),
    DemoUser("admin@demo.airlock", "Ada Hughes", Role.ADMINISTRATOR),
)


@transaction.atomic
def seed_demo() -> list[DemoUser]:
    sync_role_groups()
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            email=demo.email, defaults={"full_name": demo.full_name}
        )
        user.full_name = demo.full_name
        user.is_superuser = user.is_staff = demo.role == Role.ADMINISTRATOR
        user.set_password(DEMO_PASSWORD)
        user.save()
        if demo.role != Role.ADMINISTRATOR:
            user.groups.set([group_for(demo.role)])
        if demo.organisation:
            organisation, _ = Organisation.objects.get_or_create(name=demo.organisation)
            Membership.objects.update_or_create(
                user=user, defaults={"organisation": organisation, "is_owner": True}
            )
    return list(DEMO_USERS)
