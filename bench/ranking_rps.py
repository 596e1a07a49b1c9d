"""Benchmark: requests per second of the public ranking page, with and without the cache, its
size, and the ranking admin page's queries and time.

    make bench                                   # or:
    .venv/bin/python bench/ranking_rps.py [--clouds 10 100] [--admin-clouds 10 400]
        [--seconds 4] [--clients 4] [--json PATH]

For each size it publishes a ranking through the real services (``reports.rankings.services``)
from a campaign whose approved assessments carry score results written directly (the page reads
only the frozen snapshot, so how the scores came about does not matter here), then starts the
portal under gunicorn on 127.0.0.1 (DEBUG off, static files collected) three times and measures:

- no cache: ``CACHES`` set to Django's DummyCache, so every request renders the list from the
  snapshot (two queries: the version's head and its snapshot);
- cache: the default cache (LocMemCache per worker, or Redis when the settings say so), so a
  request reads the head and takes the rendered list from the cache (one query);
- gzip: the same asking for a compressed page (``Accept-Encoding: gzip``), as browsers do;
- 304: the same with ``If-None-Match``, as a browser revalidating its copy (one query, no body).

Each measurement runs ``--clients`` threads of anonymous GETs (a raw-socket client, so that the
client's own cost stays small beside the server's on the same machine) for at most ``--seconds``
seconds or ``--max-requests`` requests, after a warm-up, and prints requests per second side by
side, then the page's size, plain and compressed.

The admin page (the provisional ranking of a campaign, signed in as an admin) is timed in this
process with Django's test client, DEBUG off: its queries and the median of 10 × 3 requests at
each of ``--admin-clouds``.

The version's files (PDF, CSV, XLSX) are rendered after publication as in production; without a
worker (no REDIS_URL) in a thread, which the script waits for before measuring.

Environment: DATABASE_URL (default postgres://postgres:postgres@127.0.0.1:5432/gce_bench_rankings,
created if missing). REDIS_URL and PUBLIC_BASE_URL get placeholders when unset: no page measured
reaches Redis, and the ranking's files render in this process.
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
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

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
    # Production settings refuse to start without these; nothing here reaches Redis (the
    # pages measured send no task, and the files render in this process: see main).
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("PUBLIC_BASE_URL", "https://eval.example.test")


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
    # Without a worker the files render in a thread (services.ranking_exports_enqueue): wait, so
    # that the page measured is the one with its downloads ready.
    for thread in threading.enumerate():
        if thread.name.startswith("ranking-exports-"):
            thread.join()
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


def _get(url: str, etag: str | None = None, gzip: bool = False) -> tuple[int, str, int]:
    """(status, ETag, body bytes) of one GET over a fresh connection, as gunicorn's sync
    workers serve one request per connection."""
    parts = urllib.parse.urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    if etag:
        lines.append(f"If-None-Match: {etag}")
    if gzip:
        lines.append("Accept-Encoding: gzip")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    chunks = []
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(request)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b"".join(chunks)
    head, _sep, body = answer.partition(b"\r\n\r\n")
    header_lines = head.decode("latin-1").split("\r\n")
    status = int(header_lines[0].split()[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _colon, value in (line.partition(":") for line in header_lines[1:])
    }
    return status, headers.get("etag", ""), len(body)


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def measure(
    url: str,
    *,
    clients: int,
    seconds: float,
    max_requests: int,
    conditional: bool,
    gzip: bool = False,
    server_pids: list[int] | None = None,
) -> tuple[float, int, int, float]:
    """(requests per second, requests, non-2xx/304 answers, the server's CPU milliseconds per
    request) over at most ``seconds``. The CPU time per request does not depend on what else
    the machine runs, the rate does."""
    status, etag, _size = _get(url, gzip=gzip)
    if status != 200:
        raise SystemExit(f"{url} answered {status}")
    for _ in range(10):  # warm-up: the workers fill their caches
        _get(url, etag if conditional else None, gzip)
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
            code, _etag, _size = _get(url, etag if conditional else None, gzip)
            if code != expected:
                with lock:
                    counts["bad"] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    cpu_before = _cpu_seconds(server_pids or [])
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    cpu_ms = (_cpu_seconds(server_pids or []) - cpu_before) * 1000 / max(counts["done"], 1)
    return counts["done"] / elapsed, counts["done"], counts["bad"], cpu_ms


def page_sizes(url: str) -> tuple[int, int]:
    """(bytes, bytes compressed) of the page."""
    _status, _etag, plain = _get(url)
    _status, _etag, packed = _get(url, gzip=True)
    return plain, packed


class QueryCount:
    """A database execute wrapper that counts the queries."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, *args: Any) -> Any:
        self.count += 1
        return execute(sql, *args)


def admin_figures(
    sizes: list[int], repeat: int = 10, passes: int = 3
) -> dict[int, tuple[int, float, float]]:
    """(queries, median milliseconds, median CPU milliseconds of this process) of the ranking
    admin page at each size, in this process (Django's test client, DEBUG off, warm)."""
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from reports.models import Ranking

    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    found = {}
    for size in sizes:
        _published_ranking(size)
        ranking = (
            Ranking.objects.filter(year=1900 + size).exclude(state=Ranking.State.DRAFT).first()
        )
        assert ranking is not None
        url = f"/campaigns/{ranking.campaign_id}/ranking/"
        client.get(url)  # warm
        queries = QueryCount()
        with connection.execute_wrapper(queries):
            response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        times, cpu = [], []
        for _ in range(passes):
            for _ in range(repeat):
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
        found[size] = (queries.count, median(times), median(cpu))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clouds", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--admin-clouds", type=int, nargs="+", default=[10, 400])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", metavar="PATH", help="write the figures for `make bench`")
    args = parser.parse_args()

    _environment()
    _create_database(os.environ["DATABASE_URL"])
    static_root = tempfile.mkdtemp(prefix="gce-bench-static-")
    os.environ.update(
        DEBUG="False",
        SECRET_KEY="bench-" + hashlib.sha256(os.urandom(16)).hexdigest(),
        ALLOWED_HOSTS="127.0.0.1,testserver",
        STATIC_ROOT=static_root,
        # gunicorn on plain http: requests are measured, not redirected to https.
        SECURE_SSL_REDIRECT="false",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # The files of the versions published here render in a thread of this process (as without
    # a worker), never through the broker.
    settings.CELERY_TASK_ALWAYS_EAGER = True

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    paths = {size: _published_ranking(size) for size in args.clouds}
    admin = admin_figures(args.admin_clouds)

    settings_dir = tempfile.mkdtemp(prefix="gce-bench-settings-")
    Path(settings_dir, "bench_ranking_nocache.py").write_text(NO_CACHE_SETTINGS)
    print(
        f"Public ranking page, gunicorn {args.workers} workers, {args.clients} clients, "
        f"at most {args.seconds:g} s or {args.max_requests} requests each:"
    )
    labels = ("no cache", "cache", "gzip", "304")
    print(
        f"{'listed':>8}"
        + "".join(f"  {label:>10}" for label in labels)
        + "   (requests per second)"
    )
    results: dict[int, dict[str, float]] = {size: {} for size in args.clouds}
    cpu: dict[int, dict[str, float]] = {size: {} for size in args.clouds}
    sizes: dict[int, tuple[int, int]] = {}
    runs = [
        ("no cache", "bench_ranking_nocache", False, False),
        ("cache", "govcloud_eval.settings", False, False),
        ("gzip", "govcloud_eval.settings", False, True),
        ("304", "govcloud_eval.settings", True, False),
    ]
    for label, module, conditional, gzip in runs:
        with Server(module, settings_dir, args.workers) as server:
            for size in args.clouds:
                url = server.url + paths[size]
                if label == "cache":
                    sizes[size] = page_sizes(url)
                assert server.process is not None
                rps, done, bad, cpu_ms = measure(
                    url,
                    clients=args.clients,
                    seconds=args.seconds,
                    max_requests=args.max_requests,
                    conditional=conditional,
                    gzip=gzip,
                    server_pids=_children(server.process.pid),
                )
                if bad:
                    print(f"  warning: {bad} of {done} {label} requests answered unexpectedly")
                results[size][label] = rps
                cpu[size][label] = cpu_ms
    for size in args.clouds:
        r = results[size]
        print(f"{size:>8}" + "".join(f"  {r[label]:>10.0f}" for label in labels))
    print("The server's CPU time per request (ms; whatever else the machine runs):")
    for size in args.clouds:
        c = cpu[size]
        print(f"{size:>8}" + "".join(f"  {c[label]:>10.2f}" for label in labels))
    load = os.getloadavg()[0]
    print(f"Load average during the run: {load:.1f} on {os.cpu_count()} cores.")
    print(f"{'listed':>8}  {'KB':>10}  {'KB gzip':>10}")
    for size in args.clouds:
        plain, packed = sizes[size]
        print(f"{size:>8}  {plain / 1024:>10.1f}  {packed / 1024:>10.1f}")
    print("Ranking admin page (test client, DEBUG off, median of 10 × 3):")
    print(f"{'clouds':>8}  {'queries':>8}  {'ms':>8}  {'CPU ms':>8}")
    for size, (queries, ms, cpu_ms) in admin.items():
        print(f"{size:>8}  {queries:>8}  {ms:>8.1f}  {cpu_ms:>8.1f}")

    if args.json:
        from _support import row, write_rows

        small, large = args.clouds[0], args.clouds[-1]
        a_small, a_large = args.admin_clouds[0], args.admin_clouds[-1]
        cached_small = min(results[small]["cache"], results[small]["gzip"])
        cached_large = min(results[large]["cache"], results[large]["gzip"])
        size_large = sizes[large][0] / 1024
        rows = [
            row(
                f"public ranking: cached req/s (plain and gzip, worse of; large = {large})",
                round(cached_small),
                round(cached_large),
                "≥ 300",
                cached_small >= 300 and cached_large >= 300,
            ),
            row(
                f"public ranking: server CPU ms per cached request (gzip; large = {large})",
                round(cpu[small]["gzip"], 2),
                round(cpu[large]["gzip"], 2),
                "",
                None,
            ),
            row(
                f"public ranking: uncached req/s (large = {large})",
                round(results[small]["no cache"]),
                round(results[large]["no cache"]),
                "",
                None,
            ),
            row(
                f"public ranking: 304 req/s (large = {large})",
                round(results[small]["304"]),
                round(results[large]["304"]),
                "",
                None,
            ),
            row(
                f"public ranking: page size (KB; large = {large})",
                round(sizes[small][0] / 1024, 1),
                round(size_large, 1),
                "≤ 100 at 100",
                size_large <= 100 if large <= 100 else None,
            ),
            row(
                f"public ranking: page size gzip (KB; large = {large})",
                round(sizes[small][1] / 1024, 1),
                round(sizes[large][1] / 1024, 1),
                "",
                None,
            ),
            row(
                f"ranking admin: queries (large = {a_large})",
                admin[a_small][0],
                admin[a_large][0],
                "≤ 12, equal",
                admin[a_large][0] <= 12 and admin[a_small][0] == admin[a_large][0],
            ),
            row(
                f"ranking admin: median time (ms; large = {a_large})",
                round(admin[a_small][1], 1),
                round(admin[a_large][1], 1),
                "≤ 100 at 400",
                admin[a_large][1] <= 100,
            ),
            row(
                f"ranking admin: median CPU time of the process (ms; large = {a_large})",
                round(admin[a_small][2], 1),
                round(admin[a_large][2], 1),
                "",
                None,
            ),
        ]
        write_rows(args.json, rows)


if __name__ == "__main__":
    main()
