"""S3 object storage for the tests that are about it, on a real S3 server: the SeaweedFS that
``make test`` starts (scripts/services.sh) and points the suite at through ``TEST_S3_ENDPOINT_URL``,
``TEST_S3_ACCESS_KEY_ID`` and ``TEST_S3_SECRET_ACCESS_KEY``.

The ``s3_bucket`` fixture creates a fresh bucket for one test and switches the default storage
of the test process to it, configured exactly as ``govcloud_eval.settings`` configures it from
the ``S3_*`` variables (``S3Bucket.environment()`` gives them to a worker or web process), with
``MEDIA_ROOT`` in a folder of the test's own that must stay empty. Afterwards the bucket is
emptied and deleted.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.test import override_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
# An ETag of a multipart upload is the MD5 of the parts' MD5s followed by "-<number of parts>".
MULTIPART_ETAG = re.compile(r'^"?[0-9a-f]{32}-(\d+)"?$')


def _test_server() -> tuple[str, str, str]:
    """The endpoint and credentials of the S3 server of the suite; fails the test, saying what
    to do, when they are not given."""
    names = ("TEST_S3_ENDPOINT_URL", "TEST_S3_ACCESS_KEY_ID", "TEST_S3_SECRET_ACCESS_KEY")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set: the S3 tests need the SeaweedFS server that "
            "`make test` starts (scripts/services.sh) and points them at. Run `make test`."
        )
    endpoint, key, secret = (os.environ[name] for name in names)
    return endpoint, key, secret


def _key(key: str | None) -> str:
    if not key:
        pytest.fail("No object key: the file field is empty.")
    return key


@dataclass
class S3Bucket:
    """One bucket of the test S3 server, with what a test asks about its objects."""

    name: str
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    client: S3Client
    media_root: Path

    def environment(self) -> dict[str, str]:
        """The ``S3_*`` variables that make a portal process (web, worker) store in this
        bucket."""
        return {
            "S3_BUCKET": self.name,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_ACCESS_KEY_ID": self.access_key_id,
            "S3_SECRET_ACCESS_KEY": self.secret_access_key,
            "S3_REGION": REGION,
            "S3_ADDRESSING_STYLE": "path",
        }

    def keys(self, prefix: str = "") -> list[str]:
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        ):
            found += [item["Key"] for item in page.get("Contents", [])]
        return sorted(found)

    # The methods about one object take a key or a FieldFile's name (typed ``str | None``: an
    # empty field has no object, and asking about it fails the test).

    def head(self, key: str | None) -> HeadObjectOutputTypeDef:
        return self.client.head_object(Bucket=self.name, Key=_key(key))

    def read(self, key: str | None) -> bytes:
        """The whole object: for small ones."""
        return self.client.get_object(Bucket=self.name, Key=_key(key))["Body"].read()

    def sha256(self, key: str | None) -> str:
        """The SHA-256 of the object, read from the server in 1 MiB chunks."""
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.name, Key=_key(key))["Body"]
        for chunk in body.iter_chunks(1024 * 1024):
            digest.update(chunk)
        return digest.hexdigest()

    def parts(self, key: str | None) -> int:
        """How many parts the object was uploaded in; 0 for a single PUT."""
        found = MULTIPART_ETAG.match(self.head(key)["ETag"])
        return int(found.group(1)) if found else 0

    def is_multipart(self, key: str | None) -> bool:
        return self.parts(key) > 0

    def media_files(self) -> list[Path]:
        """Whatever was written under the test's MEDIA_ROOT (nothing should be)."""
        if not self.media_root.exists():
            return []
        return [path for path in self.media_root.rglob("*") if path.is_file()]

    def destroy(self) -> None:
        """Aborts unfinished uploads, deletes every object, then the bucket."""
        for upload in self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", []):
            self.client.abort_multipart_upload(
                Bucket=self.name, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        keys = self.keys()
        for start in range(0, len(keys), 1000):
            self.client.delete_objects(
                Bucket=self.name,
                Delete={"Objects": [{"Key": key} for key in keys[start : start + 1000]]},
            )
        self.client.delete_bucket(Bucket=self.name)


def storage_from_settings(environment: dict[str, str]) -> dict[str, Any]:
    """``STORAGES["default"]`` as ``govcloud_eval/settings.py`` builds it from ``environment``
    (the module is run again, apart from the loaded settings), so that the tests store exactly
    as a deployed process does."""
    path = ROOT / "govcloud_eval" / "settings.py"
    spec = importlib.util.spec_from_file_location("_settings_with_s3", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, environment):
        spec.loader.exec_module(module)
    default: dict[str, Any] = module.STORAGES["default"]
    return default


@pytest.fixture
def s3_bucket(tmp_path: Path) -> Iterator[S3Bucket]:
    """A fresh bucket on the suite's S3 server, the default storage of this test process."""
    endpoint, key, secret = _test_server()
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name=REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    bucket = S3Bucket(
        name=f"gce-test-{uuid.uuid4().hex[:16]}",
        endpoint_url=endpoint,
        access_key_id=key,
        secret_access_key=secret,
        client=client,
        media_root=tmp_path / "media",
    )
    try:
        client.create_bucket(Bucket=bucket.name)
    except (BotoCoreError, ClientError) as error:
        pytest.fail(
            f"The test S3 server at {endpoint} refused or did not answer ({error}). "
            "`make test` starts SeaweedFS there (scripts/services.sh; its log: "
            "var/seaweedfs.log)."
        )
    storages = {**settings.STORAGES, "default": storage_from_settings(bucket.environment())}
    try:
        # Changing STORAGES makes Django forget the storages built so far: every FileField
        # of the test process now stores in the bucket.
        with override_settings(STORAGES=storages, MEDIA_ROOT=str(bucket.media_root)):
            yield bucket
    finally:
        bucket.destroy()


def assert_streamed_from_the_store(response: object) -> None:
    """The view answered with the body of one GET to the object store, not a copy of the object
    downloaded first (which would hold a 500 MB file in memory or on disk)."""
    from botocore.response import StreamingBody
    from django.http import FileResponse

    assert isinstance(response, FileResponse)
    assert isinstance(response.file_to_stream, StreamingBody)
    response.file_to_stream.close()
