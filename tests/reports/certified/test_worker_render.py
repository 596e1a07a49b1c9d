"""Reports rendered by a real worker, started as docker-compose.yml starts it: no in-process
rendering anywhere. And a report whose message was lost is rendered once the sweeper runs."""

from __future__ import annotations

import datetime
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import LazySettings
from django.db.models import F
from django.utils import translation
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from accounts.models import User
from assessments.models import Assessment
from audit.models import AuditEvent
from reports.certified import services as certify
from reports.models import Report
from reports.tasks import reports_sweep_task
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.worker_support import WorkerProcess, queue_purge

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Generous: a rendering takes a few seconds.
RENDER_TIMEOUT = 60


def start_rendering_worker(worker: WorkerProcess, settings: LazySettings) -> None:
    """Starts the worker with the test's signing key (docker-compose.yml mounts the signing
    volume on the worker) and media folder (a deployment without S3 shares MEDIA_ROOT between
    web and worker; test_reports_s3 renders into a bucket instead)."""
    worker.env.update(
        REPORT_SIGNING_KEY=settings.REPORT_SIGNING_KEY,
        REPORT_SIGNING_CERT=settings.REPORT_SIGNING_CERT,
        REPORT_SIGNING_PASSPHRASE=settings.REPORT_SIGNING_PASSPHRASE,
        MEDIA_ROOT=settings.MEDIA_ROOT,
    )
    worker.start()
    worker.wait_ready()


def wait_until_rendered(worker: WorkerProcess, report: Report) -> Report:
    def settled() -> bool:
        report.refresh_from_db()
        return report.state in (Report.State.READY, Report.State.FAILED)

    worker.wait_for(settled, RENDER_TIMEOUT, f"report {report.number} is rendered")
    assert report.state == Report.State.READY, report.error
    return report


def assert_signed_pdf_matches(report: Report, signing_key: Path) -> None:
    with report.file.open("rb") as handle:
        data = handle.read()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == report.sha256 and report.size == len(data)
    (signature,) = PdfFileReader(io.BytesIO(data)).embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(signing_key))])
    # In a thread of its own: pyHanko runs an event loop, and the browser tests leave one
    # running in this thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        status = pool.submit(validate_pdf_signature, signature, context).result()
    assert status.intact and status.valid and status.trusted


def test_an_issued_and_a_reissued_report_are_rendered_by_the_worker(
    compose_worker: WorkerProcess,
    approved: Assessment,
    admin: User,
    settings: LazySettings,
    signing_key: Path,
) -> None:
    start_rendering_worker(compose_worker, settings)

    report = certify.report_issue(assessment=approved, acting_user=admin)
    wait_until_rendered(compose_worker, report)
    assert_signed_pdf_matches(report, signing_key)
    assert report.attempts == 1

    new = certify.report_reissue(report=report, reason="更正了佐证材料清单", acting_user=admin)
    wait_until_rendered(compose_worker, new)
    assert_signed_pdf_matches(new, signing_key)
    report.refresh_from_db()
    assert report.status == Report.Status.SUPERSEDED
    assert new.sha256 != report.sha256


def test_a_report_whose_message_was_lost_is_rendered_once_a_worker_and_the_sweeper_run(
    compose_worker: WorkerProcess,
    approved: Assessment,
    admin: User,
    settings: LazySettings,
    signing_key: Path,
) -> None:
    from reports.scoring import results

    queue_purge(compose_worker.queue)  # the scorings the fixtures queued: done here instead,
    results.assessment_score(assessment_id=approved.pk)  # as a worker would have
    # Issued while no worker runs; then Redis loses the message (flushed, say).
    report = certify.report_issue(assessment=approved, acting_user=admin)
    assert queue_purge(compose_worker.queue) == 1

    start_rendering_worker(compose_worker, settings)
    report.refresh_from_db()
    assert report.state == Report.State.PENDING

    # Longer than the grace period later, the sweeper (sent by beat) runs in the worker.
    Report.objects.filter(pk=report.pk).update(
        issued_at=F("issued_at") - certify.RENDER_PENDING_GRACE - datetime.timedelta(seconds=1)
    )
    counts = reports_sweep_task.delay().get(timeout=RENDER_TIMEOUT)

    assert counts == {"reports": 1, "scoring_runs": 0, "assessments": 0}
    wait_until_rendered(compose_worker, report)
    assert_signed_pdf_matches(report, signing_key)
    sweep = AuditEvent.objects.get(action="reports.sweep.requeued")
    assert sweep.actor is None
    assert sweep.changes["reports"] == 1 and sweep.changes["report_numbers"] == [report.number]


def test_issuing_before_the_score_exists_queues_scoring_for_the_worker_and_never_scores_in_the_request(  # noqa: E501
    compose_worker: WorkerProcess,
    approved: Assessment,
    admin: User,
    settings: LazySettings,
    signing_key: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Approval queued scoring; the admin issues before the worker got to it (here: its result
    is not current any more and no worker runs). The request refuses with a message, queues the
    scoring, and computes nothing itself; the worker scores; issuing again works."""
    from django.core.exceptions import ValidationError

    from reports.scoring import results
    from reports.scoring.models import ScoreResult

    queue_purge(compose_worker.queue)
    ScoreResult.objects.filter(assessment=approved).update(is_current=False)

    def scored_in_the_request(**kwargs: object) -> None:
        raise AssertionError("scoring ran inside the request")

    with monkeypatch.context() as patched, translation.override("en"):
        patched.setattr(results, "assessment_score", scored_in_the_request)
        with pytest.raises(ValidationError, match="still being computed"):
            certify.report_issue(assessment=approved, acting_user=admin)
    assert not Report.objects.filter(assessment=approved).exists()

    start_rendering_worker(compose_worker, settings)
    compose_worker.wait_for(
        lambda: ScoreResult.objects.filter(assessment=approved, is_current=True).exists(),
        RENDER_TIMEOUT,
        "the queued scoring has run",
    )
    report = certify.report_issue(assessment=approved, acting_user=admin)
    wait_until_rendered(compose_worker, report)
    assert_signed_pdf_matches(report, signing_key)
