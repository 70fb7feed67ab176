"""Settings for running on a platform: object storage, the connection pool, a replica, queues.
Settings are read once per process, so each case runs in a fresh interpreter."""

import json

import pytest
from celery.app.routes import MapRoute

from airlock.celery import app as celery_app
from tests.security.test_deploy import run

PG = "postgres://postgres@127.0.0.1:5432/airlock"


def read(expression: str, **env: str):
    result = run(
        [
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            f"print(json.dumps({expression}, default=str))",
        ],
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def fails(message: str, **env: str) -> None:
    result = run(["-c", "import django; django.setup()"], **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_without_storage_url_evidence_stays_on_the_local_disk():
    assert read('settings.STORAGES["private"]') == {
        "BACKEND": "airlock.storage.PrivateFileSystemStorage"
    }


def test_storage_url_names_the_bucket_prefix_endpoint_and_region():
    private = read(
        'settings.STORAGES["private"]',
        STORAGE_URL="s3://airlock-evidence/prod?endpoint_url=https://s3.example:9000"
        "&region=eu-west-2&addressing_style=path",
    )

    assert private == {
        "BACKEND": "airlock.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": "airlock-evidence",
            "location": "prod",
            "endpoint_url": "https://s3.example:9000",
            "region_name": "eu-west-2",
            "addressing_style": "path",
            "object_parameters": {"ServerSideEncryption": "AES256"},
        },
    }


def test_the_usual_aws_variables_work_too_with_kms_encryption():
    options = read(
        'settings.STORAGES["private"]["OPTIONS"]',
        AWS_STORAGE_BUCKET_NAME="evidence",
        AWS_S3_REGION_NAME="eu-west-2",
        STORAGE_SSE="aws:kms",
        STORAGE_SSE_KMS_KEY_ID="alias/airlock",
    )

    assert options["bucket_name"] == "evidence"
    assert options["region_name"] == "eu-west-2"
    assert options["object_parameters"] == {
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/airlock",
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STORAGE_URL": "https://bucket"}, "STORAGE_URL must look like s3://bucket/prefix"),
        ({"STORAGE_URL": "s3://bucket?endpoint=x"}, "STORAGE_URL has unknown options"),
        ({"STORAGE_URL": "s3://b", "STORAGE_SSE": "yes"}, "STORAGE_SSE must be AES256"),
        ({"EVIDENCE_DOWNLOAD": "redirect"}, "EVIDENCE_DOWNLOAD=redirect needs an object store"),
        ({"EVIDENCE_DOWNLOAD": "email"}, "EVIDENCE_DOWNLOAD must be stream or redirect"),
        (
            {"STORAGE_URL": "s3://b", "EVIDENCE_URL_EXPIRY_SECONDS": "300"},
            "EVIDENCE_URL_EXPIRY_SECONDS must be between 1 and 60",
        ),
        (
            {"DATABASE_URL": PG, "DATABASE_POOL": "on", "DATABASE_PGBOUNCER": "on"},
            "DATABASE_POOL and DATABASE_PGBOUNCER are alternatives",
        ),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be json or plain"),
    ],
)
def test_a_malformed_platform_setting_fails_loudly(env, message):
    fails(message, **env)


def test_the_pool_replaces_persistent_connections():
    database = read(
        'settings.DATABASES["default"]',
        DATABASE_URL=PG,
        DATABASE_POOL="on",
        DATABASE_POOL_MAX_SIZE="20",
    )

    assert database["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 20, "timeout": 10}
    # Django refuses persistent connections alongside its pool.
    assert database["CONN_MAX_AGE"] == 0


def test_behind_pgbouncer_server_side_cursors_are_off():
    database = read('settings.DATABASES["default"]', DATABASE_URL=PG, DATABASE_PGBOUNCER="on")

    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "pool" not in database["OPTIONS"]


def test_a_replica_url_adds_a_replica_for_reports_only():
    replica = "postgres://reader@replica.internal:5432/airlock"

    assert read("settings.REPORTING_DATABASE", DATABASE_URL=PG) == "default"
    databases = read("settings.DATABASES", DATABASE_URL=PG, DATABASE_REPLICA_URL=replica)
    assert databases["replica"]["HOST"] == "replica.internal"
    assert databases["replica"]["USER"] == "reader"
    assert databases["replica"]["TEST"]["MIRROR"] == "default"
    assert read("settings.REPORTING_DATABASE", DATABASE_REPLICA_URL=replica) == "replica"


def test_static_files_are_hashed_and_compressed_in_production_only():
    from tests.security.test_deploy import PRODUCTION

    assert read('settings.STORAGES["staticfiles"]["BACKEND"]', **PRODUCTION) == (
        "airlock.staticfiles.StaticFilesStorage"
    )
    assert read('settings.STORAGES["staticfiles"]["BACKEND"]') == (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )


# --- Queues -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("notifications.tasks.send_notification_emails", "interactive"),
        ("reviews.tasks.evaluate_checkpoint_report", "interactive"),
        ("reviews.tasks.sweep_checkpoints", "sweeps"),
        ("reviews.tasks.sweep_review_clocks", "sweeps"),
        ("reviews.tasks.evaluate_pending_reports", "sweeps"),
        ("notifications.tasks.send_pending_notification_emails", "sweeps"),
        ("reviews.tasks.deliver_alert", "partners"),
        ("reviews.tasks.retry_pending_deliveries", "partners"),
        ("reviews.tasks.send_reviewer_digest", "reports"),
        ("reviews.tasks.send_checkpoint_emails", "emails"),
        ("reviews.tasks.send_pending_checkpoint_emails", "emails"),
    ],
)
def test_each_task_sent_by_name_lands_on_the_queue_for_its_kind_of_work(task, queue):
    # Services send tasks by name (airlock.queue): routing must work from the name alone.
    route = celery_app.amqp.router.route({}, task)

    assert route["queue"].name == queue


def test_every_task_is_routed_on_purpose():
    """A new task must be given a queue in CELERY_TASK_ROUTES, not land on the default."""
    celery_app.loader.import_default_modules()
    routes = MapRoute(celery_app.conf.task_routes)
    # (airlock.tasks.heartbeat is sent by beat to each queue in turn, named in its entry.)
    apps = {"devices", "reviews", "notifications"}
    ours = [name for name in celery_app.tasks if name.split(".")[0] in apps]

    assert ours
    assert not [name for name in ours if routes(name) is None]


def test_a_worker_without_q_takes_every_queue():
    # (A test may add a queue of its own at run time: tests/integration/test_worker_killed.py.)
    assert {"interactive", "partners", "reports", "sweeps"} <= set(celery_app.amqp.queues)


def test_a_worker_child_that_grew_large_is_replaced():
    # Read by Celery's prefork pool: a child past the limit (KiB) is replaced after its task.
    assert 0 < celery_app.conf.worker_max_memory_per_child <= 500_000
