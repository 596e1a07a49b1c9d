"""Backup and restore: a portal with evidence and a certified report is backed up, restored by
`manage.py restore` (as `make restore` runs it) into a new, empty PostgreSQL database and an
empty media folder, and every row count and file hash matches; a damaged backup and a target
that is not empty are refused before anything is written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg2
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from pytest_django import Settings

from accounts.models import User
from assessments.evidence.services import evidence_upload
from assessments.models import Assessment, Evidence
from assessments.selectors import indicators_of
from audit.models import AuditEvent
from govcloud_eval.backup import BackupError, Manifest, backup_create
from tests.assessments.conftest import (  # noqa: F401 (fixtures)
    assessment,
    campaign,
    cloud,
    comprehensive,
    frameworks,
)
from tests.assessments.evidence_files import PDF, plain_zip
from tests.storage_support import S3Bucket

pytestmark = [pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def media(settings: Settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database beside the test database (dropped after)."""
    if connection.vendor != "postgresql":
        pytest.skip("the restore test runs on PostgreSQL")
    name = f"gce_restore_{uuid.uuid4().hex[:10]}"
    settings = connection.settings_dict
    admin = psycopg2.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"],
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    parts = urlparse(os.environ["DATABASE_URL"])
    try:
        yield urlunparse(parts._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _restore(folder: Path, database_url: str, media_root: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, MEDIA_ROOT=str(media_root), S3_BUCKET="")
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "restore", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _count(database_url: str, table: str) -> int:
    with psycopg2.connect(database_url) as restored, restored.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 (a model's table)
        row = cursor.fetchone()
    restored.close()
    assert row is not None
    return int(row[0])


@pytest.fixture
def with_evidence(
    assessment: Assessment,  # noqa: F811
    vendor: User,
    media: Path,
) -> list[Evidence]:
    first, second = indicators_of(assessment=assessment)[:2]
    return [
        evidence_upload(
            assessment=assessment,
            indicator=indicator,
            upload=SimpleUploadedFile(name, data),
            acting_user=vendor,
        )
        for indicator, name, data in (
            (first, "等保测评报告.pdf", PDF),
            (second, "截图.zip", plain_zip()),
            (second, "副本.pdf", PDF),  # the same bytes: kept once in the backup
        )
    ]


def test_a_backup_restores_into_an_empty_database_and_storage_with_every_count_and_hash(
    with_evidence: list[Evidence], empty_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backup"
    manifest = backup_create(folder)

    assert {f.name for f in manifest.files} == {e.file.name for e in with_evidence}
    assert len(list((folder / "files").iterdir())) == 2  # two distinct contents
    assert manifest.rows["assessments.Evidence"] == 3
    assert manifest.rows["audit.AuditEvent"] == AuditEvent.objects.count()
    written = json.loads((folder / "manifest.json").read_text())
    assert (
        written["database"]["sha256"]
        == hashlib.sha256((folder / "database.dump").read_bytes()).hexdigest()
    )

    restored_media = tmp_path / "restored-media"
    done = _restore(folder, empty_database, restored_media)

    assert done.returncode == 0, done.stderr
    assert "Restored and verified" in done.stdout
    # The backup sealed the trail first; the restore checked the whole chain in the new database.
    sealed = AuditEvent.objects.filter(seq__isnull=False).count()
    assert sealed == AuditEvent.objects.count() > 0
    assert f"hash chain is intact ({sealed} sealed records)" in done.stdout
    for table, model_label in (
        ("assessments_evidence", "assessments.Evidence"),
        ("assessments_assessment", "assessments.Assessment"),
        ("audit_auditevent", "audit.AuditEvent"),
        ("indicators_indicator", "indicators.Indicator"),
    ):
        assert _count(empty_database, table) == manifest.rows[model_label]
    for evidence in with_evidence:
        assert evidence.file.name
        stored = restored_media / evidence.file.name
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == evidence.sha256


def test_a_damaged_backup_is_refused_before_anything_is_written(
    with_evidence: list[Evidence], empty_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backup"
    manifest = backup_create(folder)
    damaged = folder / "files" / manifest.files[0].sha256
    damaged.write_bytes(damaged.read_bytes() + b"tampered")

    restored_media = tmp_path / "restored-media"
    done = _restore(folder, empty_database, restored_media)

    assert done.returncode != 0
    assert "is missing or damaged" in done.stderr
    with psycopg2.connect(empty_database) as restored, restored.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
        assert cursor.fetchone() == (0,)
    restored.close()
    assert not restored_media.exists()


def test_a_database_that_is_not_empty_is_refused(
    with_evidence: list[Evidence], tmp_path: Path
) -> None:
    folder = tmp_path / "backup"
    backup_create(folder)
    # The test database itself: it has tables.
    done = _restore(
        folder,
        os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + str(connection.settings_dict["NAME"]),
        tmp_path / "other-media",
    )
    assert done.returncode != 0
    assert "is not empty" in done.stderr


def test_a_backup_goes_into_a_new_folder_only(
    with_evidence: list[Evidence], tmp_path: Path
) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "something").write_text("x")
    with pytest.raises(BackupError, match="is not empty"):
        backup_create(tmp_path / "used")
    with pytest.raises(BackupError, match="not a backup"):
        Manifest.read(tmp_path / "used")


def test_files_in_object_storage_are_backed_up_and_restored_into_an_empty_bucket(
    assessment: Assessment,  # noqa: F811
    vendor: User,
    s3_bucket: S3Bucket,
    empty_database: str,
    tmp_path: Path,
) -> None:
    """As in production with S3: the backup reads every file from the bucket, and a restore in
    another process (configured by the S3_* variables, as a deployment is) writes them into a
    new, empty bucket, where each has the SHA-256 of the manifest."""
    evidence = evidence_upload(
        assessment=assessment,
        indicator=indicators_of(assessment=assessment)[0],
        upload=SimpleUploadedFile("等保测评报告.pdf", PDF),
        acting_user=vendor,
    )
    assert s3_bucket.sha256(evidence.file.name) == evidence.sha256
    folder = tmp_path / "backup"
    manifest = backup_create(folder)
    assert [f.name for f in manifest.files] == [evidence.file.name]

    target = S3Bucket(
        name=f"gce-restore-{uuid.uuid4().hex[:12]}",
        endpoint_url=s3_bucket.endpoint_url,
        access_key_id=s3_bucket.access_key_id,
        secret_access_key=s3_bucket.secret_access_key,
        client=s3_bucket.client,
        media_root=tmp_path / "restore-media",
    )
    target.client.create_bucket(Bucket=target.name)
    try:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "restore", str(folder)],
            cwd=ROOT,
            env=dict(
                os.environ,
                DATABASE_URL=empty_database,
                MEDIA_ROOT=str(target.media_root),
                **target.environment(),
            ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert target.sha256(evidence.file.name) == evidence.sha256
        assert target.media_files() == []  # into the bucket, nothing on the local disk
    finally:
        target.destroy()
