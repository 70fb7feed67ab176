from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AirlockConfig(AppConfig):
    name = "airlock"
    verbose_name = "Airlock accounts"

    def ready(self) -> None:
        from airlock.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="airlock.sync_role_groups")
