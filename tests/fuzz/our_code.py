"""Every module of the project's own apps, imported, so a test can check each class defined in
them (formsets, forms' fields) rather than only those a page happens to render."""

import importlib
import pkgutil
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def our_apps() -> set[str]:
    """The project's own apps: those in INSTALLED_APPS with a folder at the top of the repo."""
    return {app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()}


def import_our_modules() -> set[str]:
    apps = our_apps()
    for package in sorted(apps):
        for module in pkgutil.walk_packages(
            importlib.import_module(package).__path__, f"{package}."
        ):
            if ".migrations" not in module.name and not module.name.endswith("tests"):
                importlib.import_module(module.name)
    return apps


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)
