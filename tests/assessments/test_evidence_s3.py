"""Evidence in S3 object storage, on the suite's SeaweedFS: uploads land in the bucket (large ones
in parts), with the SHA-256 and size the portal recorded, and nothing under MEDIA_ROOT;
downloads and previews stream from the bucket after the same access checks (outsiders get 404);
deleting a draft's file removes its object."""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from botocore.response import StreamingBody
from django.http import FileResponse
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from accounts.models import User
from assessments.models import Assessment, Evidence
from assessments.selectors import indicators_of
from indicators.models import Indicator
from tests.assessments.evidence_files import PDF
from tests.storage_support import S3Bucket

pytestmark = pytest.mark.django_db

XHR = {"X-Requested-With": "XMLHttpRequest"}
MIB = 1024 * 1024


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return indicators_of(assessment=assessment)[0]


def client_for(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def upload(client: Client, assessment: Assessment, indicator: Indicator, name: str, data: bytes):
    handle = io.BytesIO(data)
    handle.name = name
    return client.post(
        reverse("assessments:evidence_upload", args=[assessment.pk, indicator.pk]),
        {"file": handle},
        headers=XHR,
    )


def csv_bytes(size: int) -> bytes:
    line = b"2026-06-30,370100,vm-000001,cpu 37.5%,mem 61.2%,ok\n"
    return (line * (size // len(line) + 1))[:size]


def test_an_upload_lands_in_the_bucket_with_the_recorded_sha256_and_size(
    s3_bucket: S3Bucket, assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    response = upload(client_for(vendor), assessment, indicator, "等保测评报告.pdf", PDF)

    assert response.status_code == 201, response.content
    item = Evidence.objects.get()
    assert item.file.name is not None
    assert s3_bucket.keys() == [item.file.name]
    assert (item.size, item.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert s3_bucket.sha256(item.file.name) == item.sha256
    head = s3_bucket.head(item.file.name)
    assert head["ContentLength"] == item.size and not s3_bucket.is_multipart(item.file.name)
    assert s3_bucket.media_files() == []


def test_an_object_is_not_readable_without_the_credentials(
    s3_bucket: S3Bucket, assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    upload(client_for(vendor), assessment, indicator, "等保测评报告.pdf", PDF)
    key = Evidence.objects.get().file.name

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{s3_bucket.endpoint_url}/{s3_bucket.name}/{key}", timeout=10)
    assert refused.value.code == 403


def test_a_large_upload_goes_up_as_a_multipart_upload(
    s3_bucket: S3Bucket, assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    data = csv_bytes(20 * MIB)

    response = upload(client_for(vendor), assessment, indicator, "监控数据.csv", data)

    assert response.status_code == 201, response.content
    item = Evidence.objects.get()
    assert item.file.name is not None
    # 8 MiB parts (settings: the transfer configuration).
    assert s3_bucket.parts(item.file.name) == 3
    assert s3_bucket.sha256(item.file.name) == item.sha256 == hashlib.sha256(data).hexdigest()
    assert s3_bucket.head(item.file.name)["ContentLength"] == item.size == len(data)
    assert s3_bucket.media_files() == []


@pytest.mark.parametrize("view", ["assessments:evidence_download", "assessments:evidence_preview"])
def test_downloads_stream_from_the_bucket_with_the_same_headers(
    s3_bucket: S3Bucket,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    rf: RequestFactory,
    view: str,
) -> None:
    upload(client_for(vendor), assessment, indicator, "等保测评报告.pdf", PDF)
    item = Evidence.objects.get()

    request = rf.get(reverse(view, args=[item.pk]))
    request.user = vendor
    response = resolve(request.path).func(request, pk=item.pk)

    assert isinstance(response, FileResponse) and response.status_code == 200
    # The body of one GET to the object store, not a copy downloaded first.
    assert isinstance(response.file_to_stream, StreamingBody)
    assert response["Content-Length"] == str(len(PDF))
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    kind = "attachment" if view.endswith("download") else "inline"
    assert response["Content-Disposition"].startswith(f"{kind}; ")
    assert b"".join(response.streaming_content) == PDF
    response.file_to_stream.close()


@pytest.mark.parametrize("view", ["assessments:evidence_download", "assessments:evidence_preview"])
def test_outsiders_get_404_for_evidence_in_the_bucket(
    s3_bucket: S3Bucket,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    owner: User,
    outsider_vendor: User,
    auditor: User,
    view: str,
) -> None:
    upload(client_for(vendor), assessment, indicator, "等保测评报告.pdf", PDF)
    url = reverse(view, args=[Evidence.objects.get().pk])

    owners = client_for(owner).get(url)
    assert owners.status_code == 200 and owners.getvalue() == PDF
    assert client_for(outsider_vendor).get(url).status_code == 404
    assert client_for(auditor).get(url).status_code == 404


def test_an_object_gone_from_the_bucket_is_404(
    s3_bucket: S3Bucket, assessment: Assessment, indicator: Indicator, vendor: User
) -> None:
    upload(client_for(vendor), assessment, indicator, "等保测评报告.pdf", PDF)
    item = Evidence.objects.get()
    s3_bucket.client.delete_object(Bucket=s3_bucket.name, Key=str(item.file.name))

    response = client_for(vendor).get(reverse("assessments:evidence_download", args=[item.pk]))

    assert response.status_code == 404


def test_deleting_a_drafts_evidence_removes_its_object(
    s3_bucket: S3Bucket,
    assessment: Assessment,
    indicator: Indicator,
    vendor: User,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[list[Callable]]],
) -> None:
    client = client_for(vendor)
    upload(client, assessment, indicator, "等保测评报告.pdf", PDF)
    kept = upload(client, assessment, indicator, "说明.pdf", PDF + b"%kept")
    item = Evidence.objects.get(original_name="等保测评报告.pdf")
    assert len(s3_bucket.keys()) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("assessments:evidence_delete", args=[item.pk]), headers=XHR)

    assert response.status_code == 200
    assert not Evidence.objects.filter(pk=item.pk).exists()
    assert s3_bucket.keys() == [Evidence.objects.get(pk=kept.json()["id"]).file.name]
