"""Benchmark: what the audit trail's hash chain costs, on PostgreSQL.

    make bench                                   # or:
    .venv/bin/python bench/audit_chain.py [--records 10000 100000]

For each size it empties the trail, then writes that many records the way the portal does:
transactions of 20 records each (``audit_record_many``, as a scoring batch writes them), each
sealed after its commit by ``audit.chain.seal_after_commit``, and prints:

- append + seal, per record: the wall time of all the writing transactions and their sealing,
  divided by the records;
- sealing alone, per record: the time spent in the sealing runs only (measured around
  ``seal_pending``);
- verify: ``audit.chain.verify_chain`` over the whole trail (every hash recomputed, every
  checkpoint compared), in seconds and in records per second.

Environment: DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/gce_bench_audit,
created if missing; the trail in it is emptied with the triggers briefly disabled).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/gce_bench_audit"
PER_TRANSACTION = 20
# Goals: a scoring batch of 20 records sealed in well under the time it takes to score it; an
# auditor's check of a year's trail (some 100,000 records) within a minute.
SEAL_GOAL_MS = 1.0
VERIFY_GOAL_RATE = 10_000  # records per second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--json", help="also write the figures to this file (see bench/summary.py)")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["REDIS_URL"] = ""
    from _support import create_database, row, write_rows

    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Organisation, User
    from audit import chain
    from audit.services import audit_record_many

    call_command("migrate", verbosity=0)
    office, _ = Organisation.objects.get_or_create(
        name="基准测试评估机构", defaults={"kind": Organisation.Kind.OFFICE}
    )
    user, _ = User.objects.get_or_create(
        username="bench_admin", defaults={"role": User.Role.ADMIN, "organisation": office}
    )

    sealing = [0.0]
    original = chain.seal_pending

    def timed_seal() -> int:
        start = time.perf_counter()
        try:
            return original()
        finally:
            sealing[0] += time.perf_counter() - start

    chain.seal_pending = timed_seal  # the after-commit hook calls it through the module

    figures: dict[int, dict[str, float]] = {}
    for size in args.records:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_auditseal DISABLE TRIGGER USER")
            cursor.execute("TRUNCATE audit_auditevent, audit_auditseal, audit_auditverification")
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE audit_auditseal ENABLE TRIGGER USER")
        sealing[0] = 0.0
        start = time.perf_counter()
        for first in range(0, size, PER_TRANSACTION):
            with transaction.atomic():
                audit_record_many(
                    action="reports.score.computed",
                    acting_user=user,
                    records=[
                        (office, {"total": n, "level": "L2", "note": "基准测试记录"})
                        for n in range(first, min(size, first + PER_TRANSACTION))
                    ],
                )
        written = time.perf_counter() - start
        start = time.perf_counter()
        report = chain.verify_chain()
        verified = time.perf_counter() - start
        assert report.intact and report.checked == size, report
        figures[size] = {
            "append_ms": written / size * 1000,
            "seal_ms": sealing[0] / size * 1000,
            "verify_s": verified,
            "rate": size / verified,
        }
        print(
            f"{size:>7} records: append + seal {figures[size]['append_ms']:.3f} ms/record "
            f"(sealing {figures[size]['seal_ms']:.3f} ms/record); verify {verified:.2f} s "
            f"({figures[size]['rate']:,.0f} records/s)"
        )

    small, large = min(figures), max(figures)
    rows = [
        row(
            f"audit: append + seal per record, ms ({small:,} / {large:,} records)",
            round(figures[small]["append_ms"], 3),
            round(figures[large]["append_ms"], 3),
            "",
            None,
        ),
        row(
            "audit: sealing per record, ms",
            round(figures[small]["seal_ms"], 3),
            round(figures[large]["seal_ms"], 3),
            f"≤ {SEAL_GOAL_MS} ms",
            figures[large]["seal_ms"] <= SEAL_GOAL_MS,
        ),
        row(
            "audit: verify the whole chain, s",
            round(figures[small]["verify_s"], 2),
            round(figures[large]["verify_s"], 2),
            f"≥ {VERIFY_GOAL_RATE:,} records/s",
            figures[large]["rate"] >= VERIFY_GOAL_RATE,
        ),
    ]
    if args.json:
        write_rows(args.json, rows)
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
