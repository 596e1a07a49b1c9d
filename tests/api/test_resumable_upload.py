"""Resumable, chunked evidence uploads over the API (tus 1.0.0): chunks with their own SHA-256,
resumed from the last good one after an interruption, the whole file checked like a browser
upload and stored in the same storage (S3 included), refusals that keep nothing, and the expiry
of abandoned uploads.

The acceptance test sends a 200 MiB archive in 8 MiB chunks to a real server (``live_server``),
cuts one chunk off halfway through the file, resumes from the offset HEAD gives, and finds the
evidence's SHA-256 equal to the file's."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import io
import os
import socket
import uuid
import zipfile
from pathlib import Path
from typing import Any, cast
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries, Settings
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from accounts.api_tokens import api_token_create
from accounts.models import User
from assessments.evidence import resumable
from assessments.evidence.tasks import resumable_uploads_expire_task
from assessments.models import Assessment, Evidence, ResumableUpload, ResumableUploadChunk
from assessments.selectors import indicators_of
from govcloud_eval.limits import SLACK
from govcloud_eval.storage import open_stream
from indicators.models import Indicator
from tests.assessments.evidence_files import PDF
from tests.storage_support import S3Bucket

from .conftest import token_client

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024
TUS: dict[str, Any] = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_ACCEPT_LANGUAGE": "en"}
# A genuine PDF of about 300 KB: comment lines after the header.
DOCUMENT = PDF + b"".join(b"%% line %06d of padding for the chunks\n" % i for i in range(8000))


# ----------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def indicator(assessment: Assessment) -> Indicator:
    return indicators_of(assessment=assessment)[0]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def metadata(assessment: Assessment, item: Indicator, name: str, data: bytes, **more: str) -> str:
    pairs = {
        "assessment": str(assessment.pk),
        "indicator": item.code,
        "filename": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        **more,
    }
    return ",".join(f"{key} {b64(value)}" for key, value in pairs.items())


def create(
    client: APIClient,
    assessment: Assessment,
    item: Indicator,
    data: bytes,
    name: str = "等保测评报告.pdf",
    length: int | None = None,
    **more: str,
) -> Any:
    return client.post(
        "/api/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(len(data) if length is None else length),
        HTTP_UPLOAD_METADATA=metadata(assessment, item, name, data, **more),
        **TUS,
    )


def checksum(chunk: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(chunk).digest()).decode("ascii")


def patch(
    client: APIClient, url: str, offset: int, chunk: bytes, digest: str | None = "auto"
) -> Any:
    headers: dict[str, Any] = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset)}
    if digest is not None:
        headers["HTTP_UPLOAD_CHECKSUM"] = checksum(chunk) if digest == "auto" else digest
    return send(client, url, chunk, "application/offset+octet-stream", headers)


def send(
    client: APIClient, url: str, body: bytes, content_type: str, headers: dict[str, Any]
) -> Any:
    """A PATCH with a binary body (the stubs type ``generic``'s data as text)."""
    return client.generic("PATCH", url, cast(Any, body), content_type, **headers)


def path_of(response: Any) -> str:
    assert response.status_code == 201, response.content
    return urlsplit(response["Location"]).path


def upload_whole(client: APIClient, url: str, data: bytes, parts: int) -> Any:
    step = -(-len(data) // parts)
    response = None
    for offset in range(0, len(data), step):
        response = patch(client, url, offset, data[offset : offset + step])
        assert response.status_code in (204, 400), response.content
    return response


def upload_of(url: str) -> ResumableUpload:
    return ResumableUpload.objects.get(pk=url.rstrip("/").rsplit("/", 1)[1])


# ----------------------------------------------------------------------------------------------
# The happy path, on the file system and on S3


def _happy_path(vendor: User, assessment: Assessment, indicator: Indicator) -> Evidence:
    client = token_client(vendor)
    created = create(client, assessment, indicator, DOCUMENT)
    url = path_of(created)
    assert created["Tus-Resumable"] == "1.0.0"
    assert created["Upload-Offset"] == "0" and created["Upload-Expires"].endswith("GMT")
    assert created.json()["state"] == "receiving" and created.json()["length"] == len(DOCUMENT)
    step = len(DOCUMENT) // 3 + 1
    offsets = []
    for offset in range(0, len(DOCUMENT), step):
        head = client.head(url, **TUS)
        assert head.status_code == 200 and head["Upload-Offset"] == str(offset)
        assert head["Upload-Length"] == str(len(DOCUMENT)) and head["Cache-Control"] == "no-store"
        response = patch(client, url, offset, DOCUMENT[offset : offset + step])
        assert response.status_code == 204, response.content
        offsets.append(int(response["Upload-Offset"]))
    assert offsets == [step, 2 * step, len(DOCUMENT)]
    evidence = Evidence.objects.get()
    assert response["Upload-Evidence"] == f"/api/v1/evidence/{evidence.pk}/"
    assert (evidence.size, evidence.sha256, evidence.original_name) == (
        len(DOCUMENT),
        hashlib.sha256(DOCUMENT).hexdigest(),
        "等保测评报告.pdf",
    )
    assert (evidence.indicator, evidence.uploaded_by, evidence.version) == (indicator, vendor, 1)
    assert evidence.content_type == "application/pdf"
    stream = open_stream(evidence.file)
    try:
        assert stream.read() == DOCUMENT
    finally:
        stream.close()
    status = client.get(url).json()
    assert status["state"] == "complete" and status["offset"] == len(DOCUMENT)
    assert status["evidence"] == evidence.pk
    assert status["evidence_url"] == f"/api/v1/evidence/{evidence.pk}/"
    assert status["error"] is None
    upload = upload_of(url)
    assert resumable.chunk_names(upload.pk) == []
    assert not ResumableUploadChunk.objects.exists()
    return evidence


def test_a_file_sent_in_three_chunks_becomes_evidence_and_its_chunks_go(
    vendor: User, assessment: Assessment, indicator: Indicator, settings: Settings
) -> None:
    evidence = _happy_path(vendor, assessment, indicator)
    assert evidence.file.name and evidence.file.name.startswith("evidence/")
    assert not (
        Path(settings.MEDIA_ROOT) / "uploads" / str(ResumableUpload.objects.get().pk)
    ).exists()


def test_on_s3_the_chunks_and_the_file_land_in_the_bucket(
    s3_bucket: S3Bucket, vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    evidence = _happy_path(vendor, assessment, indicator)
    assert s3_bucket.keys() == [evidence.file.name]
    assert s3_bucket.sha256(evidence.file.name) == hashlib.sha256(DOCUMENT).hexdigest()
    assert s3_bucket.media_files() == []


def test_on_s3_a_chunk_is_an_object_until_the_file_is_whole(
    s3_bucket: S3Bucket, vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    url = path_of(create(client, assessment, indicator, DOCUMENT))
    assert patch(client, url, 0, DOCUMENT[:1000]).status_code == 204
    upload = upload_of(url)
    (key,) = s3_bucket.keys()
    assert key.startswith(f"uploads/{upload.pk}/00000000000000000000-")
    assert s3_bucket.read(key) == DOCUMENT[:1000]
    assert client.delete(url, **TUS).status_code == 204
    assert s3_bucket.keys() == []


def test_options_tells_the_protocol_and_its_extensions() -> None:
    response = APIClient().options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0" and response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,checksum,expiration,termination"
    assert response["Tus-Checksum-Algorithm"] == "sha256"
    assert int(response["Tus-Max-Size"]) > 0


# ----------------------------------------------------------------------------------------------
# The acceptance test: 200 MiB against a real server, interrupted halfway, resumed


def _archive(path: Path, size: int) -> str:
    """Writes a ZIP archive of about ``size`` bytes whose members are stored random data (it
    passes the evidence checks: no compression, nothing nested), 8 MiB at a time; returns its
    SHA-256."""
    part = 8 * MIB
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for index in range(size // part):
            info = zipfile.ZipInfo(
                f"监测数据/part-{index:03d}.bin", date_time=(2026, 6, 30, 0, 0, 0)
            )
            info.file_size = part
            with archive.open(info, "w", force_zip64=True) as member:
                member.write(os.urandom(part))
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(MIB):
            digest.update(data)
    return digest.hexdigest()


class Server:
    """http.client requests to the live server with a vendor's token."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 80
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Tus-Resumable": "1.0.0",
            "Accept-Language": "en",
        }

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            connection.request(
                method,
                path,
                body=body,
                headers={**self.headers, **{k.replace("_", "-"): v for k, v in headers.items()}},
            )
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def cut_off(self, path: str, offset: int, chunk: bytes, sent: int) -> bytes:
        """A PATCH declaring ``chunk`` whole whose client stops sending after ``sent`` bytes
        and closes its side of the connection; returns what the server answered."""
        head = (
            f"PATCH {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in self.headers.items())
            + "Content-Type: application/offset+octet-stream\r\n"
            + f"Content-Length: {len(chunk)}\r\nUpload-Offset: {offset}\r\n"
            + f"Upload-Checksum: {checksum(chunk)}\r\n\r\n"
        )
        answer = b""
        with socket.create_connection((self.host, self.port), timeout=60) as raw:
            raw.sendall(head.encode("latin-1"))
            raw.sendall(chunk[:sent])
            raw.shutdown(socket.SHUT_WR)
            while data := raw.recv(65536):
                answer += data
        return answer


@pytest.mark.django_db(transaction=True)
# 200 MiB to the file system (the acceptance test); on S3 the same path with 40 MiB (five
# chunks, still multipart in the bucket), to keep the suite's time.
@pytest.mark.parametrize(("store", "size_mib"), [("file_system", 200), ("s3", 40)])
def test_a_200_mib_upload_interrupted_halfway_resumes_and_keeps_the_right_sha256(
    store: str,
    size_mib: int,
    request: pytest.FixtureRequest,
    live_server: LiveServer,
    vendor: User,
    assessment: Assessment,
    indicator: Indicator,
    tmp_path: Path,
) -> None:
    bucket: S3Bucket | None = request.getfixturevalue("s3_bucket") if store == "s3" else None
    path = tmp_path / "云平台监测数据.zip"
    whole = _archive(path, size_mib * MIB)
    length = path.stat().st_size
    assert length > size_mib * MIB
    _, token = api_token_create(user=vendor, name="tus", acting_user=vendor)
    server = Server(live_server.url, token)
    meta = ",".join(
        f"{key} {b64(value)}"
        for key, value in {
            "assessment": str(assessment.pk),
            "indicator": indicator.code,
            "filename": path.name,
            "sha256": whole,
        }.items()
    )
    status, headers, body = server.request(
        "POST", "/api/v1/uploads/", Upload_Length=str(length), Upload_Metadata=meta
    )
    assert status == 201, body
    url = urlsplit(headers["Location"]).path
    step = 8 * MIB
    interrupted = False
    offset = 0
    with path.open("rb") as handle:
        while offset < length:
            handle.seek(offset)
            chunk = handle.read(step)
            if not interrupted and offset >= length // 2:
                interrupted = True
                answer = server.cut_off(url, offset, chunk, 3 * MIB)
                assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
                assert b'"code":"incomplete_chunk"' in answer
                status, headers, _ = server.request("HEAD", url)
                assert status == 200 and int(headers["Upload-Offset"]) == offset
                continue  # resume from the offset HEAD gave: the same one
            status, headers, body = server.request(
                "PATCH",
                url,
                chunk,
                Content_Type="application/offset+octet-stream",
                Upload_Offset=str(offset),
                Upload_Checksum=checksum(chunk),
            )
            assert status == 204, body
            offset = int(headers["Upload-Offset"])
    assert interrupted
    evidence = Evidence.objects.get()
    assert headers["Upload-Evidence"] == f"/api/v1/evidence/{evidence.pk}/"
    assert (evidence.sha256, evidence.size) == (whole, length)
    assert evidence.content_type == "application/zip"
    digest = hashlib.sha256()
    stream = open_stream(evidence.file)
    try:
        while data := stream.read(MIB):
            digest.update(data)
    finally:
        stream.close()
    assert digest.hexdigest() == whole
    upload = ResumableUpload.objects.get()
    assert upload.state == ResumableUpload.State.COMPLETE
    assert resumable.chunk_names(upload.pk) == []
    if bucket is not None:
        assert bucket.keys() == [evidence.file.name] and bucket.is_multipart(evidence.file.name)
        assert bucket.media_files() == []


# ----------------------------------------------------------------------------------------------
# Refused chunks keep nothing


@pytest.fixture
def started(vendor: User, assessment: Assessment, indicator: Indicator) -> tuple[APIClient, str]:
    client = token_client(vendor)
    url = path_of(create(client, assessment, indicator, DOCUMENT))
    assert patch(client, url, 0, DOCUMENT[:1000]).status_code == 204
    return client, url


def test_a_chunk_with_another_checksum_is_refused_with_460_and_nothing_kept(
    started: tuple[APIClient, str],
) -> None:
    client, url = started
    response = patch(client, url, 1000, DOCUMENT[1000:2000], checksum(b"something else"))
    assert response.status_code == 460
    assert response.reason_phrase == "Checksum Mismatch"
    assert response.json()["code"] == "checksum_mismatch"
    assert client.head(url, **TUS)["Upload-Offset"] == "1000"
    assert len(resumable.chunk_names(upload_of(url).pk)) == 1
    assert ResumableUploadChunk.objects.count() == 1


def test_a_chunk_without_a_checksum_or_with_a_bad_one_is_refused_with_400(
    started: tuple[APIClient, str],
) -> None:
    client, url = started
    chunk = DOCUMENT[1000:2000]
    for digest, code in (
        (None, "checksum_missing"),
        ("md5 " + base64.b64encode(hashlib.md5(chunk).digest()).decode(), "checksum_algorithm"),
        ("sha256 not-base64!", "checksum_invalid"),
        ("sha256 " + base64.b64encode(b"short").decode(), "checksum_invalid"),
    ):
        response = patch(client, url, 1000, chunk, digest)
        assert response.status_code == 400, digest
        assert response.json()["code"] == code
    assert client.head(url, **TUS)["Upload-Offset"] == "1000"


def test_a_chunk_at_another_offset_is_refused_with_409(started: tuple[APIClient, str]) -> None:
    client, url = started
    for offset in (0, 999, 1001):
        response = patch(client, url, offset, DOCUMENT[offset : offset + 10])
        assert response.status_code == 409
        assert response.json()["code"] == "offset_mismatch"
    assert client.head(url, **TUS)["Upload-Offset"] == "1000"


def test_of_two_chunks_sent_at_once_at_one_offset_exactly_one_is_kept(
    started: tuple[APIClient, str],
) -> None:
    client, url = started
    real = resumable._chunk_record
    rival: list[Any] = []

    def record_after_a_rival(*args: Any) -> None:
        # The other request finishes while this one's chunk was being stored.
        if not rival:
            rival.append(None)
            rival[0] = patch(client, url, 1000, DOCUMENT[1000:1500])
        real(*args)

    with mock.patch.object(resumable, "_chunk_record", record_after_a_rival):
        response = patch(client, url, 1000, DOCUMENT[1000:2000])
    assert rival[0].status_code == 204 and rival[0]["Upload-Offset"] == "1500"
    assert response.status_code == 409 and response.json()["code"] == "offset_mismatch"
    upload = upload_of(url)
    assert upload.offset == 1500
    assert list(upload.chunks.values_list("offset", "size")) == [(0, 1000), (1000, 500)]
    assert len(resumable.chunk_names(upload.pk)) == 2  # the loser's object was deleted


def test_a_chunk_past_the_declared_length_or_with_another_content_type_is_refused(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    url = path_of(create(client, assessment, indicator, DOCUMENT[:5000]))
    response = patch(client, url, 0, DOCUMENT[:5001])
    assert response.status_code == 400 and response.json()["code"] == "beyond_length"
    response = send(
        client,
        url,
        DOCUMENT[:10],
        "text/plain",
        {**TUS, "HTTP_UPLOAD_OFFSET": "0", "HTTP_UPLOAD_CHECKSUM": checksum(DOCUMENT[:10])},
    )
    assert response.status_code == 415
    response = send(
        client,
        url,
        DOCUMENT[:10],
        "application/octet-stream",  # what generic HTTP tools send: taken too
        {**TUS, "HTTP_UPLOAD_OFFSET": "0", "HTTP_UPLOAD_CHECKSUM": checksum(DOCUMENT[:10])},
    )
    assert response.status_code == 204
    response = send(
        client,
        url,
        b"",
        "application/offset+octet-stream",
        {**TUS, "HTTP_UPLOAD_OFFSET": "banana", "HTTP_UPLOAD_CHECKSUM": checksum(b"")},
    )
    assert response.status_code == 400
    assert upload_of(url).offset == 10


def test_a_chunk_larger_than_the_chunk_limit_is_refused_with_413(
    started: tuple[APIClient, str], settings: Settings
) -> None:
    client, url = started
    settings.RESUMABLE_CHUNK_MAX_BYTES = 500
    response = patch(client, url, 1000, DOCUMENT[1000:1600])
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert upload_of(url).offset == 1000


def test_a_chunk_cut_off_is_discarded(started: tuple[APIClient, str]) -> None:
    _, url = started
    upload = upload_of(url)
    with pytest.raises(resumable.UploadError) as refused:
        resumable.resumable_chunk_receive(
            upload=upload,
            offset=1000,
            size=1000,
            checksum=hashlib.sha256(DOCUMENT[1000:2000]).digest(),
            read=io.BytesIO(DOCUMENT[1000:1300]).read,  # then the client went away
            acting_user=upload.created_by,
        )
    assert refused.value.code == "incomplete_chunk"
    assert upload_of(url).offset == 1000
    assert len(resumable.chunk_names(upload.pk)) == 1


def test_requests_without_the_protocol_version_get_412(started: tuple[APIClient, str]) -> None:
    client, url = started
    head = client.head(url, HTTP_TUS_RESUMABLE="0.2.2")
    assert head.status_code == 412 and head["Tus-Version"] == "1.0.0"
    response = client.delete(url, HTTP_TUS_RESUMABLE="2.0.0")
    assert response.status_code == 412 and response.json()["code"] == "tus_version"
    assert upload_of(url).state == ResumableUpload.State.RECEIVING
    # Without the header, 1.0.0 is meant (curl users forget it).
    assert client.head(url)["Upload-Offset"] == "1000"


# ----------------------------------------------------------------------------------------------
# The whole file: its checksum, then the evidence checks


def test_a_file_whose_whole_checksum_differs_fails_and_nothing_is_saved(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    declared = DOCUMENT[:-1] + b"?"
    url = path_of(create(client, assessment, indicator, declared))
    response = upload_whole(client, url, DOCUMENT, 2)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "checksum_mismatch"
    assert hashlib.sha256(declared).hexdigest() in body["message"]
    assert not Evidence.objects.exists()
    upload = upload_of(url)
    assert upload.state == ResumableUpload.State.FAILED and "SHA-256" in upload.error
    assert resumable.chunk_names(upload.pk) == [] and not upload.chunks.exists()
    status = client.get(url).json()
    assert status["state"] == "failed" and status["error"] == body["message"]
    response = patch(client, url, len(DOCUMENT), b"")
    assert response.status_code == 409 and response.json()["code"] == "upload_ended"


def test_a_file_refused_by_the_evidence_checks_gets_the_browsers_message(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    program = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)) * 40
    client = token_client(vendor)
    url = path_of(create(client, assessment, indicator, program, name="报告.pdf"))
    response = upload_whole(client, url, program, 3)
    assert response.status_code == 400
    message = response.json()["message"]
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(vendor)
    handle = io.BytesIO(program)
    handle.name = "报告.pdf"
    page = browser.post(
        reverse("assessments:evidence_upload", args=[assessment.pk, indicator.pk]),
        {"file": handle},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert page.status_code == 400 and page.json()["errors"] == [message]
    assert "报告.pdf" in message
    assert not Evidence.objects.exists()
    upload = upload_of(url)
    assert upload.state == ResumableUpload.State.FAILED and upload.error == message
    assert resumable.chunk_names(upload.pk) == []


def test_a_second_file_of_the_same_name_becomes_the_next_version(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    for _ in range(2):
        url = path_of(create(client, assessment, indicator, DOCUMENT))
        assert upload_whole(client, url, DOCUMENT, 1).status_code == 204
    assert list(Evidence.objects.values_list("version", flat=True).order_by("version")) == [1, 2]


# ----------------------------------------------------------------------------------------------
# Creation: who, what, how large


def test_creation_refuses_bad_metadata_before_any_byte(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    cases: list[dict[str, Any]] = [
        {"HTTP_UPLOAD_METADATA": "assessment !!!"},
        {"HTTP_UPLOAD_METADATA": f"assessment {b64(str(assessment.pk))}"},
        {"HTTP_UPLOAD_LENGTH": "-5"},
        {"HTTP_UPLOAD_LENGTH": "0"},
    ]
    for headers in cases:
        response = client.post(
            "/api/v1/uploads/",
            **{
                "HTTP_UPLOAD_LENGTH": "100",
                "HTTP_UPLOAD_METADATA": metadata(assessment, indicator, "a.pdf", b"x"),
                **TUS,
                **headers,
            },
        )
        assert response.status_code == 400, (headers, response.content)
    for name in ("setup.exe", "../a.pdf", "a\x00.pdf"):
        response = create(client, assessment, indicator, DOCUMENT, name=name)
        assert response.status_code == 400, name
    response = create(client, assessment, indicator, DOCUMENT, issued_on="2026-13-01")
    assert response.status_code == 400 and "not a date" in response.json()["message"]
    response = create(
        client, assessment, indicator, DOCUMENT, issued_on="2026-06-01", valid_until="2026-01-01"
    )
    assert response.status_code == 400
    other = Indicator.objects.exclude(framework_id=assessment.campaign.framework_id).first()
    assert other is not None
    for code in (f"{other.code}-x", "1.1\x00", "x" * 100):
        response = create(client, assessment, indicator, DOCUMENT, indicator=code)
        assert response.status_code == 400, code
        assert response.json()["fields"]["indicator"]
    assert not ResumableUpload.objects.exists()


def test_a_file_over_the_size_limit_is_refused_at_creation_with_413(
    vendor: User, assessment: Assessment, indicator: Indicator, settings: Settings
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    response = create(token_client(vendor), assessment, indicator, DOCUMENT)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "larger than the limit" in response.json()["message"]
    assert not ResumableUpload.objects.exists()


def test_another_vendor_neither_sees_nor_touches_the_upload(
    started: tuple[APIClient, str],
    outsider_vendor: User,
    assessment: Assessment,
    indicator: Indicator,
) -> None:
    _, url = started
    outsider = token_client(outsider_vendor)
    assert outsider.head(url, **TUS).status_code == 404
    assert outsider.get(url).status_code == 404
    assert patch(outsider, url, 1000, DOCUMENT[1000:2000]).status_code == 404
    assert outsider.delete(url, **TUS).status_code == 404
    assert create(outsider, assessment, indicator, DOCUMENT).status_code in (403, 404)
    assert upload_of(url).offset == 1000 and upload_of(url).state == "receiving"
    assert token_client(None).get(url).status_code in (401, 403)


def test_no_upload_once_the_self_assessment_is_submitted(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    from assessments import services
    from tests.assessments.conftest import answer_everything

    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    response = create(token_client(vendor), assessment, indicator, DOCUMENT)
    assert response.status_code == 403
    assert not ResumableUpload.objects.exists()


def test_an_upload_whose_assessment_was_submitted_meanwhile_fails_and_keeps_nothing(
    started: tuple[APIClient, str], vendor: User, assessment: Assessment
) -> None:
    from assessments import services
    from tests.assessments.conftest import answer_everything

    client, url = started
    answer_everything(assessment, vendor)
    services.assessment_submit(assessment=assessment, acting_user=vendor)
    response = patch(client, url, 1000, DOCUMENT[1000:])
    assert response.status_code == 400
    assert response.json()["message"] == upload_of(url).error
    assert not Evidence.objects.exists()
    upload = upload_of(url)
    assert upload.state == ResumableUpload.State.FAILED
    assert resumable.chunk_names(upload.pk) == []


# ----------------------------------------------------------------------------------------------
# Termination and expiry


def test_delete_ends_the_upload_and_deletes_its_chunks(started: tuple[APIClient, str]) -> None:
    client, url = started
    upload = upload_of(url)
    assert client.delete(url, **TUS).status_code == 204
    assert resumable.chunk_names(upload.pk) == []
    assert not ResumableUpload.objects.exists() and not ResumableUploadChunk.objects.exists()
    assert client.head(url, **TUS).status_code == 404


def test_an_abandoned_upload_expires_and_its_chunks_are_deleted(
    started: tuple[APIClient, str], django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    client, url = started
    upload = upload_of(url)
    assert upload.expires_at > timezone.now() + datetime.timedelta(hours=23)
    fresh = path_of(create(client, upload.assessment, upload.indicator, DOCUMENT))
    ResumableUpload.objects.filter(pk=upload.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert resumable_uploads_expire_task() == 1
    assert resumable.resumable_uploads_expire() == 0
    upload.refresh_from_db()
    assert upload.state == ResumableUpload.State.EXPIRED
    assert resumable.chunk_names(upload.pk) == [] and not upload.chunks.exists()
    head = client.head(url, **TUS)
    assert head.status_code == 410
    response = patch(client, url, 1000, DOCUMENT[1000:2000])
    assert response.status_code == 410 and response.json()["code"] == "upload_expired"
    assert client.get(url).json()["state"] == "expired"
    assert upload_of(fresh).state == ResumableUpload.State.RECEIVING
    # A week later the row goes too.
    later = timezone.now() + resumable.KEEP_ENDED + datetime.timedelta(days=1)
    with django_assert_max_num_queries(12):
        resumable.resumable_uploads_expire(later)
    assert not ResumableUpload.objects.filter(pk=upload.pk).exists()


def test_an_upload_past_its_expiry_is_expired_when_asked_before_the_sweep(
    started: tuple[APIClient, str],
) -> None:
    client, url = started
    upload = upload_of(url)
    ResumableUpload.objects.filter(pk=upload.pk).update(expires_at=timezone.now())
    response = patch(client, url, 1000, DOCUMENT[1000:2000])
    assert response.status_code == 410
    assert upload_of(url).state == ResumableUpload.State.EXPIRED
    assert resumable.chunk_names(upload.pk) == []


def test_each_good_chunk_moves_the_expiry(
    started: tuple[APIClient, str], settings: Settings
) -> None:
    client, url = started
    settings.RESUMABLE_UPLOAD_EXPIRY = datetime.timedelta(hours=2)
    before = upload_of(url).expires_at
    response = patch(client, url, 1000, DOCUMENT[1000:2000])
    after = upload_of(url).expires_at
    assert response.status_code == 204 and after < before
    assert after > timezone.now() + datetime.timedelta(minutes=119)


def test_a_storage_failure_while_finishing_keeps_the_chunks_for_an_empty_patch_to_finish(
    vendor: User, assessment: Assessment, indicator: Indicator
) -> None:
    client = token_client(vendor)
    url = path_of(create(client, assessment, indicator, DOCUMENT))
    assert patch(client, url, 0, DOCUMENT[:1000]).status_code == 204
    failing = mock.patch.object(resumable, "evidence_upload", side_effect=RuntimeError("down"))
    with failing, pytest.raises(RuntimeError):
        patch(client, url, 1000, DOCUMENT[1000:])
    upload = upload_of(url)
    assert (upload.state, upload.offset) == (ResumableUpload.State.RECEIVING, len(DOCUMENT))
    assert len(resumable.chunk_names(upload.pk)) == 2 and not Evidence.objects.exists()
    response = patch(client, url, len(DOCUMENT), b"")
    assert response.status_code == 204, response.content
    evidence = Evidence.objects.get()
    assert response["Upload-Evidence"] == f"/api/v1/evidence/{evidence.pk}/"
    assert evidence.sha256 == hashlib.sha256(DOCUMENT).hexdigest()
    assert resumable.chunk_names(upload.pk) == []


def test_only_vendors_may_start_an_upload(
    assessor: User, admin: User, assessment: Assessment, indicator: Indicator
) -> None:
    for user in (assessor, admin):
        response = create(token_client(user), assessment, indicator, DOCUMENT)
        assert response.status_code == 403, user
    assert create(token_client(None), assessment, indicator, DOCUMENT).status_code in (401, 403)
    assert not ResumableUpload.objects.exists()


def test_what_each_role_gets_at_the_upload_urls(
    vendor: User, outsider_vendor: User, assessor: User, admin: User
) -> None:
    # What tests/test_access_matrix.py expects of these URLs (GET, an unknown upload).
    unknown = f"/api/v1/uploads/{uuid.UUID(int=1)}/"
    for user, collection, detail in (
        (vendor, 405, 404),
        (outsider_vendor, 405, 404),
        (assessor, 403, 403),
        (admin, 403, 403),
    ):
        client = token_client(user)
        assert client.get("/api/v1/uploads/").status_code == collection, user
        assert client.get(unknown).status_code == detail, user
    anonymous = Client()
    assert anonymous.get("/api/v1/uploads/").status_code == 401
    assert anonymous.get(unknown).status_code == 401


def test_a_body_over_the_chunk_limit_is_refused_before_the_view_reads_it(
    started: tuple[APIClient, str], settings: Settings
) -> None:
    client, url = started
    settings.RESUMABLE_CHUNK_MAX_BYTES = 1000
    chunk = DOCUMENT[1000 : 1000 + 1000 + SLACK + 1]
    response = patch(client, url, 1000, chunk)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert upload_of(url).offset == 1000


def test_a_chunk_arriving_while_its_upload_is_deleted_is_not_kept(
    started: tuple[APIClient, str],
) -> None:
    client, url = started
    upload = upload_of(url)
    real = resumable._chunk_record

    def record_after_a_delete(*args: Any) -> None:
        assert client.delete(url, **TUS).status_code == 204
        real(*args)

    with mock.patch.object(resumable, "_chunk_record", record_after_a_delete):
        response = patch(client, url, 1000, DOCUMENT[1000:2000])
    assert response.status_code == 404
    assert resumable.chunk_names(upload.pk) == []
    assert not ResumableUploadChunk.objects.exists()
