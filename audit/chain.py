"""The audit trail's hash chain: sealing committed records, and checking the whole chain.

Every record is written unsealed, inside the transaction of the change it records. Once that
transaction commits, ``seal_pending`` (run after the commit, by the hourly task and by
``verify_audit_log --seal``) gives the records nobody has sealed yet, in id order, the next
chain positions: ``seq`` 1, 2, 3 …, ``prev_hash`` the hash of the record before (64 zeros for
the first) and ``hash`` = SHA-256 of the record's canonical form (``canonical``), which
includes its position and ``prev_hash``. One sealer at a time (a PostgreSQL advisory lock), so
the chain's order is the order of sealing, and no writer waits for another to append.

Each sealing run ends by adding an ``AuditSeal`` checkpoint with the chain's last position and
hash: removing records from the chain's end breaks a checkpoint, which the chain alone would
not show. On PostgreSQL, triggers refuse to delete either kind of row or to change a sealed
record (migration 0003).

``verify_chain`` recomputes every hash in position order and names the first record where the
chain breaks: a record changed, removed, inserted or moved all break it there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent, AuditSeal, AuditVerification
from .problems import problem_text

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
# Records sealed per UPDATE; a run seals everything pending, batch after batch.
BATCH = 1000
# The advisory lock that lets one sealer run at a time ("AUDT").
_LOCK_KEY = 0x41554454
# A record still unsealed this long after it was written is reported by the check.
STALE_AFTER = timedelta(minutes=10)


def canonical(event: AuditEvent, *, seq: int, prev_hash: str) -> bytes:
    """The bytes the record's hash covers: every field that says what happened, its position and
    the previous hash, as compact JSON with sorted keys (the same bytes on every machine)."""
    at = event.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = [
        seq,
        prev_hash,
        event.pk,
        at,
        event.action,
        event.actor_id,
        event.actor_label,
        event.client_address,
        event.target_type,
        event.target_id,
        event.target_label,
        event.changes,
    ]
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def record_hash(event: AuditEvent, *, seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(event, seq=seq, prev_hash=prev_hash)).hexdigest()


def seal_pending() -> int:
    """Seals every committed record not yet sealed, in id order; returns how many. Safe to run
    from any number of processes at once: they take turns."""
    total = 0
    while True:
        sealed = _seal_batch()
        total += sealed
        if sealed < BATCH:
            return total


def _seal_batch() -> int:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                # A seal lost in a crash is no harm: its records are unsealed again and the
                # next run seals them. So the commit need not wait for the disk.
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:BATCH])
        if not pending:
            return 0
        head = (
            AuditEvent.objects.filter(seq__isnull=False)
            .order_by("-seq")
            .values_list("seq", "hash")
            .first()
        )
        seq, prev_hash = (head[0] or 0, head[1]) if head is not None else (0, GENESIS)
        for event in pending:
            seq += 1
            event.seq = seq
            event.prev_hash = prev_hash
            event.hash = record_hash(event, seq=seq, prev_hash=prev_hash)
            prev_hash = event.hash
        _write_seals(pending)
        AuditSeal.objects.create(seq=seq, hash=prev_hash, sealed=len(pending))
        return len(pending)


def _write_seals(events: list[AuditEvent]) -> None:
    """One UPDATE for the batch (``bulk_update`` spends longer building its CASE expressions
    than the database spends running them)."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    rows = [(e.pk, e.seq, e.prev_hash, e.hash) for e in events]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
            cursor.execute(
                f"UPDATE {table} AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash "  # noqa: S608
                f"FROM (VALUES {values}) AS v(id, seq, prev_hash, hash) WHERE e.id = v.id",
                [value for r in rows for value in r],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",  # noqa: S608
                [(seq, prev, digest, pk) for pk, seq, prev, digest in rows],
            )


def seal_after_commit() -> None:
    """Seals what the transaction that just committed wrote (with whatever else is pending).
    A failure is logged, not raised: the records stay unsealed until the next run."""
    try:
        seal_pending()
    except Exception:  # the change itself is committed; the hourly task seals later
        logger.exception("Sealing the audit trail failed; the hourly task will retry.")


def schedule_seal() -> None:
    """Asks for ``seal_after_commit`` once the current transaction commits (at once outside a
    transaction), once per transaction however many records it writes."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(
        entry[1] is seal_after_commit for entry in getattr(conn, "run_on_commit", ())
    ):
        return
    transaction.on_commit(seal_after_commit, robust=True)


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    checked: int
    unsealed: int
    stale_unsealed: int
    head_seq: int
    broken_seq: int | None = None
    broken_event_id: int | None = None
    problem_kind: str = ""
    problem_params: dict[str, object] | None = None

    @property
    def problem(self) -> str:
        return problem_text(self.problem_kind, self.problem_params or {})


def _events() -> Iterator[AuditEvent]:
    return (
        AuditEvent.objects.filter(seq__isnull=False)
        .order_by("seq")
        .only(
            "id",
            "action",
            "actor_id",
            "actor_label",
            "at",
            "target_type",
            "target_id",
            "target_label",
            "changes",
            "client_address",
            "seq",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=2000)
    )


def verify_chain(*, now: datetime | None = None) -> ChainReport:
    """Recomputes the whole chain and checks it against the checkpoints. Reads only."""
    now = now or timezone.now()
    seals = iter(AuditSeal.objects.order_by("seq", "id").values_list("seq", "hash", "at"))
    next_seal = next(seals, None)
    expected, prev_hash, checked = 1, GENESIS, 0

    def broken(
        event: AuditEvent | None, seq: int, kind: str, params: dict[str, object]
    ) -> ChainReport:
        unsealed, stale = _unsealed(now)
        return ChainReport(
            intact=False,
            checked=checked,
            unsealed=unsealed,
            stale_unsealed=stale,
            head_seq=expected - 1,
            broken_seq=seq,
            broken_event_id=event.pk if event is not None else None,
            problem_kind=kind,
            problem_params=params,
        )

    for event in _events():
        assert event.seq is not None  # filtered above
        if event.seq != expected:
            return broken(
                event,
                expected,
                "missing",
                {"expected": expected, "before": expected - 1, "after": event.seq, "id": event.pk},
            )
        if event.prev_hash != prev_hash:
            return broken(event, event.seq, "moved", {"seq": event.seq, "id": event.pk})
        if record_hash(event, seq=event.seq, prev_hash=prev_hash) != event.hash:
            return broken(event, event.seq, "changed", {"seq": event.seq, "id": event.pk})
        while next_seal is not None and next_seal[0] == event.seq:
            if next_seal[1] != event.hash:
                return broken(
                    event,
                    event.seq,
                    "not_sealed_one",
                    {"seq": event.seq, "id": event.pk, "when": _when(next_seal[2])},
                )
            next_seal = next(seals, None)
        prev_hash = event.hash
        expected += 1
        checked += 1
    if next_seal is not None:
        return broken(
            None,
            expected,
            "cut_off",
            {
                "first": expected,
                "when": _when(next_seal[2]),
                "sealed": next_seal[0],
                "last": expected - 1,
            },
        )
    unsealed, stale = _unsealed(now)
    return ChainReport(
        intact=True, checked=checked, unsealed=unsealed, stale_unsealed=stale, head_seq=checked
    )


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _unsealed(now: datetime) -> tuple[int, int]:
    pending = AuditEvent.objects.filter(seq__isnull=True)
    return pending.count(), pending.filter(at__lt=now - STALE_AFTER).count()


def verify_and_record(*, requested_by: str = "") -> AuditVerification:
    """Checks the chain and keeps the result for the auditor's page."""
    report = verify_chain()
    if report.intact:
        logger.info("Audit chain intact: %s records.", report.checked)
    else:
        logger.error("Audit chain broken at #%s: %s", report.broken_seq, report.problem)
    return AuditVerification.objects.create(
        intact=report.intact,
        checked=report.checked,
        unsealed=report.unsealed,
        broken_seq=report.broken_seq,
        broken_event_id=report.broken_event_id,
        problem_kind=report.problem_kind,
        problem_params=report.problem_params or {},
        requested_by=requested_by,
    )
