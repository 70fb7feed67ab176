from django.apps import AppConfig


class PostclearanceConfig(AppConfig):
    name = "postclearance"
    verbose_name = "Post-clearance monitoring"
