"""The checkpoint sweep's notices in each person's notification centre.

The sweep stamps checkpoints with its run's timestamp and owes each person one email listing
them; this adds one notification per person per case for what the run stamped (one checkpoint,
or "3 checkpoint reports are overdue" after a catch-up), with one INSERT ... SELECT per stamped
column that reads exactly the rows carrying this run's stamp. A catch-up over a hundred thousand
checkpoints is a few statements, not a loop, and whatever limits which checkpoints a run stamps
limits its notices too. A notice is keyed by the first checkpoint it reports (stamped once per
column), so telling someone twice stays impossible. The rows go in as already emailed: the
sweep's own email (its outbox row, written in the same transaction) is what tells them.
"""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse

from airlock.models import User
from airlock.roles import Role
from devices.models import Application, Membership
from notifications.models import Notification, NotificationKind
from reviews.models import Checkpoint, ConflictOfInterest

ESCALATED = "escalated_at"
REPORT_WORDS = ". Report the agreed metrics, cases processed, subgroup figures and incidents."
# Per stamped column: the kind, the key's tag, the end of the title ("<reference>: checkpoint
# <n>" + it) and the body ("Checkpoint <n> of <reference> " + middle + due date + end).
NOTICES = {
    "reminded_7_days_at": (
        NotificationKind.CHECKPOINT_DUE,
        "due_7_days",
        " report due within a week",
        "report is due on ",
        REPORT_WORDS,
    ),
    "reminded_1_day_at": (
        NotificationKind.CHECKPOINT_DUE,
        "due_1_day",
        " report due by tomorrow",
        "report is due on ",
        REPORT_WORDS,
    ),
    "overdue_at": (
        NotificationKind.CHECKPOINT_OVERDUE,
        "overdue",
        " report is overdue",
        "report was due on ",
        " and has not arrived. A report still missing three days after its due date is passed "
        "to your reviewer.",
    ),
    ESCALATED: (
        NotificationKind.CHECKPOINT_ESCALATED,
        "escalated",
        " report is overdue (escalated)",
        "report was due on ",
        " and the manufacturer has not sent it.",
    ),
}
# The same for a case with several checkpoints stamped in one run: the end of the title
# ("<reference>: <n>" + it) and the body ("<n> checkpoint reports of <reference> " + middle +
# the first one's due date + end).
SEVERAL = {
    "reminded_7_days_at": (
        " checkpoint reports due within a week",
        "are due, the first on ",
        REPORT_WORDS,
    ),
    "reminded_1_day_at": (
        " checkpoint reports due by tomorrow",
        "are due, the first on ",
        REPORT_WORDS,
    ),
    "overdue_at": (
        " checkpoint reports are overdue",
        "are overdue, the first due on ",
        ", and have not arrived. A report still missing three days after its due date is passed "
        "to your reviewer.",
    ),
    ESCALATED: (
        " checkpoint reports are overdue (escalated)",
        "are overdue, the first due on ",
        ", and the manufacturer has not sent them.",
    ),
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

_INSERT = """
INSERT INTO {notification} ({n_recipient}, {n_email_to}, {n_application}, {n_kind}, {n_key},
    {n_title}, {n_body}, {n_url}, {n_created_at}, {n_emailed_at})
{selects}
ON CONFLICT DO NOTHING
"""
_SELECT = """
SELECT who.{u_id}, {email}, c.{c_application}, %(kind)s,
    'checkpoint:' || c.{c_id} || ':' || %(tag)s,
    CASE WHEN c.stamped = 1
        THEN a.{a_reference} || ': checkpoint ' || c.{c_sequence} || %(title)s
        ELSE a.{a_reference} || ': ' || c.stamped || %(titles)s END,
    CASE WHEN c.stamped = 1
        THEN 'Checkpoint ' || c.{c_sequence} || ' of ' || a.{a_reference} || ' ' || %(middle)s
            || {due_on_text} || %(end)s
        ELSE c.stamped || ' checkpoint reports of ' || a.{a_reference} || ' ' || %(middles)s
            || {due_on_text} || %(ends)s END,
    {url},
    %(now)s, %(now)s
FROM (
    SELECT {c_application}, COUNT(*) AS stamped, MIN({c_id}) AS {c_id},
           MIN({c_sequence}) AS {c_sequence}, MIN({c_due_on}) AS {c_due_on}
    FROM {checkpoint} WHERE {stamp} = %(now)s GROUP BY {c_application}
) c
JOIN {application} a ON a.{a_id} = c.{c_application}
{join}
WHERE who.{u_active} = %(true)s {where}
"""
# Each case's stamped checkpoints are grouped first: one notice per person and case, about its
# first checkpoint (lowest id, sequence and due date: a case's checkpoints are numbered and
# dated in order) and how many there are.
# The manufacturer's team.
_TEAM = (
    "JOIN {membership} m ON m.{m_organisation} = a.{a_organisation} "
    "JOIN {user} who ON who.{u_id} = m.{m_user}",
    "",
)
# The assigned reviewer.
_ASSIGNEE = ("JOIN {user} who ON who.{u_id} = a.{a_assignee}", "")
# With nobody (active) assigned, every lead reviewer without a conflict with the organisation.
_LEADS = (
    "LEFT JOIN {user} assigned ON assigned.{u_id} = a.{a_assignee} "
    "AND assigned.{u_active} = %(true)s "
    "JOIN {user_groups} ug ON ug.{ug_group} = %(lead_group)s "
    "JOIN {user} who ON who.{u_id} = ug.{ug_user}",
    "AND assigned.{u_id} IS NULL AND NOT EXISTS (SELECT 1 FROM {conflict} coi "
    "WHERE coi.{coi_reviewer} = who.{u_id} AND coi.{coi_organisation} = a.{a_organisation})",
)


def _names(stamp: str) -> dict[str, str]:
    quote = connection.ops.quote_name
    models = {
        "n": Notification,
        "c": Checkpoint,
        "a": Application,
        "m": Membership,
        "u": User,
        "ug": User.groups.through,
        "coi": ConflictOfInterest,
    }
    names = {
        "notification": quote(Notification._meta.db_table),
        "checkpoint": quote(Checkpoint._meta.db_table),
        "application": quote(Application._meta.db_table),
        "membership": quote(Membership._meta.db_table),
        "user": quote(User._meta.db_table),
        "user_groups": quote(User.groups.through._meta.db_table),
        "conflict": quote(ConflictOfInterest._meta.db_table),
        "stamp": quote(Checkpoint._meta.get_field(stamp).column),
    }
    wanted = {
        "n": [
            "recipient",
            "email_to",
            "application",
            "kind",
            "key",
            "title",
            "body",
            "url",
            "created_at",
            "emailed_at",
        ],
        "c": ["id", "application", "sequence", "due_on"],
        "a": ["id", "reference", "organisation", "assignee"],
        "m": ["organisation", "user"],
        "u": ["id", "email"],
        "ug": ["group", "user"],
        "coi": ["reviewer", "organisation"],
    }
    for prefix, fields in wanted.items():
        meta = models[prefix]._meta
        for name in fields:
            names[f"{prefix}_{name}"] = quote(meta.get_field(name).column)
    names["u_active"] = quote(User._meta.get_field("is_active").column)
    return names


def _due_on_text(names: dict[str, str]) -> str:
    """The due date as "12 May 2026", in the database's own dialect."""
    column = f"c.{names['c_due_on']}"
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'FMDD FMMonth YYYY')"
    months = " ".join(f"WHEN '{n:02d}' THEN '{name}'" for n, name in enumerate(MONTHS, 1))
    return (
        f"CAST(strftime('%%d', {column}) AS INTEGER) || ' ' || "
        f"CASE strftime('%%m', {column}) {months} END || ' ' || strftime('%%Y', {column})"
    )


def _url(name: str, columns: list[str], params: dict) -> str:
    """The URL `name` for each row, built in SQL from `columns` around its fixed parts."""
    sentinels = [987654321 + n for n in range(len(columns))]
    parts, rest = [], reverse(name, args=sentinels)
    for sentinel in sentinels:
        head, rest = rest.split(str(sentinel), 1)
        parts.append(head)
    parts.append(rest)
    pieces = []
    for n, part in enumerate(parts):
        params[f"url{n}"] = part
        pieces.append(f"%(url{n})s")
        if n < len(columns):
            pieces.append(columns[n])
    return " || ".join(pieces)


def record(stamp: str, now: datetime) -> int:
    """Add the notices for the checkpoints this run stamped in `stamp`; return how many rows.

    Manufacturers' teams get the reminders and overdue notices, linking to the report form;
    escalations go to the assigned reviewer, or to the unconflicted lead reviewers when nobody
    is, linking to the case's testing performance.
    """
    kind, tag, title, middle, end = NOTICES[stamp]
    titles, middles, ends = SEVERAL[stamp]
    names = _names(stamp)
    names["due_on_text"] = _due_on_text(names)
    lead_group = Group.objects.filter(name=Role.LEAD_REVIEWER.label).values_list("pk", flat=True)
    params = {
        "kind": kind.value,
        "tag": tag,
        "title": title,
        "middle": middle,
        "end": end,
        "titles": titles,
        "middles": middles,
        "ends": ends,
        "now": connection.ops.adapt_datetimefield_value(now),
        "true": True,
        "lead_group": next(iter(lead_group), 0),
    }
    application, sequence = f"c.{names['c_application']}", f"c.{names['c_sequence']}"
    email = f"who.{names['u_email']}"
    if stamp == ESCALATED:
        url = _url("reviews:performance", [application], params)
        # With a team address, that mailbox was emailed instead of each lead reviewer.
        lead_email = "''" if settings.REVIEW_TEAM_EMAIL else email
        audiences = [(_ASSIGNEE, email), (_LEADS, lead_email)]
    else:
        url = _url("devices:checkpoint-report", [application, sequence], params)
        audiences = [(_TEAM, email)]
    selects = [
        _SELECT.format(
            **names,
            email=address,
            url=url,
            join=join.format(**names),
            where=where.format(**names),
        )
        for (join, where), address in audiences
    ]
    sql = _INSERT.format(**names, selects="\nUNION ALL\n".join(selects))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
