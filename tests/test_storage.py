"""Where files are stored: the S3 settings (refused when incomplete), and reading a stored file
as a stream (``govcloud_eval.storage``) on the local file system and on the suite's S3 server.

The tests of each kind of file on S3 (evidence, reports, objection evidence) live beside the
other tests of their app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from pytest_django import Settings

from assessments.models import Evidence
from govcloud_eval.storage import open_stream
from tests.storage_support import S3Bucket

ROOT = Path(__file__).resolve().parent.parent
S3_VARIABLES = (
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
    "S3_ADDRESSING_STYLE",
)
SHOW_STORAGE = """
import django, json
django.setup()
from django.conf import settings
default = settings.STORAGES["default"]
options = dict(default.get("OPTIONS", {}))
transfer = options.pop("transfer_config", None)
if transfer is not None:
    options["transfer"] = [transfer.multipart_threshold, transfer.multipart_chunksize,
                           transfer.use_threads]
print(json.dumps({"backend": default["BACKEND"], "options": options}))
"""


def _load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in S3_VARIABLES}
    return subprocess.run(
        [sys.executable, "-c", SHOW_STORAGE],
        env={**clean, "DJANGO_SETTINGS_MODULE": "govcloud_eval.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _storage(**env: str) -> dict[str, object]:
    result = _load_settings(**env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


CREDENTIALS = {"S3_ACCESS_KEY_ID": "AKIDEXAMPLE", "S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}


# ----------------------------------------------------------------------------------------------
# Settings


def test_files_stay_on_the_local_file_system_without_s3_bucket() -> None:
    assert _storage() == {
        "backend": "django.core.files.storage.FileSystemStorage",
        "options": {},
    }


def test_s3_bucket_makes_the_default_storage_private_s3_that_never_overwrites() -> None:
    storage = _storage(
        S3_BUCKET="govcloud-eval", S3_ENDPOINT_URL="https://oss.example.gov.cn", **CREDENTIALS
    )

    assert storage == {
        "backend": "storages.backends.s3.S3Storage",
        "options": {
            "bucket_name": "govcloud-eval",
            "endpoint_url": "https://oss.example.gov.cn",
            "access_key": "AKIDEXAMPLE",
            "secret_key": "wJalrXUtnFEMI/K7MDENG",
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "max_memory_size": 1024 * 1024,
            # Multipart from 8 MiB, in 8 MiB parts, one at a time in the request's thread.
            "transfer": [8 * 1024 * 1024, 8 * 1024 * 1024, False],
        },
    }


def test_the_region_and_addressing_style_can_be_changed() -> None:
    storage = _storage(
        S3_BUCKET="b", S3_REGION="cn-north-1", S3_ADDRESSING_STYLE="virtual", **CREDENTIALS
    )

    options = storage["options"]
    assert isinstance(options, dict)
    assert (options["region_name"], options["addressing_style"]) == ("cn-north-1", "virtual")
    assert options["endpoint_url"] is None  # AWS's own endpoint for the region


def test_a_bucket_without_credentials_is_refused_naming_both_variables() -> None:
    result = _load_settings(S3_BUCKET="govcloud-eval")

    assert result.returncode != 0
    assert "S3_ACCESS_KEY_ID must be set when S3_BUCKET is" in result.stderr
    assert "S3_SECRET_ACCESS_KEY must be set when S3_BUCKET is" in result.stderr


def test_a_bucket_with_half_the_credentials_is_refused_naming_the_missing_one() -> None:
    result = _load_settings(S3_BUCKET="govcloud-eval", S3_ACCESS_KEY_ID="AKIDEXAMPLE")

    assert result.returncode != 0
    assert "S3_SECRET_ACCESS_KEY must be set" in result.stderr
    assert "S3_ACCESS_KEY_ID must be set" not in result.stderr


def test_s3_settings_without_a_bucket_are_refused_rather_than_ignored() -> None:
    result = _load_settings(S3_ENDPOINT_URL="http://127.0.0.1:8333", **CREDENTIALS)

    assert result.returncode != 0
    assert "S3_ENDPOINT_URL is set but S3_BUCKET is not" in result.stderr
    assert "S3_ACCESS_KEY_ID is set but S3_BUCKET is not" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("S3_ENDPOINT_URL", "127.0.0.1:8333", "S3_ENDPOINT_URL must be an http:// or https:// URL"),
        ("S3_ADDRESSING_STYLE", "subdomain", "S3_ADDRESSING_STYLE must be path, virtual or auto"),
    ],
)
def test_a_malformed_s3_setting_is_refused(variable: str, value: str, message: str) -> None:
    result = _load_settings(S3_BUCKET="govcloud-eval", **CREDENTIALS, **{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


# ----------------------------------------------------------------------------------------------
# open_stream


def stored(name: str) -> FieldFile:
    """The file field of an (unsaved) evidence row naming ``name``."""
    return Evidence(file=name).file


def test_a_local_file_is_opened_from_the_file_system(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    name = default_storage.save("evidence/x.txt", ContentFile(b"local bytes"))

    with open_stream(stored(name)) as stream:
        assert stream.read() == b"local bytes"


def test_an_empty_field_or_a_missing_file_is_not_found(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)

    with pytest.raises(FileNotFoundError):
        open_stream(stored(""))
    with pytest.raises(FileNotFoundError):
        open_stream(stored("evidence/gone.pdf"))


def test_an_object_is_streamed_from_s3_as_the_body_of_one_get(s3_bucket: S3Bucket) -> None:
    name = default_storage.save("evidence/x.txt", ContentFile(b"bytes in the bucket"))

    stream = open_stream(stored(name))

    # The body of the answer, read from the network as it is read: not an S3File, which
    # downloads the whole object first.
    assert isinstance(stream, StreamingBody)
    assert stream.read(5) == b"bytes"
    assert stream.read() == b" in the bucket"
    stream.close()
    assert s3_bucket.keys() == [name]
    assert s3_bucket.media_files() == []


def test_an_object_missing_from_the_bucket_is_not_found(s3_bucket: S3Bucket) -> None:
    with pytest.raises(FileNotFoundError):
        open_stream(stored("evidence/gone.pdf"))
