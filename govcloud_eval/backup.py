"""Backup and restore of a whole portal: the database, and every file its rows point to
(evidence, certified reports, objection evidence, ranking exports), wherever they are stored
(under MEDIA_ROOT or in S3), with a manifest of SHA-256 hashes and row counts.

A backup is a folder::

    manifest.json        what is in it: the database dump's hash, each table's row count, each
                         file's field, name, size and SHA-256
    database.dump        PostgreSQL: pg_dump's custom format (pg_restore reads it)
    database.sqlite3     SQLite: a copy made with SQLite's online backup
    files/<sha256>       each stored file, named by its hash (a file stored twice is kept once)

The database and the row counts come from one snapshot: on PostgreSQL the counts are read in a
REPEATABLE READ transaction whose snapshot pg_dump is given (``--snapshot``), so they describe
exactly the dump; on SQLite they are counted in the copy. The files are those the snapshot's
rows name, copied after it; a file missing from storage fails the backup (it says which).

A restore goes into an empty database and storage only (it refuses otherwise, naming what it
found), checks every file of the backup against its hash before it writes anything, then
restores the database and the files and verifies the result: every table's row count and every
stored file's SHA-256 must match the manifest.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage
from django.db import connection, models, transaction

from audit.chain import seal_pending, verify_chain

from .storage import storage_stream

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot be done, with the reason for the person running it."""


@dataclass
class StoredFile:
    field: str  # "app_label.Model.field"
    name: str
    size: int = 0
    sha256: str = ""


@dataclass
class Manifest:
    created_at: str
    engine: str
    database_file: str
    database_sha256: str
    rows: dict[str, int]
    migrations: dict[str, str]
    files: list[StoredFile] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "engine": self.engine,
            "database": {"file": self.database_file, "sha256": self.database_sha256},
            "rows": self.rows,
            "migrations": self.migrations,
            "files": [vars(f) for f in self.files],
        }

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackupError(f"{folder} holds no {MANIFEST}: it is not a backup.") from None
        if data.get("format") != FORMAT:
            raise BackupError(f"{folder}/{MANIFEST} is of format {data.get('format')!r}.")
        return cls(
            created_at=data["created_at"],
            engine=data["engine"],
            database_file=data["database"]["file"],
            database_sha256=data["database"]["sha256"],
            rows=data["rows"],
            migrations=data["migrations"],
            files=[StoredFile(**f) for f in data["files"]],
        )


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    return vendor


def _file_fields() -> Iterator[tuple[type[models.Model], models.FileField]]:
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for f in model._meta.concrete_fields:
            if isinstance(f, models.FileField):
                yield model, f


def _label(model: type[models.Model], f: models.Field[Any, Any]) -> str:
    return f"{model._meta.label}.{f.name}"


def _storage_of(label: str) -> Storage:
    app_model, _dot, name = label.rpartition(".")
    f = apps.get_model(app_model)._meta.get_field(name)
    assert isinstance(f, models.FileField)
    return f.storage


def _models() -> list[type[models.Model]]:
    """Every table's model (many-to-many tables included)."""
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in _models()}


def _referenced_files() -> list[StoredFile]:
    found: list[StoredFile] = []
    for model, f in _file_fields():
        names = (
            model._default_manager.exclude(**{f.name: ""})
            .exclude(**{f"{f.name}__isnull": True})
            .order_by()
            .values_list(f.name, flat=True)
        )
        found.extend(StoredFile(_label(model, f), str(name)) for name in names)
    return found


def _migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        for app, name in cursor.fetchall():
            latest[app] = name
    return latest


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pg_environment() -> dict[str, str]:
    settings = connection.settings_dict
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings.get(key):
            env[name] = str(settings[key])
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings["PASSWORD"])
    return env


def _run(command: list[str]) -> None:
    done = subprocess.run(  # noqa: S603 (a fixed program, arguments from the settings)
        command, env=_pg_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")


# ----------------------------------------------------------------------------------------------
# Backup


def backup_create(folder: Path) -> Manifest:
    """Writes a backup of the portal into ``folder`` (created; it must not exist or be empty)
    and returns its manifest. Raises BackupError. Audit records still awaiting their seal
    are sealed first, so that the backup's chain is whole."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: choose a new folder for the backup.")
    seal_pending()
    (folder / "files").mkdir(parents=True, exist_ok=True)
    engine = _engine()
    if engine == "postgresql":
        database_file = "database.dump"
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                (snapshot,) = cursor.fetchone()
            rows, migrations, files = _row_counts(), _migrations(), _referenced_files()
            _run(
                [
                    shutil.which("pg_dump") or "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={folder / database_file}",
                    str(connection.settings_dict["NAME"]),
                ]
            )
    else:
        database_file = "database.sqlite3"
        copy = sqlite3.connect(folder / database_file)
        try:
            connection.ensure_connection()
            source = connection.connection
            assert source is not None
            source.backup(copy)
        finally:
            copy.close()
        rows, migrations, files = _sqlite_counts(folder / database_file)
    for item in files:
        _copy_out(item, folder / "files")
    manifest = Manifest(
        created_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        engine=engine,
        database_file=database_file,
        database_sha256=_sha256_of(folder / database_file),
        rows=rows,
        migrations=migrations,
        files=files,
    )
    (folder / MANIFEST).write_text(
        json.dumps(manifest.as_json(), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return manifest


def _sqlite_counts(path: Path) -> tuple[dict[str, int], dict[str, str], list[StoredFile]]:
    """Row counts, migrations and referenced files read from the copy (the snapshot)."""
    copy = sqlite3.connect(path)
    try:
        rows = {}
        for model in _models():
            # Table and column names come from the models, never from input.
            count = f'SELECT COUNT(*) FROM "{model._meta.db_table}"'  # noqa: S608
            (rows[model._meta.label],) = copy.execute(count).fetchone()
        migrations = dict(copy.execute("SELECT app, MAX(name) FROM django_migrations GROUP BY app"))
        files: list[StoredFile] = []
        for model, f in _file_fields():
            table, column = model._meta.db_table, f.column
            names = f'SELECT "{column}" FROM "{table}" WHERE "{column}" <> \'\''  # noqa: S608
            files.extend(StoredFile(_label(model, f), name) for (name,) in copy.execute(names))
    finally:
        copy.close()
    return rows, migrations, files


def _copy_out(item: StoredFile, into: Path) -> None:
    partial = into / f".partial-{os.getpid()}"
    digest = hashlib.sha256()
    size = 0
    try:
        stream = storage_stream(_storage_of(item.field), item.name)
    except FileNotFoundError:
        raise BackupError(f"{item.field} names {item.name!r}, which is not in storage.") from None
    with stream, partial.open("wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    item.size, item.sha256 = size, digest.hexdigest()
    partial.replace(into / item.sha256)


# ----------------------------------------------------------------------------------------------
# Restore


@dataclass
class Restored:
    rows: int
    files: int
    audit_records: int  # sealed audit records, their hash chain checked


def backup_restore(folder: Path) -> Restored:
    """Restores the backup in ``folder`` into this portal's database and storage, which must be
    empty, and verifies the result. Raises BackupError, saying what is wrong, before it writes
    anything when the backup is damaged or the target not empty."""
    manifest = Manifest.read(folder)
    engine = _engine()
    if manifest.engine != engine:
        raise BackupError(f"The backup is of a {manifest.engine} database, this one is {engine}.")
    dump = folder / manifest.database_file
    if not dump.exists() or _sha256_of(dump) != manifest.database_sha256:
        raise BackupError(f"{dump} is missing or does not match its SHA-256 in the manifest.")
    for item in manifest.files:
        copy = folder / "files" / item.sha256
        if not copy.exists() or _sha256_of(copy) != item.sha256:
            raise BackupError(f"{copy} (for {item.name!r}) is missing or damaged.")
    tables = connection.introspection.table_names()
    if tables:
        raise BackupError(
            f"The database {connection.settings_dict['NAME']} is not empty "
            f"({len(tables)} tables): restore into a new, empty database."
        )
    present = [f.name for f in manifest.files if _storage_of(f.field).exists(f.name)]
    if present:
        raise BackupError(
            f"The storage already holds {len(present)} of the backup's files "
            f"(such as {present[0]!r}): restore into empty storage."
        )

    if engine == "postgresql":
        _run(
            [
                shutil.which("pg_restore") or "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                f"--dbname={connection.settings_dict['NAME']}",
                str(dump),
            ]
        )
    else:
        connection.close()
        target = sqlite3.connect(str(connection.settings_dict["NAME"]))
        source = sqlite3.connect(dump)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    connection.close()  # what is read next is what was restored

    for item in manifest.files:
        storage = _storage_of(item.field)
        with (folder / "files" / item.sha256).open("rb") as handle:
            saved = storage.save(item.name, File(handle, name=item.name))
        if saved != item.name:
            raise BackupError(f"{item.name!r} was stored as {saved!r}.")

    problems = _verify(manifest)
    chain = verify_chain()
    if not chain.intact:
        problems.append(f"the audit trail's hash chain is broken at #{chain.broken_seq}")
    if problems:
        raise BackupError("The restored portal differs from the backup: " + "; ".join(problems))
    return Restored(
        rows=sum(manifest.rows.values()), files=len(manifest.files), audit_records=chain.checked
    )


def _verify(manifest: Manifest) -> list[str]:
    problems = [
        f"{label}: {count} rows, the backup has {manifest.rows.get(label)}"
        for label, count in _row_counts().items()
        if count != manifest.rows.get(label, 0)
    ]
    for item in manifest.files:
        digest = hashlib.sha256()
        try:
            with storage_stream(_storage_of(item.field), item.name) as stream:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            problems.append(f"{item.name!r} is not in storage")
            continue
        if digest.hexdigest() != item.sha256:
            problems.append(f"{item.name!r} does not match its SHA-256")
    return problems
