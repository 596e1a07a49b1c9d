"""Certified reports in S3 object storage, on the suite's SeaweedFS: a report rendered by a real
worker (started as docker-compose.yml starts it, given the bucket through its environment only)
lands in the bucket, and the download streams it from there to those who may read it; outsiders
get 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import LazySettings
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from accounts.models import User
from assessments.models import Assessment
from reports.certified import services as certify
from reports.models import Report
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.test_worker_render import assert_signed_pdf_matches
from tests.storage_support import S3Bucket, assert_streamed_from_the_store
from tests.worker_support import WorkerProcess

RENDER_TIMEOUT = 60


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_report_rendered_in_the_bucket_is_streamed_to_its_readers_and_404_to_outsiders(
    s3_bucket: S3Bucket,
    issued: Report,  # noqa: F811
    vendor: User,
    owner: User,
    admin: User,
    outsider_vendor: User,
    assessor: User,
    rf: RequestFactory,
) -> None:
    assert issued.file.name is not None and issued.file.name.startswith("reports/")
    assert s3_bucket.sha256(issued.file.name) == issued.sha256
    url = reverse("certified:download", args=[issued.pk])

    for reader in (vendor, owner, admin):
        response = client_for(reader).get(url)
        assert response.status_code == 200, reader.role
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == f'attachment; filename="{issued.number}.pdf"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Length"] == str(issued.size)
        assert response.getvalue() == s3_bucket.read(issued.file.name)
    for outsider in (outsider_vendor, assessor):
        assert client_for(outsider).get(url).status_code == 404, outsider.role

    request = rf.get(url)
    request.user = vendor
    streamed = resolve(url).func(request, pk=issued.pk)
    assert_streamed_from_the_store(streamed)
    assert s3_bucket.media_files() == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_report_rendered_by_a_real_worker_lands_in_the_bucket(
    s3_bucket: S3Bucket,
    compose_worker: WorkerProcess,
    approved: Assessment,  # noqa: F811
    admin: User,
    vendor: User,
    settings: LazySettings,
    signing_key: Path,  # noqa: F811
) -> None:
    # The worker shares nothing with this process but the database, Redis and the bucket: its
    # MEDIA_ROOT is a folder that must stay empty.
    compose_worker.env.update(
        REPORT_SIGNING_KEY=settings.REPORT_SIGNING_KEY,
        REPORT_SIGNING_CERT=settings.REPORT_SIGNING_CERT,
        REPORT_SIGNING_PASSPHRASE=settings.REPORT_SIGNING_PASSPHRASE,
        MEDIA_ROOT=str(s3_bucket.media_root),
        **s3_bucket.environment(),
    )
    compose_worker.start()
    compose_worker.wait_ready()

    report = certify.report_issue(assessment=approved, acting_user=admin)

    def settled() -> bool:
        report.refresh_from_db()
        return report.state in (Report.State.READY, Report.State.FAILED)

    compose_worker.wait_for(settled, RENDER_TIMEOUT, f"report {report.number} is rendered")
    assert report.state == Report.State.READY, report.error
    assert report.file.name is not None
    assert report.file.name in s3_bucket.keys(prefix="reports/")
    assert s3_bucket.sha256(report.file.name) == report.sha256
    assert s3_bucket.head(report.file.name)["ContentLength"] == report.size
    # Read back through the portal's storage, from the bucket: the signature holds.
    assert_signed_pdf_matches(report, signing_key)
    response = client_for(vendor).get(reverse("certified:download", args=[report.pk]))
    assert response.status_code == 200 and response.getvalue() == s3_bucket.read(report.file.name)
    assert s3_bucket.media_files() == []
