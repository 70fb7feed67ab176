"""Controlled testing and safety monitoring, one subject per module:

- `checkpoints`: the checkpoint schedule and the daily checkpoint sweep;
- `reports`: checkpoint reports, their figures and their evaluation against the plan;
- `incidents`: serious incident reports;
- `signals`: safety signals, from raising to sharing;
- `partners`: the partner-regulator network (outbound webhook, feed payload, inbound alerts);
- `clocks`: the review-clock sweep; `digest`: the weekly reviewer digest;
- `checkpoint_notices`: the checkpoint sweep's notifications, one set-based insert per step;
- `checkpoint_emails`: the checkpoint sweep's emails, through an outbox sent by tasks on the
  `emails` queue;
- `performance` and `dashboard`: reads for the monitoring pages.

Scheduled jobs are set-based and safe to run twice. Missing rows are inserted by the database in
one statement under a unique constraint; the rows a job acts on are stamped with a single UPDATE
carrying the run's timestamp (or recorded as new notice rows), and email is owed for exactly
those rows, so a rerun finds nothing left to do. Stamps and the owed emails (outbox rows) share
a transaction; the emails go afterwards, from their own tasks, and a repair sweep sends what a
lost message left.

Tasks started by a user's action (evaluating a report, delivering an alert) use a column on the
row as their outbox (emails to people use their own rows, notifications.Notification); a sweep
picks up any row a dead broker or a lost message left behind. Services queue those tasks by name
(`airlock.queue`), so this package never imports `reviews.tasks`, which imports it.
"""

from datetime import timedelta

from devices.models import ApplicationState

# Give an on-commit task time to run before a sweep treats its row as missed.
SWEEP_GRACE = timedelta(minutes=2)
# How many missed rows one repair sweep takes on; the next run takes the rest.
SWEEP_BATCH = 500

TESTING = ApplicationState.IN_CONTROLLED_TESTING
# An overdue checkpoint goes to the assigned reviewer once it is this many days late.
ESCALATE_AFTER_DAYS = 3
