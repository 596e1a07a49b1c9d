"""The malware scan of evidence, with a real clamd (``tests/clamd_support.py``) and, where the
test is about it, a real Celery worker: a new file waits as ``pending_scan`` and nobody can
download it until it is found clean; an infected file's content is deleted and the vendor sees
why; a failed scan is tried again by the sweep once clamd is back; an admin may ask at once.
Without a scanner configured, files are ``not_scanned`` and served as before."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from accounts.models import User
from assessments import services
from assessments.evidence import services as evidence_services
from assessments.evidence.scanning import (
    CHUNK_BYTES,
    ClamdScanner,
    ScanError,
    Verdict,
    scanner_from_settings,
)
from assessments.evidence.tasks import evidence_scan_sweep_task
from assessments.models import Assessment, Assignment, Evidence
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from govcloud_eval.celery import app as celery_app
from indicators.models import Indicator
from tests.assessments.conftest import answer_everything
from tests.clamd_support import (
    CLOSED_PORT,
    SIGNATURE_NAME,
    STREAM_MAX_BYTES,
    TEST_SIGNATURE,
    ClamdProcess,
)
from tests.storage_support import S3Bucket
from tests.worker_support import WorkerProcess, _database_url, queue_purge

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

XHR = {"X-Requested-With": "XMLHttpRequest"}
CLEAN_TEXT = "等保三级测评报告摘要\nGB/T 22239-2019\n".encode()
INFECTED_TEXT = b"evidence summary\n" + TEST_SIGNATURE + b"\nend\n"


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return indicators_of(assessment=assessment)[0]


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def scan_with(settings: Settings, address: str) -> None:
    """Configures the test process as CLAMD_ADDRESS=<address> does."""
    settings.CLAMD_ADDRESS = address
    settings.CLAMD_TIMEOUT = 10
    settings.MALWARE_SCANNER = "assessments.evidence.scanning.ClamdScanner"


def client_for(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def post_file(client: Client, assessment: Assessment, indicator: Indicator, name: str, data: bytes):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        reverse("assessments:evidence_upload", args=[assessment.pk, indicator.pk]),
        {"file": handle},
        headers=XHR,
    )


def upload(assessment: Assessment, indicator: Indicator, vendor: User, name: str, data: bytes):
    return evidence_services.evidence_upload(
        assessment=assessment,
        indicator=indicator,
        upload=SimpleUploadedFile(name, data),
        acting_user=vendor,
    )


def download(user: User, item: Evidence) -> TestResponse:
    return client_for(user).get(reverse("assessments:evidence_download", args=[item.pk]))


def evidence_page(user: User, assessment: Assessment) -> str:
    response = client_for(user).get(reverse("assessments:evidence_list", args=[assessment.pk]))
    assert response.status_code == 200
    return response.content.decode()


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


# ----------------------------------------------------------------------------------------------
# The clamd client


class CountingReader(io.BytesIO):
    """A file that remembers the largest read asked of it."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size if size is not None and size >= 0 else 1 << 62)
        return super().read(size)


def test_the_client_finds_the_test_signature_over_tcp_and_over_a_unix_socket(
    clamd: ClamdProcess,
) -> None:
    for address in (clamd.address, clamd.unix_address):
        scanner = ClamdScanner(address, timeout=10)
        assert scanner.ping() is True
        assert scanner.scan(io.BytesIO(CLEAN_TEXT)) == Verdict(infected=False)
        assert scanner.scan(io.BytesIO(INFECTED_TEXT)) == Verdict(True, SIGNATURE_NAME)


def test_the_client_streams_in_chunks_and_clamd_sees_a_signature_across_two_of_them(
    clamd: ClamdProcess,
) -> None:
    # The signature straddles the end of the first chunk: clamd scans the stream, not chunks.
    data = b"a" * (CHUNK_BYTES - 10) + TEST_SIGNATURE + b"b" * (3 * CHUNK_BYTES)
    reader = CountingReader(data)

    verdict = ClamdScanner(clamd.address, timeout=10).scan(reader)

    assert verdict == Verdict(True, SIGNATURE_NAME)
    assert reader.largest == CHUNK_BYTES  # never the whole file at once


def test_a_stream_over_clamds_limit_is_a_scan_error_that_names_the_setting(
    clamd: ClamdProcess,
) -> None:
    with pytest.raises(ScanError, match="size limit exceeded.*StreamMaxLength"):
        ClamdScanner(clamd.address, timeout=10).scan(io.BytesIO(b"x" * (STREAM_MAX_BYTES + 1)))


def test_a_clamd_that_does_not_answer_is_a_scan_error() -> None:
    with pytest.raises(ScanError, match="cannot be reached"):
        ClamdScanner(f"tcp://127.0.0.1:{CLOSED_PORT}", timeout=2).scan(io.BytesIO(CLEAN_TEXT))


def test_the_scanner_comes_from_the_settings(settings: Settings) -> None:
    settings.MALWARE_SCANNER = ""
    assert scanner_from_settings() is None

    scan_with(settings, "unix:///run/clamav/clamd.ctl")
    scanner = scanner_from_settings()
    assert scanner == ClamdScanner("unix:///run/clamav/clamd.ctl", timeout=10.0)


# ----------------------------------------------------------------------------------------------
# Without a scanner: as before


@pytest.mark.django_db
def test_without_a_scanner_an_upload_is_not_scanned_and_can_be_downloaded(
    settings: Settings, media: Path, assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    settings.MALWARE_SCANNER = ""

    response = post_file(client_for(vendor), assessment, indicator, "摘要.txt", CLEAN_TEXT)

    assert response.status_code == 201, response.content
    assert response.json()["scan_state"] == "not_scanned"
    item = Evidence.objects.get()
    assert item.scan_state == Evidence.ScanState.NOT_SCANNED
    got = download(vendor, item)
    assert got.status_code == 200 and got.getvalue() == CLEAN_TEXT
    page = evidence_page(vendor, assessment)
    assert "virus scan" not in page


# ----------------------------------------------------------------------------------------------
# With a scanner, in the test process (the task's service called directly)


@pytest.mark.django_db
def test_a_new_upload_waits_for_its_scan_and_nobody_can_download_it_meanwhile(
    settings: Settings,
    media: Path,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    admin: User,
    owner: User,
    assignments: list[Assignment],
) -> None:
    scan_with(settings, f"tcp://127.0.0.1:{CLOSED_PORT}")

    # The scan would be queued when the upload commits; this test's transaction never does.
    response = post_file(client_for(vendor), assessment, indicator, "摘要.txt", CLEAN_TEXT)

    assert response.status_code == 201, response.content
    assert response.json()["scan_state"] == "pending_scan"
    item = Evidence.objects.get()
    assert item.scan_state == Evidence.ScanState.PENDING and item.scan_queued_at is not None
    assessor = assignments[0].assessor
    for user in (vendor, admin, owner, assessor):
        refused = download(user, item)
        assert refused.status_code == 409, user
        assert "being scanned for viruses" in refused.content.decode()
        assert not refused.streaming
    preview = client_for(admin).get(reverse("assessments:evidence_preview", args=[item.pk]))
    assert preview.status_code == 404  # a text file has no preview at all
    page = evidence_page(vendor, assessment)
    assert "virus scan in progress" in page
    assert reverse("assessments:evidence_download", args=[item.pk]) not in page
    # The assessor's scoring page shows the state too, and offers no download.
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    score = client_for(assessor).get(reverse("assessments:score", args=[assessment.pk]))
    assert score.status_code == 200
    assert "virus scan in progress" in score.content.decode()
    assert reverse("assessments:evidence_download", args=[item.pk]) not in score.content.decode()


@pytest.mark.django_db
def test_a_clean_file_becomes_downloadable_and_the_verdict_is_audited(
    settings: Settings,
    media: Path,
    clamd: ClamdProcess,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
) -> None:
    scan_with(settings, clamd.address)
    item = upload(assessment, indicator, vendor, "摘要.txt", CLEAN_TEXT)

    outcome = evidence_services.evidence_scan(evidence_id=item.pk)

    assert outcome.status == "clean"
    item.refresh_from_db()
    assert (item.scan_state, item.scan_attempts) == (Evidence.ScanState.CLEAN, 1)
    got = download(vendor, item)
    assert got.status_code == 200 and got.getvalue() == CLEAN_TEXT
    event = AuditEvent.objects.get(action="assessments.evidence.scanned")
    assert event.actor is None and event.target_id == str(item.pk)
    assert event.changes["scan_state"] == "clean"
    assert event.changes["scanner"] == f"clamd {clamd.address}"
    assert "no malware found" in evidence_page(vendor, assessment)
    # Run twice (a redelivered message): nothing more happens.
    assert evidence_services.evidence_scan(evidence_id=item.pk).status == "skipped"
    assert AuditEvent.objects.filter(action="assessments.evidence.scanned").count() == 1


@pytest.mark.django_db
def test_an_infected_file_is_deleted_from_storage_and_the_vendor_sees_why(
    settings: Settings,
    media: Path,
    clamd: ClamdProcess,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    scan_with(settings, clamd.address)
    item = upload(assessment, indicator, vendor, "巡检记录.txt", INFECTED_TEXT)
    assert len(stored_files(media)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        outcome = evidence_services.evidence_scan(evidence_id=item.pk)

    assert (outcome.status, outcome.detail) == ("infected", SIGNATURE_NAME)
    item.refresh_from_db()
    assert item.scan_state == Evidence.ScanState.INFECTED
    assert item.scan_detail == SIGNATURE_NAME
    assert not item.file.name
    assert stored_files(media) == []
    refused = download(vendor, item)
    assert refused.status_code == 409
    assert f"found malicious code ({SIGNATURE_NAME})" in refused.content.decode()
    page = evidence_page(vendor, assessment)
    assert "malicious code found" in page and SIGNATURE_NAME in page
    assert "upload a clean copy" in page
    infected = AuditEvent.objects.get(action="assessments.evidence.infected")
    assert infected.changes["scan_detail"] == SIGNATURE_NAME
    assert infected.changes["sha256"] == item.sha256
    assert infected.changes["stored_name"].startswith(f"evidence/{assessment.pk}/")


@pytest.mark.django_db
def test_a_failed_scan_is_tried_again_by_the_sweep_and_an_admin_may_ask_at_once(
    settings: Settings,
    media: Path,
    clamd: ClamdProcess,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    admin: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    scan_with(settings, f"tcp://127.0.0.1:{CLOSED_PORT}")
    item = upload(assessment, indicator, vendor, "摘要.txt", CLEAN_TEXT)

    assert evidence_services.evidence_scan(evidence_id=item.pk).status == "scan_failed"
    item.refresh_from_db()
    assert item.scan_state == Evidence.ScanState.FAILED
    assert "cannot be reached" in item.scan_detail
    assert download(vendor, item).status_code == 409
    page = evidence_page(vendor, assessment)
    assert "virus scan failed" in page and "Scan again" not in page
    assert "Scan again" in evidence_page(admin, assessment)
    # Another failure of a failed file is not audited again: the trail keeps the transitions.
    assert evidence_services.evidence_scan(evidence_id=item.pk).status == "scan_failed"
    assert AuditEvent.objects.filter(action="assessments.evidence.scanned").count() == 1

    # clamd is back: the sweep queues the file again (run in-process here) and it is clean.
    scan_with(settings, clamd.address)
    with django_capture_on_commit_callbacks(execute=True):
        assert evidence_scan_sweep_task.apply().get() == 1
    item.refresh_from_db()
    assert (item.scan_state, item.scan_attempts) == (Evidence.ScanState.CLEAN, 3)
    assert download(vendor, item).status_code == 200

    # Nothing waits any more: the sweep finds nothing.
    assert evidence_services.evidence_scan_sweep() == []


@pytest.mark.django_db
def test_only_an_admin_asks_for_a_new_scan_and_only_of_a_file_waiting_for_one(
    settings: Settings,
    media: Path,
    clamd: ClamdProcess,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    admin: User,
    owner: User,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    scan_with(settings, f"tcp://127.0.0.1:{CLOSED_PORT}")
    item = upload(assessment, indicator, vendor, "摘要.txt", CLEAN_TEXT)
    evidence_services.evidence_scan(evidence_id=item.pk)
    url = reverse("assessments:evidence_rescan", args=[item.pk])

    for user in (vendor, owner):
        assert client_for(user).post(url).status_code == 403
    scan_with(settings, clamd.address)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).post(url)

    assert response.status_code == 302
    item.refresh_from_db()
    assert item.scan_state == Evidence.ScanState.CLEAN
    event = AuditEvent.objects.get(action="assessments.evidence.rescan_requested")
    assert event.actor == admin
    assert event.changes["state"] == ["scan_failed", "pending_scan"]
    # A clean file is not waiting for a scan: refused with the reason.
    again = client_for(admin).post(url, headers=XHR)
    assert again.status_code == 409
    assert "is not waiting for a virus scan" in again.json()["errors"][0]


# ----------------------------------------------------------------------------------------------
# A real worker


@pytest.fixture
def scan_worker(transactional_db: None) -> Iterator[WorkerProcess]:
    """A real worker on a queue of its own, the default queue of this test; not yet started
    (the test gives it its environment first)."""
    from django.db import connection

    if celery_app.conf.broker_url.startswith("memory"):
        pytest.fail("REDIS_URL is not set: worker tests need Redis (`make test` sets it).")
    queue = f"gce-scan-{uuid.uuid4().hex[:8]}"
    previous = celery_app.conf.task_default_queue, celery_app.conf.task_always_eager
    celery_app.conf.task_default_queue = queue
    celery_app.conf.task_always_eager = False
    worker = WorkerProcess(queue, _database_url(connection.settings_dict))
    yield worker
    worker.stop()
    queue_purge(queue)
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = previous


def _scanned(pk: int) -> bool:
    return Evidence.objects.filter(pk=pk).exclude(scan_state=Evidence.ScanState.PENDING).exists()


@pytest.mark.worker
def test_a_real_worker_finds_one_upload_clean_and_another_infected(
    scan_worker: WorkerProcess,
    clamd: ClamdProcess,
    settings: Settings,
    media: Path,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
) -> None:
    scan_with(settings, clamd.address)
    scan_worker.env.update(CLAMD_ADDRESS=clamd.address, MEDIA_ROOT=str(media))
    scan_worker.start()
    scan_worker.wait_ready()
    client = client_for(vendor)

    clean = post_file(client, assessment, indicator, "摘要.txt", CLEAN_TEXT).json()
    infected = post_file(client, assessment, indicator, "巡检记录.txt", INFECTED_TEXT).json()

    assert clean["scan_state"] == infected["scan_state"] == "pending_scan"
    for pk in (clean["id"], infected["id"]):
        scan_worker.wait_for(partial(_scanned, pk), 60, f"evidence {pk} is scanned")
    good = Evidence.objects.get(pk=clean["id"])
    bad = Evidence.objects.get(pk=infected["id"])
    assert good.scan_state == Evidence.ScanState.CLEAN, good.scan_detail
    got = download(vendor, good)
    assert got.status_code == 200 and got.getvalue() == CLEAN_TEXT
    assert (bad.scan_state, bad.scan_detail) == (Evidence.ScanState.INFECTED, SIGNATURE_NAME)
    assert download(vendor, bad).status_code == 409
    # Only the clean file is left in storage.
    assert [p.name for p in stored_files(media)] == [Path(good.file.name or "").name]


@pytest.mark.worker
def test_with_clamd_stopped_the_scan_fails_and_the_sweep_succeeds_once_it_is_back(
    scan_worker: WorkerProcess,
    own_clamd: ClamdProcess,
    settings: Settings,
    media: Path,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
) -> None:
    scan_with(settings, own_clamd.address)
    scan_worker.env.update(
        CLAMD_ADDRESS=own_clamd.address, CLAMD_TIMEOUT="5", MEDIA_ROOT=str(media)
    )
    scan_worker.start()
    scan_worker.wait_ready()

    pk = post_file(client_for(vendor), assessment, indicator, "摘要.txt", CLEAN_TEXT).json()["id"]

    scan_worker.wait_for(lambda: _scanned(pk), 60, "the scan fails")
    item = Evidence.objects.get(pk=pk)
    assert item.scan_state == Evidence.ScanState.FAILED
    assert "cannot be reached" in item.scan_detail
    assert download(vendor, item).status_code == 409

    own_clamd.start()
    evidence_scan_sweep_task.delay()  # as beat sends it, to the worker

    scan_worker.wait_for(
        lambda: Evidence.objects.filter(pk=pk, scan_state=Evidence.ScanState.CLEAN).exists(),
        60,
        "the sweep's scan finds the file clean",
    )
    assert download(vendor, Evidence.objects.get(pk=pk)).status_code == 200


@pytest.mark.worker
def test_a_real_worker_scans_a_file_stored_in_s3_and_deletes_an_infected_object(
    scan_worker: WorkerProcess,
    s3_bucket: S3Bucket,
    clamd: ClamdProcess,
    settings: Settings,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
) -> None:
    scan_with(settings, clamd.address)
    scan_worker.env.update(
        CLAMD_ADDRESS=clamd.address,
        MEDIA_ROOT=str(s3_bucket.media_root),
        **s3_bucket.environment(),
    )
    scan_worker.start()
    scan_worker.wait_ready()
    client = client_for(vendor)

    clean = post_file(client, assessment, indicator, "摘要.txt", CLEAN_TEXT).json()
    infected = post_file(client, assessment, indicator, "巡检记录.txt", INFECTED_TEXT).json()
    assert len(s3_bucket.keys()) == 2

    for pk in (clean["id"], infected["id"]):
        scan_worker.wait_for(partial(_scanned, pk), 60, f"evidence {pk} is scanned")
    good = Evidence.objects.get(pk=clean["id"])
    bad = Evidence.objects.get(pk=infected["id"])
    assert good.scan_state == Evidence.ScanState.CLEAN, good.scan_detail
    assert bad.scan_state == Evidence.ScanState.INFECTED, bad.scan_detail
    scan_worker.wait_for(
        lambda: s3_bucket.keys() == [good.file.name], 30, "the infected object is deleted"
    )
    got = download(vendor, good)
    assert got.status_code == 200 and got.getvalue() == CLEAN_TEXT
    assert download(vendor, bad).status_code == 409
    assert s3_bucket.media_files() == []
