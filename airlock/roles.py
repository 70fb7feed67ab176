"""Roles are Django groups; what a role may do is the permission list below.

The groups are created (and their permissions reset to this list) after every
migrate, so the database never drifts from the code.
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import models


class Role(models.TextChoices):
    MANUFACTURER = "manufacturer", "Manufacturer"
    REVIEWER = "reviewer", "Reviewer"
    LEAD_REVIEWER = "lead_reviewer", "Lead reviewer"
    ADMINISTRATOR = "administrator", "Administrator"
    OBSERVER = "observer", "Observer"


# Administrators are superusers, so they need no group.
GROUP_ROLES = (Role.LEAD_REVIEWER, Role.REVIEWER, Role.MANUFACTURER, Role.OBSERVER)

_MANUFACTURER = [
    "devices.view_organisation",
    "devices.act_for_organisation",
]
_REVIEWER = [
    "devices.view_organisation",
    "airlock.access_review_workspace",
]
# NHS organisations and partner bodies: the cases granted to them, read-only (observers/).
_OBSERVER = ["observers.observe"]
_LEAD_REVIEWER = [
    *_REVIEWER,
    "airlock.lead_review",
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.MANUFACTURER: _MANUFACTURER,
    Role.REVIEWER: _REVIEWER,
    Role.LEAD_REVIEWER: _LEAD_REVIEWER,
    Role.OBSERVER: _OBSERVER,
}


def group_for(role: Role) -> Group:
    return Group.objects.get(name=role.label)


def sync_role_groups(**_kwargs) -> None:
    # post_migrate fires app by app; make sure every app's permissions exist
    # before we look them up, whichever app's signal we are running under.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.label)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
