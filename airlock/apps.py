from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class AirlockConfig(AppConfig):
    name = "airlock"
    verbose_name = "Airlock accounts"

    def ready(self) -> None:
        # Connects the Celery signals that carry request ids and case references into tasks.
        import airlock.logs  # noqa: F401
        from airlock.middleware import start_session_clock
        from airlock.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="airlock.sync_role_groups")
        user_logged_in.connect(start_session_clock, dispatch_uid="airlock.start_session_clock")
