"""Pieces the benchmark scripts share. Scripts run as `python bench/<name>.py`, so this module
is importable as `_support`."""

from __future__ import annotations


def create_database(url: str) -> None:
    """Creates the PostgreSQL database named in ``url`` unless it exists."""
    from urllib.parse import urlparse

    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    server = psycopg2.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        dbname="postgres",
    )
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    server.close()


def row(
    figure: str, small: float | None, large: float | None, goal: str, ok: bool | None
) -> dict[str, object]:
    """One line of `make bench`'s summary table: a figure at the small size (N=10) and at the
    large one (N=400), the goal, and whether it is met (None: not judged)."""
    return {"figure": figure, "small": small, "large": large, "goal": goal, "ok": ok}


def write_rows(path: str, rows: list[dict[str, object]]) -> None:
    """Writes a benchmark's rows for bench/summary.py (`--json PATH` of every script)."""
    import json
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
