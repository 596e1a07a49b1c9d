"""Benchmark: the standard certified report, rendered, signed and charted, per page and whole.

    .venv/bin/python bench/report_render.py [--runs 7] [--fallback-runs 1] [--json PATH]

The report is the one ``reports.certified.rendering.report_pdf_bytes`` makes (as the render
task does) for an approved assessment of the default comprehensive catalog (4 dimensions, 20
indicators, the radar chart), each indicator with two assessors' rationales and two evidence
files, in Chinese, signed (PAdES B-LT with a throw-away self-signed certificate, the visible
signature with the development seal). The snapshot is built once, in a throw-away in-memory
SQLite database (catalog loaded and scored by the real code); then only rendering is timed.

Prints, for the unsigned render and for render + sign: the median wall time and CPU time of
the process, per report and per page, the pages and the file size, against the goals of issue
14 (≤ 0.09 s a page signed and charted, ≤ 400 KB); the CPU time of a report is printed as well
(what 400 reports through two worker processes cost is ``bench/reports_batch.py``'s figure, the
goal itself). The machine's load average is printed with the figures: other work on it inflates
them.

Also the same render with WeasyPrint's fontTools fallback forced, the way a machine without
libharfbuzz-subset would see it (WeasyPrint checks ``harfbuzz_subset``, imported by name into
``weasyprint.pdf.fonts`` from ``weasyprint.text.ffi``, and uses fontTools when it is None); 0
``--fallback-runs`` skip it (a run takes about ten seconds).

With ``--json PATH``, writes the figures as rows of the benchmark table (bench/summary.py):
the standard report's figures in the "large" column.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    # Imported for real only after django.setup(), inside the functions.
    from reports.certified.pdf import AssessorNote, EvidenceRef, ReportContent

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEAL = ROOT / "static" / "certified" / "report-seal-development.png"
PAGE_GOAL = 0.09  # seconds a page, signed and charted
SIZE_GOAL_KB = 400


def setup_django(tmp: Path) -> None:
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govcloud_eval.settings")
    os.environ["REDIS_URL"] = ""
    os.environ["MEDIA_ROOT"] = str(tmp / "media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def standard_content(tmp: Path) -> ReportContent:
    """The snapshot of a standard report, built with the real catalog and scoring code."""
    import random
    from decimal import Decimal

    from indicators.models import Framework
    from indicators.services import default_catalogs_load
    from reports.scoring.engine import IndicatorInput, breakdown_json, score
    from reports.scoring.selectors import framework_spec

    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(
        kind=Framework.Kind.COMPREHENSIVE, state=Framework.State.PUBLISHED
    )
    spec = framework_spec(framework=framework)
    rng = random.Random(2026)
    inputs = {
        i.id: IndicatorInput(rating=Decimal(rng.choice([1, 2, 2, 3]))) for i in spec.indicators
    }
    breakdown = breakdown_json(score(spec, inputs))
    notes: dict[str, list[AssessorNote]] = {}
    evidence: dict[str, list[EvidenceRef]] = {}
    for n, indicator in enumerate(spec.indicators):
        key = str(indicator.id)
        rating = str(inputs[indicator.id].rating)
        notes[key] = [
            {
                "assessor": name,
                "rating": rating,
                "met": None,
                "rationale": f"依据自评说明、平台监测数据与现场核查记录，{indicator.name_zh}"
                "达到相应评分档次要求；佐证材料齐全，数据口径与评估方法一致。",
            }
            for name in ("张明（评估专家）", "李华（评估专家）")
        ]
        evidence[key] = [
            {
                "name": f"{indicator.code}-{label}.pdf",
                "sha256": f"{n:02d}{label_n}" + "ab" * 31,
                "size": 1_234_567,
                "version": 1,
            }
            for label_n, label in enumerate(("自评报告", "第三方检测报告"))
        ]
    return {
        "language": "zh-hans",
        "number": "GCE-2026-0001",
        "verification_code": "ABCD-EFGH-IJKL-MNOP-QRST-UVWX",
        "verify_url": "http://127.0.0.1:8000/verify/ABCDEFGHIJKLMNOPQRSTUVWX/",
        "issued_on": "2026-03-21",
        "supersedes": None,
        "demo": True,
        "cloud": {
            "name": "济南政务云计算中心",
            "name_en": "Jinan Government Cloud Computing Centre",
            "level": "municipal",
            "division_code": "370100",
        },
        "owner": "济南市大数据局",
        "vendors": ["浪潮软件集团有限公司"],
        "campaign": {
            "name": "2026年政务云综合水平评估",
            "year": 2026,
            "opens_on": "2026-01-05",
            "closes_on": "2026-02-27",
        },
        "framework": {
            "code": framework.code,
            "version": framework.version,
            "kind": framework.kind,
            "name_zh": framework.name_zh,
            "name_en": framework.name_en,
            "rating_names": list(framework.rating_names or []),
            "provenance": framework.provenance,
            "report_validity_months": framework.report_validity_months,
            "evidence_methods": ["Q", "D", "S", "T", "I", "U"],
        },
        "score": {"version": 1, "inputs_sha256": "cd" * 32, "computed_at": "2026-03-20T10:00:00"},
        "breakdown": breakdown,
        "notes": notes,
        "settlements": {},
        "evidence": evidence,
        "assessors": ["张明（评估专家）", "李华（评估专家）"],
        "approved_by": "王强（评估办公室）",
        "approved_on": "2026-03-20",
        "valid_until": "2027-03-20",
        "issuer": "政务云评估办公室",
    }


def force_fonttools_fallback() -> None:
    import weasyprint.pdf.fonts
    import weasyprint.text.ffi

    weasyprint.text.ffi.harfbuzz_subset = None
    weasyprint.pdf.fonts.harfbuzz_subset = None


def pdf_pages(data: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return len(PdfFileReader(io.BytesIO(data)).root["/Pages"]["/Kids"])


class Timing(NamedTuple):
    wall: float  # median seconds per report
    cpu: float  # median CPU seconds of this process per report
    size: int
    pages: int


def timed(render: Callable[[ReportContent], bytes], content: ReportContent, runs: int) -> Timing:
    walls: list[float] = []
    cpus: list[float] = []
    data = b""
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        data = render(content)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return Timing(statistics.median(walls), statistics.median(cpus), len(data), pdf_pages(data))


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fallback-runs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the figures as benchmark rows")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gce-bench-report-") as folder:
        tmp = Path(folder)
        setup_django(tmp)
        from django.conf import settings

        from govcloud_eval.health import harfbuzz_subsetting_available
        from reports.certified.pdf import render_report_pdf
        from reports.certified.rendering import report_pdf_bytes
        from reports.certified.signing import dev_certificate_create

        settings.REPORT_SIGNING_KEY = str(tmp / "key.pem")
        settings.REPORT_SIGNING_CERT = str(tmp / "cert.pem")
        settings.REPORT_SEAL_IMAGE = str(SEAL)
        dev_certificate_create(
            key_path=tmp / "key.pem", cert_path=tmp / "cert.pem", common_name="bench"
        )
        if not harfbuzz_subsetting_available():
            print("HarfBuzz subsetting is not available here: the figures would mislead.")
            return 1
        content = standard_content(tmp)
        report_pdf_bytes(content)  # warm up: fonts, stylesheet, templates, imports, the key

        load_before = load_average()
        unsigned = timed(render_report_pdf, content, args.runs)
        signed = timed(report_pdf_bytes, content, args.runs)
        load_after = load_average()
        fallback = None
        if args.fallback_runs > 0:
            force_fonttools_fallback()
            fallback = timed(render_report_pdf, content, args.fallback_runs)

    print(
        "Standard certified report: 20 indicators, 2 rationales and 2 evidence files each, zh, "
        "radar chart"
    )
    print(f"load average before {load_before}, after {load_after} (2 cores)")
    print(
        f"{'':30} {'wall':>8} {'CPU':>8} {'pages':>6} {'wall/page':>10} {'CPU/page':>9} "
        f"{'size':>9}  runs"
    )
    rows = [
        ("rendered (HarfBuzz)", unsigned, args.runs),
        ("rendered + signed", signed, args.runs),
    ]
    if fallback is not None:
        rows.append(("fontTools fallback (forced)", fallback, args.fallback_runs))
    for label, t, runs in rows:
        print(
            f"{label:30} {t.wall:7.3f}s {t.cpu:7.3f}s {t.pages:>6} {t.wall / t.pages:9.3f}s "
            f"{t.cpu / t.pages:8.3f}s {t.size / 1024:5.0f} KiB  {runs}"
        )
    per_page = signed.wall / signed.pages
    size_kb = signed.size / 1000
    print(
        f"goal, signed and charted: ≤ {PAGE_GOAL} s a page: {per_page:.3f} s "
        f"({'met' if per_page <= PAGE_GOAL else 'MISSED'}); ≤ {SIZE_GOAL_KB} KB: {size_kb:.0f} KB "
        f"({'met' if size_kb <= SIZE_GOAL_KB else 'MISSED'}); CPU a report: {signed.cpu:.3f} s"
    )
    if args.json:
        from _support import row, write_rows

        write_rows(
            str(args.json),
            [
                row(
                    "report: wall time per page, signed and charted (s)",
                    None,
                    round(per_page, 4),
                    f"≤ {PAGE_GOAL}",
                    per_page <= PAGE_GOAL,
                ),
                row(
                    "report: CPU time per report, signed and charted (s)",
                    None,
                    round(signed.cpu, 3),
                    "",
                    None,
                ),
                row(
                    "report: signed file size (KB)",
                    None,
                    round(size_kb),
                    f"≤ {SIZE_GOAL_KB}",
                    size_kb <= SIZE_GOAL_KB,
                ),
                row("report: pages", None, signed.pages, "", None),
            ],
        )
    return 0  # a benchmark reports figures; it does not fail the build


if __name__ == "__main__":
    sys.exit(main())
