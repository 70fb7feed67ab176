"""The audit chain: every audit row is chained as it is written, and verify_audit finds the
first row changed, deleted or inserted out of order behind the application's back."""

import importlib
import logging
import threading

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection, connections

from airlock.models import SecurityEvent, SecurityEventKind
from devices.models import ApplicationEvent, ApplicationState, EvidenceDocument
from devices.services import application_transition
from ledger.chain import attnames, chained_models, record_many
from ledger.models import ChainHead, ChainLink
from ledger.services import audit_chain_check
from ledger.verify import chain_verify
from notifications.models import Notification, NotificationKind
from reviews.models import AuditAction, AuditEntry, Decision
from tests.factories import make_application
from tests.needs import missing, require

backfill = importlib.import_module("ledger.migrations.0002_chain_existing_audit_rows")


def _sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.fixture
def case(reviewer, manufacturer, organisation):
    """A case with rows in every audit table: evidence, a decision, three transitions, an
    audit entry and a security event."""
    application = make_application(
        ApplicationState.SUBMITTED, organisation=organisation, created_by=manufacturer
    )
    application_transition(application_id=application.pk, action="start_screening", actor=reviewer)
    AuditEntry.objects.create(
        application=application,
        actor=reviewer,
        action=AuditAction.SIGNAL_STATUS,
        summary="Signal investigated.",
    )
    SecurityEvent.objects.create(user=manufacturer, kind=SecurityEventKind.TWO_FACTOR_SET_UP)
    application_transition(
        application_id=application.pk, action="withdraw", actor=manufacturer, reason="Done."
    )
    return application


def _event_link(case) -> ChainLink:
    event = ApplicationEvent.objects.filter(application=case).first()
    return ChainLink.objects.get(source="devices.applicationevent", object_id=event.pk)


def test_it_chains_every_kind_of_audit_row(case):
    report = chain_verify()
    assert report.ok, report.problem
    assert set(chained_models()) >= {
        "airlock.securityevent",
        "devices.applicationevent",
        "devices.evidencedocument",
        "reviews.auditentry",
        "reviews.decision",
        "documents.casedocument",
        "documents.documentrevocation",
    }
    expected = sum(model.objects.count() for model in chained_models().values())
    assert report.checked == expected == ChainLink.objects.count()
    assert ChainHead.objects.get().seq == expected
    assert EvidenceDocument.objects.filter(application=case).exists()


def test_it_catches_a_row_edited_with_raw_sql(case):
    link = _event_link(case)
    _sql("UPDATE devices_applicationevent SET reason = %s WHERE id = %s", ["x", link.object_id])
    report = chain_verify()
    assert report.problem.seq == link.seq
    assert "changed" in report.problem.what
    assert report.checked == link.seq - 1


def test_it_catches_a_row_deleted_with_raw_sql(case):
    link = _event_link(case)
    _sql("DELETE FROM devices_applicationevent WHERE id = %s", [link.object_id])
    report = chain_verify()
    assert report.problem.seq == link.seq
    assert "deleted" in report.problem.what


def test_it_catches_a_link_deleted_from_the_middle(case):
    _sql("DELETE FROM ledger_chainlink WHERE seq = 3")
    report = chain_verify()
    assert report.problem.seq == 3
    assert "missing" in report.problem.what


def test_it_catches_the_newest_links_cut_off(case):
    newest = ChainLink.objects.order_by("-seq").first()
    _sql("DELETE FROM ledger_chainlink WHERE seq = %s", [newest.seq])
    report = chain_verify()
    assert "newest links were deleted" in report.problem.what


def test_it_catches_links_reordered_with_raw_sql(case):
    _sql("UPDATE ledger_chainlink SET seq = 1000000 WHERE seq = 2")
    _sql("UPDATE ledger_chainlink SET seq = 2 WHERE seq = 3")
    _sql("UPDATE ledger_chainlink SET seq = 3 WHERE seq = 1000000")
    report = chain_verify()
    assert report.problem.seq == 2
    assert "reordered" in report.problem.what


def test_it_catches_audit_rows_reordered_in_time(case):
    first, second = ApplicationEvent.objects.filter(application=case).order_by("pk")[:2]
    _sql(
        "UPDATE devices_applicationevent SET created_at = %s WHERE id = %s",
        [second.created_at, first.pk],
    )
    _sql(
        "UPDATE devices_applicationevent SET created_at = %s WHERE id = %s",
        [first.created_at, second.pk],
    )
    report = chain_verify()
    assert report.problem.object_id == first.pk
    assert "changed" in report.problem.what


def test_it_catches_a_row_inserted_beside_the_chain(case, reviewer):
    # bulk_create skips save(), like a raw INSERT: the row has no link.
    (stray,) = ApplicationEvent.objects.bulk_create(
        [
            ApplicationEvent(
                application=case,
                actor=reviewer,
                transition="accept",
                from_state="screening",
                to_state="accepted",
            )
        ]
    )
    report = chain_verify()
    assert report.problem.object_id == stray.pk
    assert report.problem.seq is None
    assert "not in the chain" in report.problem.what
    record_many([stray])
    assert chain_verify().ok


def test_it_catches_an_edited_link(case):
    _sql("UPDATE ledger_chainlink SET recorded_at = %s WHERE seq = 2", ["2020-01-01 00:00:00"])
    report = chain_verify()
    assert report.problem.seq == 2
    assert "link itself was edited" in report.problem.what


def test_it_chains_a_decision_once_not_at_each_countersignature(case, lead_reviewer):
    decision = Decision.objects.create(
        application=case, kind="reject", rationale="Out of scope.", decided_by=lead_reviewer
    )
    decision.rationale = "Out of scope."
    decision.save(update_fields=["rationale"])
    assert ChainLink.objects.filter(source="reviews.decision", object_id=decision.pk).count() == 1
    assert chain_verify().ok


def test_it_verifies_from_the_command_line(case, capsys):
    call_command("verify_audit")
    assert "Audit chain holds" in capsys.readouterr().out
    _sql("UPDATE reviews_auditentry SET summary = 'Nothing happened.'")
    with pytest.raises(CommandError, match=r"reviews\.auditentry"):
        call_command("verify_audit")


def test_it_tells_administrators_once_when_the_nightly_check_fails(case, admin_user, caplog):
    assert audit_chain_check().ok
    assert not Notification.objects.filter(kind=NotificationKind.AUDIT_CHAIN_BROKEN).exists()
    _sql("DELETE FROM airlock_securityevent")
    with caplog.at_level(logging.ERROR, logger="ledger.services"):
        assert not audit_chain_check().ok
        audit_chain_check()
    alert = Notification.objects.get(kind=NotificationKind.AUDIT_CHAIN_BROKEN)
    assert alert.recipient == admin_user
    assert "deleted" in alert.body
    assert "verification failed" in caplog.text


def test_it_backfills_rows_written_before_the_chain(case):
    ChainLink.objects.all().delete()
    ChainHead.objects.all().delete()
    assert not chain_verify().ok
    backfill.chain_existing(apps, None)
    report = chain_verify()
    assert report.ok, report.problem
    assert report.checked == sum(m.objects.count() for m in chained_models().values())


def test_it_froze_the_backfill_fields_as_the_models_chain_them():
    # Audit tables created after the backfill (decision documents, ...) had no rows to chain.
    models = chained_models()
    for source, (_time_field, fields) in backfill.FROZEN.items():
        assert fields == attnames(models[source]), source


def test_it_appends_in_bulk_with_a_few_statements_not_one_per_row(
    case, django_assert_max_num_queries
):
    events = ApplicationEvent.objects.bulk_create(
        [
            ApplicationEvent(
                application=case, transition="note", from_state="withdrawn", to_state="withdrawn"
            )
            for _ in range(2500)
        ]
    )
    # Lock the head, insert in batches (a thousand a statement on PostgreSQL: 7 queries in all;
    # SQLite's 999-parameter cap makes batches of about 140), move the head.
    with django_assert_max_num_queries(25):
        record_many(events)
    assert chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_it_numbers_concurrent_appends_without_forking_the_chain(manufacturer):
    # The head row lock is what is under test: SQLite serialises writers anyway.
    require(missing(vendor=connection.vendor, redis_url="", needs_postgresql=True))
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def write(n: int) -> None:
        try:
            barrier.wait(timeout=5)
            for i in range(10):
                SecurityEvent.objects.create(
                    user=manufacturer, kind=SecurityEventKind.ENROLMENT_SENT, detail=f"{n}.{i}"
                )
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = chain_verify()
    assert report.ok, report.problem
    assert report.checked == SecurityEvent.objects.count() == 40
