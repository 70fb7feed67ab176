import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "airlock.settings")

app = Celery("airlock")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Declared here, synced by django-celery-beat into its tables when beat starts: administrators
# see every job under "Periodic tasks" in the admin and can pause one there (a pause survives
# restarts). Times are Europe/London (CELERY_TIMEZONE). Every job is safe to run twice.
app.conf.beat_schedule = {
    # 06:00 daily: create checkpoints falling due, send the 7-day and 1-day reminders, mark
    # overdue and escalate; early so reminders are in inboxes at the start of the day.
    "checkpoint sweep": {
        "task": "reviews.tasks.sweep_checkpoints",
        "schedule": crontab(hour=6, minute=0),
    },
    # 06:15 daily: warn reviewers of review clocks about to run out, and flag breaches.
    "review clock sweep": {
        "task": "reviews.tasks.sweep_review_clocks",
        "schedule": crontab(hour=6, minute=15),
    },
    # Mondays 07:00: each reviewer's week ahead.
    "weekly reviewer digest": {
        "task": "reviews.tasks.send_reviewer_digest",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
    },
    # 03:30 daily: walk the audit chain (ledger.verify); a break is logged and every
    # administrator is told. At night, when nothing else reads the audit tables.
    "audit chain verification": {
        "task": "ledger.tasks.verify_audit_chain",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every 15 minutes: draw the documents of decided cases whose on-commit task never ran.
    "issue missing case documents": {
        "task": "documents.tasks.issue_missing_documents",
        "schedule": crontab(minute="*/15"),
    },
    # Every 15 minutes: draw the programme reports asked for whose on-commit task never ran.
    "draw missing programme reports": {
        "task": "findings.tasks.draw_missing_programme_reports",
        "schedule": crontab(minute="*/15"),
    },
    # Every 5 minutes: evaluate checkpoint reports whose on-commit task never ran (the broker
    # was down when the manufacturer submitted, or the message was lost).
    "evaluate pending checkpoint reports": {
        "task": "reviews.tasks.evaluate_pending_reports",
        "schedule": crontab(minute="*/5"),
    },
    # Every 5 minutes: send notification emails (state changes, messages, safety signals,
    # testing plans) whose on-commit task never ran.
    "send pending notification emails": {
        "task": "notifications.tasks.send_pending_notification_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Every 5 minutes: send the checkpoint sweep's owed emails (its outbox) whose task never
    # ran. On the `emails` queue, beside the tasks it stands in for.
    "send pending checkpoint emails": {
        "task": "reviews.tasks.send_pending_checkpoint_emails",
        "schedule": crontab(minute="*/5"),
    },
    # Every 10 minutes: recompute the review queue's per-state counts from the applications.
    # Transitions keep them exact; this corrects what a write outside the service left wrong.
    "repair queue state counts": {
        "task": "devices.tasks.repair_state_counts",
        "schedule": crontab(minute="*/10"),
    },
    # Every 10 minutes: queue partner alert deliveries never attempted or whose retry was lost.
    "retry pending alert deliveries": {
        "task": "reviews.tasks.retry_pending_deliveries",
        "schedule": crontab(minute="*/10"),
    },
    # Every minute, on each queue: the worker that runs it tells /healthz/ready/ the queue is
    # served. Expires before the next one is due, so a backlog never runs stale heartbeats.
    **{
        f"worker heartbeat ({queue})": {
            "task": "airlock.tasks.heartbeat",
            "schedule": 60.0,
            "args": (queue,),
            "options": {"queue": queue, "expires": 55},
        }
        for queue in settings.CELERY_TASK_QUEUES
    },
}
