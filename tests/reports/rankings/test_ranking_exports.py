"""The files of a published version (PDF bulletin, CSV, XLSX, in Chinese and English) are
rendered once after publication by a task, stored with their SHA-256 and size, and served as
stored: the export view never renders, says when a file is being prepared, and answers
conditional requests with 304. Versions published before files were stored get theirs from a
command, failed renderings from the admin page; a real worker renders them into S3."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries, DjangoCaptureOnCommitCallbacks

from accounts.models import User
from audit.models import AuditEvent
from indicators.models import Framework
from reports.models import Ranking, RankingExport
from reports.rankings import exports, rendering
from reports.rankings.tasks import ranking_exports_render_task
from tests.conftest import client_for
from tests.storage_support import S3Bucket
from tests.worker_support import WorkerProcess

from .test_public_rankings import fill
from .test_rankings import make_campaign, publish

pytestmark = pytest.mark.django_db

FORMATS = ("pdf", "csv", "xlsx")
LANGUAGES = ("zh-hans", "en")


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The versions whose rendering was sent to the workers (test double of the broker: the
    task itself runs in this process, or on a real worker in the worker test)."""
    sent: list[int] = []
    monkeypatch.setattr(ranking_exports_render_task, "delay", sent.append)
    return sent


@pytest.fixture
def version(
    admin: User,
    comprehensive: Framework,
    queued: list[int],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Ranking:
    """A ranked list of 12 clouds, published (the rendering queued, not run)."""
    campaign = fill(make_campaign(admin, comprehensive, 2026), 7, 5)
    with django_capture_on_commit_callbacks(execute=True):
        ranking = publish(
            campaign,
            admin,
            quotas={"provincial": 6, "municipal": 4},
            public_form=Ranking.PublicForm.RANKED,
        )
    return ranking


def url(ranking: Ranking, fmt: str) -> str:
    return reverse("rankings:export", args=[ranking.year, ranking.slug, ranking.version, fmt])


def get(path: str, language: str = "zh-hans", **headers: str) -> Any:
    client = Client()
    client.cookies["django_language"] = language
    return client.get(path, headers=headers)


def forbid_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes every renderer raise: a request that renders fails loudly."""

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("rendered inside a request")

    for name in ("csv_bytes", "xlsx_bytes", "bulletin_pdf"):
        monkeypatch.setattr(exports, name, refuse)


def test_publishing_creates_every_file_pending_and_queues_their_rendering_once_committed(
    version: Ranking, queued: list[int]
) -> None:
    assert queued == [version.pk]
    files = RankingExport.objects.filter(ranking=version)
    # Each language's bulletin, CSV and XLSX, and the language-neutral open data.
    assert sorted((f.language, f.format) for f in files) == sorted(
        [(language, fmt) for language in LANGUAGES for fmt in FORMATS]
        + [("mul", "json"), ("mul", "data.csv")]
    )
    assert {f.state for f in files} == {RankingExport.State.PENDING}


def test_the_task_renders_each_file_once_and_stores_it_with_its_hash(version: Ranking) -> None:
    assert ranking_exports_render_task.apply(args=(version.pk,)).get() == {"ready": 8}
    for export in RankingExport.objects.filter(ranking=version):
        assert export.state == RankingExport.State.READY and export.attempts == 1
        with export.file.open("rb") as handle:
            content = handle.read()
        assert hashlib.sha256(content).hexdigest() == export.sha256
        assert export.size == len(content)
        assert export.file.name is not None
        assert export.file.name.startswith(f"rankings/exports/2026/{version.slug}/v1/")
    # Safe to run twice: nothing is rendered again.
    assert ranking_exports_render_task.apply(args=(version.pk,)).get() == {}
    assert set(RankingExport.objects.values_list("attempts", flat=True)) == {1}
    assert AuditEvent.objects.filter(action="reports.ranking.export_rendered").count() == 8
    # A version that is gone: nothing to do.
    assert ranking_exports_render_task.apply(args=(version.pk + 1000,)).get() == {}


def test_the_files_differ_by_language(version: Ranking) -> None:
    rendering.ranking_exports_render(ranking_id=version.pk)
    csv = {e.language: e for e in RankingExport.objects.filter(ranking=version, format="csv")}
    assert csv["zh-hans"].sha256 != csv["en"].sha256
    assert "总分" in get(url(version, "csv")).getvalue().decode("utf-8")
    assert "Total" in get(url(version, "csv"), "en").getvalue().decode("utf-8")


def test_the_view_serves_the_stored_file_without_rendering_in_two_queries(
    version: Ranking,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    rendering.ranking_exports_render(ranking_id=version.pk)
    forbid_rendering(monkeypatch)
    for language in LANGUAGES:
        for fmt in FORMATS:
            export = RankingExport.objects.get(ranking=version, format=fmt, language=language)
            with django_assert_num_queries(2):  # the version's head, then its file's row
                response = get(url(version, fmt), language)
                body = response.getvalue()
            assert response.status_code == 200
            assert hashlib.sha256(body).hexdigest() == export.sha256
            assert response["Content-Length"] == str(export.size)
            assert response["ETag"] == f'"{export.sha256}"'
            assert response["Last-Modified"]
            disposition = "inline" if fmt == "pdf" else "attachment"
            assert response["Content-Disposition"] == (
                f'{disposition}; filename="ranking-2026-{version.slug}-v1.{fmt}"'
            )


def test_a_repeated_export_request_gets_304(version: Ranking) -> None:
    rendering.ranking_exports_render(ranking_id=version.pk)
    first = get(url(version, "pdf"))
    again = get(url(version, "pdf"), **{"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.getvalue() == b""
    since = get(url(version, "pdf"), **{"If-Modified-Since": first["Last-Modified"]})
    assert since.status_code == 304
    # The English file is another file.
    assert get(url(version, "pdf"), "en", **{"If-None-Match": first["ETag"]}).status_code == 200


def test_a_file_not_rendered_yet_is_being_prepared_and_the_page_says_so(
    version: Ranking, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_rendering(monkeypatch)
    for fmt in FORMATS:
        response = get(url(version, fmt), "en")
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert response["Cache-Control"] == "no-store"
        assert "The file is being prepared" in response.getvalue().decode()
    public = get(f"/rankings/2026/{version.slug}/", "en")
    assert 'data-testid="exports-pending"' in public.getvalue().decode()
    etag = public["ETag"]

    monkeypatch.undo()
    rendering.ranking_exports_render(ranking_id=version.pk)
    # The page changes (the note goes), so the browser's copy is stale.
    again = get(f"/rankings/2026/{version.slug}/", "en", **{"If-None-Match": etag})
    assert again.status_code == 200
    assert 'data-testid="exports-pending"' not in again.getvalue().decode()


def test_a_failed_rendering_is_recorded_and_the_admin_queues_it_again(
    version: Ranking,
    admin: User,
    monkeypatch: pytest.MonkeyPatch,
    queued: list[int],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    original: Callable[..., bytes] = exports.bulletin_pdf

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("WeasyPrint ran out of fonts")

    monkeypatch.setattr(exports, "bulletin_pdf", broken)
    assert rendering.ranking_exports_render(ranking_id=version.pk) == {"ready": 6, "failed": 2}
    failed = RankingExport.objects.filter(ranking=version, state=RankingExport.State.FAILED)
    assert {e.format for e in failed} == {"pdf"}
    assert all("WeasyPrint ran out of fonts" in e.error for e in failed)
    assert get(url(version, "pdf")).status_code == 503

    admin_client = client_for(admin)
    admin_page = admin_client.get(reverse("rankings:admin", args=[version.campaign_id]))
    text = admin_page.getvalue().decode()
    assert "2 files failed" in text or "2 个文件生成失败" in text
    assert 'data-testid="exports-requeue"' in text

    monkeypatch.setattr(exports, "bulletin_pdf", original)
    queued.clear()
    requeue = reverse("rankings:exports_requeue", args=[version.campaign_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(requeue).status_code == 302
    assert queued == [version.pk]
    ranking_exports_render_task.apply(args=(version.pk,))
    assert get(url(version, "pdf")).status_code == 200
    assert not RankingExport.objects.exclude(state=RankingExport.State.READY).exists()


def test_only_admins_queue_files_again(version: Ranking, vendor: User) -> None:
    requeue = reverse("rankings:exports_requeue", args=[version.campaign_id])
    assert client_for(vendor).post(requeue).status_code == 404
    assert client_for(None).post(requeue).status_code == 302  # to sign in


def test_the_command_gives_versions_published_before_stored_files_theirs(
    version: Ranking, queued: list[int]
) -> None:
    # Test set-up: a version as published before files were stored: no rows at all.
    RankingExport.objects.all().delete()
    assert get(url(version, "csv")).status_code == 503

    out = io.StringIO()
    call_command("render_ranking_exports", stdout=out)
    assert "rendering queued" in out.getvalue()
    assert RankingExport.objects.filter(ranking=version).count() == 8

    out = io.StringIO()
    call_command("render_ranking_exports", "--now", stdout=out)
    assert "'ready': 8" in out.getvalue()
    hashes = dict(RankingExport.objects.values_list("pk", "sha256"))
    assert get(url(version, "csv")).status_code == 200

    out = io.StringIO()
    call_command("render_ranking_exports", "--now", stdout=out)
    assert "Every published version has its files." in out.getvalue()
    assert dict(RankingExport.objects.values_list("pk", "sha256")) == hashes


def test_scores_hidden_lists_store_files_without_scores(
    admin: User, comprehensive: Framework, queued: list[int]
) -> None:
    grouped = publish(fill(make_campaign(admin, comprehensive, 2025), 7, 5), admin)
    assert grouped.public_form == Ranking.PublicForm.GROUPED
    rendering.ranking_exports_render(ranking_id=grouped.pk)
    for export in RankingExport.objects.filter(ranking=grouped, format="csv"):
        with export.file.open("rb") as handle:
            text = handle.read().decode("utf-8")
        assert "95.00" not in text and "2025省级云000" in text


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_renders_the_files_of_a_published_version_into_the_bucket(
    s3_bucket: S3Bucket,
    compose_worker: WorkerProcess,
    admin: User,
    comprehensive: Framework,
    tmp_path: Path,
) -> None:
    # The worker shares nothing with this process but the database, Redis and the bucket: its
    # MEDIA_ROOT is a folder that must stay empty.
    compose_worker.env.update(MEDIA_ROOT=str(s3_bucket.media_root), **s3_bucket.environment())
    compose_worker.start()
    compose_worker.wait_ready()

    ranking = publish(
        fill(make_campaign(admin, comprehensive, 2026), 7, 5),
        admin,
        public_form=Ranking.PublicForm.RANKED,
    )

    def settled() -> bool:
        states = set(RankingExport.objects.filter(ranking=ranking).values_list("state", flat=True))
        return bool(states) and states <= {RankingExport.State.READY, RankingExport.State.FAILED}

    compose_worker.wait_for(settled, 120, "the files of the version are rendered")
    files = list(RankingExport.objects.filter(ranking=ranking))
    assert len(files) == 8
    for export in files:
        assert export.state == RankingExport.State.READY, export.error
        assert export.file.name is not None
        assert export.file.name in s3_bucket.keys(prefix="rankings/exports/")
        assert s3_bucket.sha256(export.file.name) == export.sha256
        assert s3_bucket.head(export.file.name)["ContentLength"] == export.size
        served = get(url(ranking, export.format), export.language)
        assert served.status_code == 200
        assert served.getvalue() == s3_bucket.read(export.file.name)
    assert s3_bucket.media_files() == []
