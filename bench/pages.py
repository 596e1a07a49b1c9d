"""Benchmark: the portal's pages at 10 and at 400 assessments: queries, time and size.

    make bench                                   # or:
    .venv/bin/python bench/pages.py [--sizes 10 400] [--json PATH]
    .venv/bin/python bench/pages.py --explain [--sizes 400 4000]

For each size it builds, in a PostgreSQL database of its own (``gce_bench_pages_<size>``,
created and filled once, reused by later runs), a campaign of that many clouds with
``tests/reports/bulk.py`` (20 indicators, 2 assessors, answers and ratings on every indicator),
spreads the assessments over the workflow's states (drafts without ratings, some answers
missing, a few evidence files), and then asks each page with the Django test client, DEBUG off,
signed in as the role the page is for:

- queries: counted on one request after a warm-up (``CaptureQueriesContext``);
- time: 3 passes of 10 requests after a warm-up request; the figure is the median of the three
  passes' medians (the spread of the pass medians is printed too);
- size: the HTML of the response, in KB.

It prints, per page, the queries at both sizes, the median milliseconds at both sizes, the
HTML at the larger size and the ratio large/small of the time; goals: at most 12 queries a
page, the same at both sizes; the cockpit, the lists and the ranking admin page within 200 ms
at 400. With ``--json PATH`` it writes those figures as rows (see /tmp/benchfmt.md).

With ``--explain`` it prints instead, for the list pages and the cockpit, the PostgreSQL plan
(``EXPLAIN (ANALYZE, BUFFERS)``) of the slowest queries of one request: execution time, the top
nodes and the rows they handle (docs/performance.md records what it showed).

Each size runs in a child process of its own (its own database, a fresh Django). Environment:
DATABASE_URL names the server (default postgres://postgres:postgres@127.0.0.1:5432/); the
database name is replaced by ``gce_bench_pages_<size>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER_URL = "postgres://postgres:postgres@127.0.0.1:5432/"
PASSES = 3
REQUESTS = 10
QUERY_GOAL = 12
TIME_GOAL_MS = 200
# The pages held to the time goal (the evidence pages are another part's).
TIMED = {
    "cockpit",
    "assessment list (admin)",
    "assessment list (assessor)",
    "assessment list (vendor)",
    "campaign list",
    "cloud list",
    "ranking admin",
}


def _database_url(size: int) -> str:
    parts = urlparse(os.environ.get("DATABASE_URL", DEFAULT_SERVER_URL))
    return urlunparse(parts._replace(path=f"/gce_bench_pages_{size}"))


# ----------------------------------------------------------------------------------------------
# The child: one size, one database


def _setup(size: int) -> None:
    os.environ["DATABASE_URL"] = _database_url(size)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["REDIS_URL"] = ""
    from _support import create_database

    create_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings

    # As the test client sees production: no debug pages, no debug templates.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def _world(size: int) -> dict[str, Any]:
    """The campaign of ``size`` clouds and its people; built once per database."""
    import datetime

    from django.core.management import call_command

    from accounts.models import Organisation, User
    from assessments.models import Assessment, Campaign, Evidence
    from indicators.models import Framework, Indicator
    from indicators.services import default_catalogs_load
    from tests.reports.bulk import bulk_scored_campaign, bulk_spread_states

    call_command("migrate", verbosity=0)
    name = f"页面基准测试批次 ({size})"
    admin, _ = User.objects.get_or_create(
        username="bench_admin", defaults={"role": User.Role.ADMIN}
    )
    assessors = [
        User.objects.get_or_create(
            username=f"bench_expert{n}", defaults={"role": User.Role.ASSESSOR}
        )[0]
        for n in (1, 2)
    ]
    owner_org, _ = Organisation.objects.get_or_create(
        name="基准测试大数据局",
        defaults={
            "kind": Organisation.Kind.GOVERNMENT,
            "division_code": "370100",
            "admin_level": "prefecture",
        },
    )
    vendor_org, _ = Organisation.objects.get_or_create(
        name="基准测试云服务商", defaults={"kind": Organisation.Kind.VENDOR}
    )
    vendor, _ = User.objects.get_or_create(
        username="bench_vendor", defaults={"role": User.Role.VENDOR, "organisation": vendor_org}
    )
    owner, _ = User.objects.get_or_create(
        username="bench_owner", defaults={"role": User.Role.OWNER, "organisation": owner_org}
    )
    auditor, _ = User.objects.get_or_create(
        username="bench_auditor", defaults={"role": User.Role.AUDITOR}
    )
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is None:
        started = time.perf_counter()
        default_catalogs_load(acting_user=None)
        framework = Framework.objects.get(
            kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
        )
        campaign = bulk_scored_campaign(
            framework=framework,
            size=size,
            assessors=assessors,
            admin=admin,
            name=name,
            owner=owner_org,
            vendor=vendor_org,
        )
        # A campaign under way: the states in turn, drafts and submissions without ratings,
        # half of the drafts' answers missing; evidence on five indicators of the others.
        bulk_spread_states(campaign=campaign)
        ours = Assessment.objects.filter(campaign=campaign)
        indicators = list(Indicator.objects.filter(framework=framework).order_by("order"))
        Evidence.objects.bulk_create(
            Evidence(
                assessment=a,
                indicator=i,
                file=f"evidence/bench/{a.pk}-{i.pk}.pdf",
                original_name=f"{i.code}.pdf",
                size=1024,
                sha256="0" * 64,
                content_type="application/pdf",
                uploaded_by=vendor,
                issued_on=datetime.date.today(),
            )
            for a in ours.exclude(state=Assessment.State.DRAFT)
            for i in indicators[:5]
        )
        print(f"  built {size} assessments in {time.perf_counter() - started:.1f} s", flush=True)
    assessment = (
        Assessment.objects.filter(campaign=campaign, state=Assessment.State.IN_REVIEW)
        .order_by("pk")
        .first()
    )
    assert assessment is not None
    return {
        "campaign": campaign,
        "assessment": assessment,
        "users": {
            "admin": admin,
            "assessor": assessors[0],
            "vendor": vendor,
            "owner": owner,
            "auditor": auditor,
        },
    }


def _pages(world: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(page, role, url) for every page measured."""
    from django.urls import reverse

    c = world["campaign"].pk
    a = world["assessment"].pk
    return [
        ("cockpit", "admin", reverse("assessments:campaign_detail", args=[c])),
        ("assessment list (admin)", "admin", reverse("assessments:list")),
        ("assessment list (assessor)", "assessor", reverse("assessments:list")),
        ("assessment list (vendor)", "vendor", reverse("assessments:list")),
        ("assessment list (owner)", "owner", reverse("assessments:list")),
        ("campaign list", "admin", reverse("assessments:campaign_list")),
        ("cloud list", "admin", reverse("assessments:cloud_list")),
        ("dashboard (admin)", "admin", reverse("dashboard")),
        ("dashboard (assessor)", "assessor", reverse("dashboard")),
        ("dashboard (vendor)", "vendor", reverse("dashboard")),
        ("dashboard (owner)", "owner", reverse("dashboard")),
        ("campaign scoring", "admin", reverse("scoring:campaign_scoring", args=[c])),
        ("ranking admin", "admin", reverse("rankings:admin", args=[c])),
        ("audit list", "auditor", reverse("audit:event_list")),
        ("notifications", "admin", reverse("notifications:list")),
        ("assessment page", "vendor", reverse("assessments:detail", args=[a])),
        ("scoring page", "assessor", reverse("assessments:score", args=[a])),
        ("evidence list", "vendor", reverse("assessments:evidence_list", args=[a])),
    ]


def _clients(world: dict[str, Any]) -> dict[str, Any]:
    from django.test import Client

    clients = {}
    for role, user in world["users"].items():
        client = Client()
        client.force_login(user)
        client.cookies["django_language"] = "zh-hans"
        clients[role] = client
    return clients


def _timed(get: Callable[[], Any]) -> list[float]:
    """The median milliseconds of each pass of REQUESTS requests, after a warm-up."""
    get()
    medians = []
    for _pass in range(PASSES):
        times = []
        for _n in range(REQUESTS):
            started = time.perf_counter()
            get()
            times.append((time.perf_counter() - started) * 1000)
        medians.append(statistics.median(times))
    return medians


def measure(size: int) -> list[dict[str, Any]]:
    _setup(size)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = _world(size)
    clients = _clients(world)
    rows = []
    for page, role, url in _pages(world):
        client = clients[role]
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{page}: {url} answered {response.status_code} to the {role}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        count = len(queries)

        def get(client: Any = client, url: str = url) -> Any:
            return client.get(url)

        medians = _timed(get)
        rows.append(
            {
                "page": page,
                "queries": count,
                "ms": statistics.median(medians),
                "ms_spread": [min(medians), max(medians)],
                "kb": len(response.content) / 1024,
            }
        )
    return rows


# The pages whose plans --explain prints.
EXPLAINED = {
    "cockpit",
    "assessment list (admin)",
    "assessment list (assessor)",
    "assessment list (vendor)",
    "campaign list",
    "cloud list",
    "dashboard (admin)",
    "dashboard (assessor)",
    "dashboard (vendor)",
}


def _plan_summary(plan: dict[str, Any]) -> list[str]:
    """The plan's nodes, one line each: type, relation, rows and time."""
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        what = node["Node Type"]
        if node.get("Relation Name"):
            what += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            what += f" using {node['Index Name']}"
        extra = ""
        if node.get("Sort Method"):
            extra = f" sort {node['Sort Method']} {node.get('Sort Space Used', '?')} kB"
        lines.append(
            f"{'  ' * depth}{what}: rows {node.get('Actual Rows')} × {node.get('Actual Loops')}"
            f" loops, {node.get('Actual Total Time')} ms{extra}"
        )
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(plan["Plan"], 0)
    return lines


def explain(size: int) -> None:
    _setup(size)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    world = _world(size)
    clients = _clients(world)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"\n=== {size} assessments ===")
    for page, role, url in _pages(world):
        if page not in EXPLAINED:
            continue
        client = clients[role]
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        timed = []
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip("( ").upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()[0]
            timed.append((plan["Execution Time"], sql, plan))
        timed.sort(key=lambda t: -t[0])
        total = sum(t[0] for t in timed)
        print(
            f"\n--- {page}: {len(queries)} queries, {total:.1f} ms of execution in all; "
            "the slowest:"
        )
        for ms, sql, plan in timed[:2]:
            print(f"  {ms:.2f} ms (planning {plan['Planning Time']:.2f} ms): {sql[:300]}")
            for line in _plan_summary(plan)[:14]:
                print(f"    {line}")


# ----------------------------------------------------------------------------------------------
# The parent: one child per size, then the table


def _run_child(size: int, mode: str) -> list[dict[str, Any]] | None:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    subprocess.run(
        [sys.executable, __file__, f"--child-{mode}", str(size), "--child-out", path],
        check=True,
        cwd=ROOT,
    )
    data = json.loads(Path(path).read_text() or "null")
    Path(path).unlink()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=None, metavar=("SMALL", "LARGE"))
    parser.add_argument("--json", type=Path, help="write the figures as rows to this file")
    parser.add_argument("--explain", action="store_true", help="print the list queries' plans")
    parser.add_argument("--child-measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-explain", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_measure is not None:
        args.child_out.write_text(json.dumps(measure(args.child_measure)))
        return
    if args.child_explain is not None:
        explain(args.child_explain)
        args.child_out.write_text("null")
        return

    if args.explain:
        for size in args.sizes or [400, 4000]:
            _run_child(size, "explain")
        return

    small, large = args.sizes or [10, 400]
    print(
        f"Pages at {small} and {large} assessments (PostgreSQL, Django test client, DEBUG off; "
        f"median of {REQUESTS} requests × {PASSES} passes)",
        flush=True,
    )
    by_size = {size: _run_child(size, "measure") or [] for size in (small, large)}
    at_small = {r["page"]: r for r in by_size[small]}
    figures: list[dict[str, Any]] = []
    print(
        f"{'page':<28} {'queries':>9} {'q ok':>5} {'ms @' + str(small):>9} "
        f"{'ms @' + str(large):>9} {'spread @' + str(large):>14} {'KB @' + str(large):>9} "
        f"{'ratio':>6} {'ms ok':>6}"
    )
    for row in by_size[large]:
        page = row["page"]
        few = at_small[page]
        queries_ok = row["queries"] == few["queries"] and row["queries"] <= QUERY_GOAL
        ratio = row["ms"] / few["ms"] if few["ms"] else None
        time_ok: bool | None = row["ms"] <= TIME_GOAL_MS if page in TIMED else None
        low, high = row["ms_spread"]
        marks = {True: "yes", False: "NO", None: ""}
        print(
            f"{page:<28} {few['queries']:>4}/{row['queries']:<4} {marks[queries_ok]:>5} "
            f"{few['ms']:>9.1f} {row['ms']:>9.1f} {f'{low:.0f}–{high:.0f}':>14} "
            f"{row['kb']:>9.1f} {ratio or 0:>6.2f} {marks[time_ok]:>6}"
        )
        figures.append(
            {
                "figure": f"{page}: queries",
                "small": few["queries"],
                "large": row["queries"],
                "goal": f"≤ {QUERY_GOAL}, equal at {small} and {large}",
                "ok": queries_ok,
            }
        )
        figures.append(
            {
                "figure": f"{page}: median time (ms)",
                "small": round(few["ms"], 1),
                "large": round(row["ms"], 1),
                "goal": f"≤ {TIME_GOAL_MS} at {large}" if page in TIMED else "",
                "ok": time_ok,
            }
        )
        if page == "cockpit":
            figures.append(
                {
                    "figure": "cockpit: HTML (KB)",
                    "small": round(few["kb"], 1),
                    "large": round(row["kb"], 1),
                    "goal": f"≤ 400 at {large}",
                    "ok": row["kb"] <= 400,
                }
            )
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
