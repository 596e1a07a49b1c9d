"""Benchmark: requests per second of the public ranking page, with and without the cache.

    make bench                                   # or:
    .venv/bin/python bench/ranking_rps.py [--clouds 10 100] [--seconds 4] [--clients 4]

For each size it publishes a ranking through the real services (``reports.services_rankings``)
from a campaign whose approved assessments carry score results written directly (the page reads
only the frozen snapshot, so how the scores came about does not matter here), then starts the
portal under gunicorn on 127.0.0.1 (DEBUG off, static files collected) three times and measures:

- no cache: ``CACHES`` set to Django's DummyCache, so every request renders the list from the
  snapshot (two queries: the version's head and its snapshot);
- cache: the default cache (LocMemCache per worker, or Redis when the settings say so), so a
  request reads the head and takes the rendered list from the cache (one query);
- 304: the same with ``If-None-Match``, as a browser revalidating its copy (one query, no body).

Each measurement runs ``--clients`` threads of anonymous GETs for at most ``--seconds`` seconds
or ``--max-requests`` requests, after a warm-up, and prints requests per second side by side.

Environment: DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/gce_bench_rankings,
created if missing). REDIS_URL is not needed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/gce_bench_rankings"
NO_CACHE_SETTINGS = """\
from govcloud_eval.settings import *  # noqa: F403

CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
"""


def _environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("REDIS_URL", None)


def _create_database(url: str) -> None:
    from _support import create_database

    create_database(url)


# ----------------------------------------------------------------------------------------------
# Data


def _published_ranking(clouds: int) -> str:
    """Publishes a ranked list of ``clouds`` entries (half provincial, half municipal) and
    returns its path. Idempotent per size."""
    import datetime

    from django.utils import timezone

    from accounts.models import Organisation, User
    from assessments import services as workflow
    from assessments.models import Assessment, Campaign, Cloud
    from indicators.models import Framework
    from indicators.services import default_catalogs_load
    from reports.models import Ranking, ScoreResult
    from reports.rankings import services

    year = 1900 + clouds  # a year of its own per size
    existing = Ranking.objects.filter(year=year).exclude(state=Ranking.State.DRAFT).first()
    if existing is not None:
        return f"/rankings/{existing.year}/{existing.slug}/"
    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
    )
    office, _ = Organisation.objects.get_or_create(
        name="评估办公室（基准）", defaults={"kind": Organisation.Kind.OFFICE}
    )
    admin, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"role": User.Role.ADMIN, "organisation": office, "display_name": "基准"},
    )
    campaign = Campaign.objects.filter(name=f"基准评估 {year}").first() or workflow.campaign_create(
        name=f"基准评估 {year}",
        year=year,
        framework=framework,
        opens_on=datetime.date(2020, 3, 1),
        closes_on=datetime.date(2020, 6, 30),
        acting_user=admin,
    )
    owner, _ = Organisation.objects.get_or_create(
        name="基准主管单位",
        defaults={
            "kind": Organisation.Kind.GOVERNMENT,
            "division_code": "370100",
            "admin_level": "prefecture",
        },
    )
    vendor, _ = Organisation.objects.get_or_create(
        name="基准云服务商", defaults={"kind": Organisation.Kind.VENDOR}
    )
    dims = [d.code for d in framework.dimensions.order_by("order")]
    weights = {d.code: d.weight or Decimal(25) for d in framework.dimensions.all()}
    for n in range(clouds):
        level = Cloud.Level.PROVINCIAL if n % 2 == 0 else Cloud.Level.MUNICIPAL
        cloud = Cloud.objects.create(name=f"基准政务云 {year}-{n:04d}", owner=owner, level=level)
        cloud.vendors.add(vendor)
        assessment = Assessment.objects.create(
            campaign=campaign, cloud=cloud, state=Assessment.State.APPROVED
        )
        total = Decimal(95) - Decimal(n) / Decimal(8)
        share = total  # percent of every dimension's weight, for simplicity
        ScoreResult.objects.create(
            assessment=assessment,
            version=1,
            inputs_sha256=hashlib.sha256(cloud.name.encode()).hexdigest(),
            framework=framework,
            method="1",
            total=total.quantize(Decimal("0.01")),
            level_code="advanced",
            breakdown={
                "total": str(total.quantize(Decimal("0.01"))),
                "dimensions": [
                    {
                        "code": code,
                        "name_zh": code,
                        "name_en": code,
                        "points": str((weights[code] * share / 100).quantize(Decimal("0.01"))),
                        "share": str(share.quantize(Decimal("0.01"))),
                    }
                    for code in dims
                ],
            },
            current_since=timezone.now(),
        )
    draft = services.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    half = (clouds + 1) // 2
    services.ranking_settings_save(
        ranking=draft,
        quotas={"provincial": min(half, 100), "municipal": min(half, 100)},
        min_level="advanced",
        tie_break=draft.tie_break,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=None,
        notice_ends_on=None,
        acting_user=admin,
    )
    published = services.ranking_publish(ranking=draft, acting_user=admin)
    return f"/rankings/{published.year}/{published.slug}/"


# ----------------------------------------------------------------------------------------------
# Server and load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, settings_module: str, extra_path: str, workers: int) -> None:
        self.port = _free_port()
        self.settings_module = settings_module
        self.extra_path = extra_path
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = dict(os.environ)
        env["DJANGO_SETTINGS_MODULE"] = self.settings_module
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), self.extra_path]))
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "govcloud_eval.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("gunicorn did not answer within 30 s")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _get(url: str, etag: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, response.headers.get("ETag", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("ETag", "")


def measure(
    url: str, *, clients: int, seconds: float, max_requests: int, conditional: bool
) -> tuple[float, int, int]:
    """(requests per second, requests, non-2xx/304 answers) over at most ``seconds``."""
    status, etag = _get(url)
    if status != 200:
        raise SystemExit(f"{url} answered {status}")
    for _ in range(10):  # warm-up: the workers fill their caches
        _get(url, etag if conditional else None)
    expected = 304 if conditional else 200
    lock = threading.Lock()
    counts = {"done": 0, "bad": 0}
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            with lock:
                if counts["done"] >= max_requests:
                    return
                counts["done"] += 1
            code, _etag = _get(url, etag if conditional else None)
            if code != expected:
                with lock:
                    counts["bad"] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return counts["done"] / elapsed, counts["done"], counts["bad"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clouds", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    _environment()
    _create_database(os.environ["DATABASE_URL"])
    static_root = tempfile.mkdtemp(prefix="gce-bench-static-")
    os.environ.update(
        DEBUG="False",
        SECRET_KEY="bench-" + hashlib.sha256(os.urandom(16)).hexdigest(),
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_ROOT=static_root,
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = {size: _published_ranking(size) for size in args.clouds}

    settings_dir = tempfile.mkdtemp(prefix="gce-bench-settings-")
    Path(settings_dir, "bench_ranking_nocache.py").write_text(NO_CACHE_SETTINGS)
    print(
        f"Public ranking page, gunicorn {args.workers} workers, {args.clients} clients, "
        f"at most {args.seconds:g} s or {args.max_requests} requests each:"
    )
    print(f"{'listed':>8}  {'no cache':>12}  {'cache':>12}  {'304':>12}   (requests per second)")
    results: dict[int, dict[str, float]] = {size: {} for size in args.clouds}
    runs = [
        ("no cache", "bench_ranking_nocache", False),
        ("cache", "govcloud_eval.settings", False),
        ("304", "govcloud_eval.settings", True),
    ]
    for label, module, conditional in runs:
        with Server(module, settings_dir, args.workers) as server:
            for size in args.clouds:
                rps, done, bad = measure(
                    server.url + paths[size],
                    clients=args.clients,
                    seconds=args.seconds,
                    max_requests=args.max_requests,
                    conditional=conditional,
                )
                if bad:
                    print(f"  warning: {bad} of {done} {label} requests answered unexpectedly")
                results[size][label] = rps
    for size in args.clouds:
        r = results[size]
        print(f"{size:>8}  {r['no cache']:>12.0f}  {r['cache']:>12.0f}  {r['304']:>12.0f}")


if __name__ == "__main__":
    main()
