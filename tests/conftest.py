import fcntl
import os

import pytest
from django.core.cache import cache

from airlock import breaker
from airlock.celery import app as celery_app
from airlock.roles import Role
from tests.factories import CallFactory, OrganisationFactory, UserFactory, make_manufacturer


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """`make mutate` runs a few tests thousands of times, each run in a new pytest session:
    migrating a new in-memory SQLite database every time would cost more than most mutants'
    tests. It sets MUTATE_TEST_DB to a file, which --reuse-db then keeps between sessions."""
    from django.conf import settings

    path = os.environ.get("MUTATE_TEST_DB")
    database = settings.DATABASES["default"]
    if path and database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = _free_test_db(os.path.abspath(path))


def _free_test_db(path):
    """One database file per mutmut process at a time: two mutants' tests writing to one SQLite
    file would wait on each other's locks and fail with "database is locked", a false kill. The
    process holds an flock on the file it picked until it exits; the next free one is taken."""
    base, extension = os.path.splitext(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for slot in range(16):
        candidate = f"{base}-{slot}{extension}"
        lock = open(f"{candidate}.lock", "w")  # noqa: SIM115 - held until the process exits
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held_locks.append(lock)
        return candidate
    raise RuntimeError(f"no free mutation test database beside {path}")


_held_locks = []


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashing costs ~0.3 s a user; the tests are about behaviour, not key stretching.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def organisation(db):
    # A call for applications is open, as in the demo: applications start only against one.
    CallFactory()
    return OrganisationFactory(name="Demo Diagnostics Ltd")


@pytest.fixture
def manufacturer(organisation):
    return make_manufacturer(organisation, email="maker@example.test", full_name="Maya Patel")


@pytest.fixture
def other_manufacturer(db):
    return make_manufacturer(
        OrganisationFactory(name="Other Medical AI Ltd"),
        email="other@example.test",
        full_name="Oliver Grant",
    )


@pytest.fixture
def reviewer(db):
    return UserFactory(email="reviewer@example.test", full_name="Rachel Evans", role=Role.REVIEWER)


@pytest.fixture
def lead_reviewer(db):
    return UserFactory(email="lead@example.test", full_name="Leo Okafor", role=Role.LEAD_REVIEWER)


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@example.test", full_name="Ada Hughes", role=Role.ADMINISTRATOR)


@pytest.fixture
def user_without_role(db):
    return UserFactory(email="norole@example.test", full_name="Nadia Roles")


@pytest.fixture(autouse=True)
def _empty_cache():
    # The review queue caches its counts and rendered menus; no test may see another's.
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_circuit_breakers():
    # A Redis one test found not answering must not be skipped in the next.
    breaker.reset_all()
    yield
    breaker.reset_all()


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    # Uploaded evidence goes to a per-test folder, never the developer's var/.
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def dead_broker():
    """Point Celery at a port where nothing listens, as when Redis is down."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options
    conf.broker_url = "redis://127.0.0.1:9/0"
    conf.broker_transport_options = {"socket_connect_timeout": 1, "max_retries": 0}
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield
    conf.broker_url, conf.broker_transport_options = saved
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free loopback port, for the whole session (tests/s3.py)."""
    from tests.needs import missing, require
    from tests.s3 import CREDENTIALS, start_s3_server

    require(missing(vendor="", redis_url="", needs_s3=True))
    server = start_s3_server()
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    yield server
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_server):
    """Private storage in a fresh bucket on the S3 server, as STORAGE_URL would set it up."""
    bucket = s3_server.new_bucket()
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "airlock.storage.PrivateS3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_server.endpoint,
                "region_name": "eu-west-2",
                "object_parameters": {"ServerSideEncryption": "AES256"},
            },
        },
    }
    return bucket


@pytest.fixture(params=["filesystem", "s3"])
def evidence_store(request):
    """Run a test once on the local disk and once on the S3 server: the evidence suite."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


@pytest.fixture
def running_stack(db, settings):
    """The heartbeats a running beat and a worker on every queue leave (airlock/beat.py,
    airlock/tasks.py), so /healthz/ready/ answers as it does in a healthy deployment."""
    from airlock.models import heartbeat_stamp

    for name in ["beat", *(f"worker:{queue}" for queue in settings.CELERY_TASK_QUEUES)]:
        heartbeat_stamp(name)
