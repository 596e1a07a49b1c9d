"""The audit trail's hash chain on PostgreSQL: sealed after commit, append-only under the
application's own credentials (the triggers), and every change, removal or reordering of a
single record found by ``verify_audit_log``, which names the first broken record.

Tampering is done the way an intruder with the database owner's rights would: with the
triggers switched off (``unguarded_trail``, inside the test's transaction).
"""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation
from pytest_django import Settings

from accounts.models import User
from audit import chain
from audit.models import AuditEvent, AuditSeal, AuditVerification
from audit.services import audit_record
from tests.conftest import client_for
from tests.worker_support import WorkerProcess

pytestmark = pytest.mark.django_db


def _record(user: User | None, n: int, **changes: object) -> AuditEvent:
    return audit_record(
        action="accounts.user.logged_in", acting_user=user, changes={"n": n, **changes}
    )


@pytest.fixture
def sealed(admin: User) -> list[AuditEvent]:
    """Five records, sealed (the test's transaction never commits, so sealing is called)."""
    for n in range(5):
        _record(admin, n, note=f"第{n}条")
    chain.seal_pending()
    return list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq"))


def _sql(statement: str, params: list[int | str | None]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _verify_fails() -> str:
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_log")
    return str(failure.value)


def test_records_are_sealed_in_order_into_one_chain(sealed: list[AuditEvent]) -> None:
    # Earlier tests' records may be in the chain too: it starts at 1 and has no gap.
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    first = AuditEvent.objects.get(seq=1)
    assert first.prev_hash == chain.GENESIS
    for before, after in zip(sealed, sealed[1:], strict=False):
        assert after.prev_hash == before.hash
        assert before.seq is not None and after.seq == before.seq + 1
        assert len(after.hash) == 64
    last_seal = AuditSeal.objects.order_by("-seq").first()
    assert last_seal is not None and last_seal.hash == sealed[-1].hash
    report = chain.verify_chain()
    assert report.intact and report.checked == len(seqs) and report.unsealed == 0


def test_sealing_again_seals_nothing_and_new_records_continue_the_chain(
    sealed: list[AuditEvent], admin: User
) -> None:
    assert chain.seal_pending() == 0
    late = _record(admin, 99)
    assert chain.seal_pending() == 1
    late.refresh_from_db()
    last = sealed[-1]
    assert last.seq is not None and late.seq == last.seq + 1 and late.prev_hash == last.hash


def test_the_application_cannot_update_or_delete_a_record(sealed: list[AuditEvent]) -> None:
    target = sealed[2]
    attempts = [
        lambda: AuditEvent.objects.filter(pk=target.pk).update(actor_label="someone_else"),
        lambda: AuditEvent.objects.filter(pk=target.pk).delete(),
        lambda: _sql("UPDATE audit_auditevent SET changes = '{}' WHERE id = %s", [target.pk]),
        lambda: _sql("DELETE FROM audit_auditevent WHERE id = %s", [target.pk]),
        # Resealing a sealed record with a hash of one's own is refused too.
        lambda: _sql("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["0" * 64, target.pk]),
        lambda: AuditSeal.objects.all().delete(),
        lambda: AuditSeal.objects.update(hash="0" * 64),
    ]
    for attempt in attempts:
        with (
            pytest.raises(DatabaseError, match="cannot be|can only be sealed"),
            transaction.atomic(),
        ):
            attempt()
    target.refresh_from_db()
    assert target.actor_label == "office_admin" and target.changes["n"] == 2
    assert chain.verify_chain().intact


def test_an_unsealed_record_can_only_be_sealed_not_changed(admin: User) -> None:
    pending = _record(admin, 1)
    with pytest.raises(DatabaseError, match="can only be sealed"), transaction.atomic():
        AuditEvent.objects.filter(pk=pending.pk).update(action="accounts.user.logged_out")
    # Sealing it with changed content is refused as well.
    with pytest.raises(DatabaseError, match="can only be sealed"), transaction.atomic():
        AuditEvent.objects.filter(pk=pending.pk).update(
            seq=10**9, hash="a" * 64, target_label="forged"
        )
    assert chain.seal_pending() >= 1
    assert chain.verify_chain().intact


def test_a_changed_record_is_named(sealed: list[AuditEvent], unguarded_trail: None) -> None:
    target = sealed[2]
    _sql(
        "UPDATE audit_auditevent SET changes = jsonb_set(changes, '{note}', '\"改过\"') "
        "WHERE id = %s",
        [target.pk],
    )
    report = chain.verify_chain()
    assert not report.intact
    assert (report.broken_seq, report.broken_event_id) == (target.seq, target.pk)
    assert report.problem_kind == "changed"
    message = _verify_fails()
    assert f"position #{target.seq}, record id {target.pk}" in message
    assert "was changed after it was sealed" in message


def test_a_changed_actor_or_time_is_found_too(
    sealed: list[AuditEvent], unguarded_trail: None
) -> None:
    _sql("UPDATE audit_auditevent SET at = at - interval '1 day' WHERE id = %s", [sealed[1].pk])
    assert chain.verify_chain().broken_event_id == sealed[1].pk


def test_a_rehashed_record_breaks_the_next_link(
    sealed: list[AuditEvent], unguarded_trail: None
) -> None:
    """Changing a record and recomputing its own hash still breaks the record after it."""
    target = sealed[1]
    target.actor_label = "someone_else"
    assert target.seq is not None
    new_hash = chain.record_hash(target, seq=target.seq, prev_hash=target.prev_hash)
    _sql(
        "UPDATE audit_auditevent SET actor_label = %s, hash = %s WHERE id = %s",
        ["someone_else", new_hash, target.pk],
    )
    report = chain.verify_chain()
    assert report.broken_seq in (target.seq, sealed[2].seq)
    assert not report.intact


def test_a_removed_record_is_named(sealed: list[AuditEvent], unguarded_trail: None) -> None:
    gone = sealed[2]
    _sql("DELETE FROM audit_auditevent WHERE id = %s", [gone.pk])
    report = chain.verify_chain()
    assert not report.intact and report.problem_kind == "missing"
    assert report.broken_seq == gone.seq and report.broken_event_id == sealed[3].pk
    assert f"#{gone.seq} is missing" in _verify_fails()


def test_records_cut_off_the_end_are_found_by_the_seal(
    sealed: list[AuditEvent], unguarded_trail: None
) -> None:
    _sql("DELETE FROM audit_auditevent WHERE id = %s", [sealed[-1].pk])
    report = chain.verify_chain()
    assert not report.intact and report.problem_kind == "cut_off"
    assert report.broken_seq == sealed[-1].seq


def test_reordered_records_are_found(sealed: list[AuditEvent], unguarded_trail: None) -> None:
    first, second = sealed[1], sealed[2]
    _sql("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [first.pk])
    _sql("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [first.seq, second.pk])
    _sql("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [second.seq, first.pk])
    report = chain.verify_chain()
    assert not report.intact and report.broken_seq == first.seq


def test_the_command_says_intact_and_seals_on_request(
    sealed: list[AuditEvent], admin: User, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(admin, 7)
    call_command("verify_audit_log")
    out = capsys.readouterr().out
    assert "1 record(s) not sealed yet" in out and "intact" in out
    call_command("verify_audit_log", "--seal")
    out = capsys.readouterr().out
    assert "Sealed 1 record(s)" in out
    latest = AuditVerification.objects.first()
    assert latest is not None and latest.intact and latest.unsealed == 0


def test_the_auditors_page_shows_the_chains_state(
    sealed: list[AuditEvent], auditor: User, unguarded_trail: None
) -> None:
    client = client_for(auditor)
    url = reverse("audit:event_list")
    with translation.override("en"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "has not been checked yet" in page
        response = client.post(reverse("audit:chain_check"))
        assert response.status_code == 302
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "Intact:" in page and "checked, none changed" in page
        _sql("DELETE FROM audit_auditevent WHERE id = %s", [sealed[0].pk])
        client.post(reverse("audit:chain_check"))
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Broken at record #{sealed[0].seq}" in page
    assert "audit-chain--broken" in page


def test_the_chain_check_is_a_post_for_the_audit_readers_only(vendor: User) -> None:
    assert client_for(vendor).post(reverse("audit:chain_check")).status_code == 404
    assert Client().post(reverse("audit:chain_check")).status_code == 302
    assert not AuditVerification.objects.exists()


def test_records_carry_the_client_address(admin: User, settings: Settings) -> None:
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(admin)
    client.post(reverse("accounts:logout"))
    event = AuditEvent.objects.get(action="accounts.user.logged_out")
    assert event.client_address == "198.51.100.7"
    # Not from X-Forwarded-For, which the client writes, unless proxies are configured.
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    client.force_login(admin)
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(client_address="10.0.0.1").exists()
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    client.force_login(admin)
    client.post(reverse("accounts:logout"))
    assert AuditEvent.objects.filter(client_address="203.0.113.9").exists()
    # Outside a request (a worker, a command) there is none.
    assert _record(admin, 1).client_address == ""


def test_removing_an_account_leaves_its_records_and_the_chain_intact(
    sealed: list[AuditEvent], admin: User
) -> None:
    admin_id = admin.pk
    User.objects.filter(pk=admin_id).delete()
    assert AuditEvent.objects.filter(actor_id=admin_id).count() >= len(sealed)
    assert AuditEvent.objects.filter(actor_label="office_admin").exists()
    assert chain.verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_records_are_sealed_once_their_transaction_commits(admin: User) -> None:
    with transaction.atomic():
        first = _record(admin, 1)
        second = _record(admin, 2)
        # Not yet: the change they record may still be rolled back.
        assert AuditEvent.objects.filter(seq__isnull=False).count() == 0
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.seq is not None and second.seq == first.seq + 1
    # A rolled-back transaction leaves nothing to seal.
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(admin, 3)
        raise RuntimeError("rolled back")
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    assert chain.verify_chain().intact


@pytest.mark.django_db(transaction=True)
def test_writers_and_sealers_at_once_make_one_unbroken_chain(admin: User) -> None:
    """Four threads, each with its own connection, write and seal at the same time."""
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for n in range(15):
                with transaction.atomic():
                    _record(admin, offset * 100 + n)
                    _record(admin, offset * 100 + n, second=True)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    chain.seal_pending()
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 0
    report = chain.verify_chain()
    assert report.intact and report.checked == 4 * 15 * 2


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_seals_what_is_pending_and_checks_the_chain(
    celery_worker: WorkerProcess, admin: User
) -> None:
    """The hourly task, on a worker in another process: it seals records whose sealing after
    commit never ran (written here with sealing held back) and keeps the check's result."""
    from audit.tasks import seal_and_verify_task

    with transaction.atomic():
        for _ in range(3):
            AuditEvent.objects.create(action="accounts.user.logged_in", actor_label="x", changes={})
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 3
    result = seal_and_verify_task.delay(requested_by="test")
    try:
        answer = result.get(timeout=90)
    except Exception:
        print(celery_worker.log())
        raise
    assert answer == {"sealed": 3, "intact": True, "checked": 3, "broken_seq": None}
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    check = AuditVerification.objects.get()
    assert check.intact and check.requested_by == "test"
