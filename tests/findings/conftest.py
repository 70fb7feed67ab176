import importlib

import pytest
from django.apps import apps


@pytest.fixture(autouse=True)
def _challenge_areas(db):
    """Put back the areas migration 0002 seeds: a transactional test elsewhere empties the
    tables, those rows with them."""
    importlib.import_module("findings.migrations.0002_seed_challenge_areas").seed(apps, None)
