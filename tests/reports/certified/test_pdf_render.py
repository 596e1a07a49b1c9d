"""The rendered report: what a reader finds in it, its fonts, its signature, its layout helpers."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext as _
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from indicators.models import Framework
from reports.certified.pdf import page_counter_css, qr_svg
from reports.models import Report
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.fixtures import approve, issue_and_render
from tests.reports.conftest import score_completely


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_fonts(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[2:]


def pdf_pages(report: Report, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(file_bytes(report))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    (line,) = [x for x in info.stdout.splitlines() if x.startswith("Pages:")]
    return int(line.split()[1])


def file_bytes(report: Report) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def test_the_report_names_the_cloud_its_level_and_every_indicator(
    issued: Report, tmp_path: Path
) -> None:
    assert issued.state == Report.State.READY, issued.error
    text = pdf_text(file_bytes(issued), tmp_path)
    compact = "".join(text.split())
    breakdown = issued.score_result.breakdown
    assert "济南政务云计算中心" in compact
    assert breakdown["level"]["name_zh"] in compact
    names = [row["name_zh"] for d in breakdown["dimensions"] for row in d["indicators"]]
    assert len(names) == 20
    for name in names:
        assert "".join(name.split()) in compact, name
    assert issued.number in compact
    # Page numbers ("第 N 页 共 M 页" once the Chinese catalog is compiled); the cover has none.
    with translation.override("zh-hans"):
        footer = _("Page {page} of {pages}").format(page=2, pages=pdf_pages(issued, tmp_path))
    assert "".join(footer.split()) in compact


def test_the_report_lists_evidence_files_with_their_sha256(issued: Report, tmp_path: Path) -> None:
    compact = "".join(pdf_text(file_bytes(issued), tmp_path).split())
    evidence = issued.content["evidence"]
    (files,) = evidence.values()
    assert "可用性监测报告2025.pdf" in compact
    assert files[0]["sha256"] in compact


def test_it_embeds_subsets_of_simplified_chinese_fonts(issued: Report, tmp_path: Path) -> None:
    fonts = pdf_fonts(file_bytes(issued), tmp_path)
    sc = [line for line in fonts if "CJK-SC" in line]
    assert sc, fonts
    for line in sc:
        name, *_, emb, sub, _uni, _obj, _gen = line.split()
        assert name[6] == "+", name  # a subset: ABCDEF+Font
        assert (emb, sub) == ("yes", "yes"), line
    assert not [line for line in fonts if "CJK-TC" in line or "CJK-JP" in line]


def test_the_signature_validates_with_pyhanko(issued: Report, signing_key: Path) -> None:
    reader = PdfFileReader(io.BytesIO(file_bytes(issued)))
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(signing_key))])
    status = validate_pdf_signature(signature, context)
    assert status.intact and status.valid and status.trusted
    assert status.docmdp_ok
    assert status.coverage is not None and status.coverage.name == "ENTIRE_FILE"


def test_changing_one_byte_breaks_the_signature(issued: Report, signing_key: Path) -> None:
    data = bytearray(file_bytes(issued))
    data[2000] ^= 0x01
    reader = PdfFileReader(io.BytesIO(bytes(data)), strict=False)
    (signature,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(signing_key))])
    status = validate_pdf_signature(signature, context)
    assert not status.intact


def test_an_english_report_is_in_english(approved: Assessment, admin: User, tmp_path: Path) -> None:
    report = issue_and_render(approved, admin, language=Report.Language.ENGLISH)
    text = pdf_text(file_bytes(report), tmp_path)
    assert "Government Cloud Comprehensive Evaluation Report" in " ".join(text.split())
    assert "Page 2 of" in text
    assert "Platform capability" in text or "Service catalogue" in text


@pytest.fixture
def trusted_approved(
    trusted: Framework,
    cloud: Cloud,
    admin: User,
    vendor: User,
    assessor: User,
    assessor2: User,
    signing_key: Path,
) -> Assessment:
    import datetime

    today = datetime.date.today()
    campaign = workflow.campaign_create(
        name="2026年可信政务云评估",
        year=today.year,
        framework=trusted,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    workflow.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)
    (target,) = workflow.campaign_add_clouds(campaign=campaign, clouds=[cloud], acting_user=admin)
    assigned: list[Assignment] = [
        workflow.assignment_create(assessment=target, assessor=a, acting_user=admin)
        for a in (assessor, assessor2)
    ]
    return approve(score_completely(target, vendor, assigned), admin)


def test_a_trusted_platform_report_shows_each_requirement_and_the_pass(
    trusted_approved: Assessment, admin: User, tmp_path: Path
) -> None:
    report = issue_and_render(trusted_approved, admin)
    assert report.state == Report.State.READY, report.error
    compact = "".join(pdf_text(file_bytes(report), tmp_path).split())
    assert "可信政务云平台评估报告" in compact or "TrustedGovernmentCloud" in compact
    breakdown = report.score_result.breakdown
    rows = [row for d in breakdown["dimensions"] for row in d["indicators"]]
    assert any(row["requirement_type"] == "M" for row in rows)
    for row in rows:
        assert "".join(row["name_zh"].split()) in compact, row["name_zh"]
    passed = breakdown["pass_check"]["passed"]
    assert ("通过" in compact or "Passed" in compact) if passed else True


def test_page_numbers_come_from_the_translated_sentence() -> None:
    assert page_counter_css("第 {page} 页 共 {pages} 页") == (
        '"第 " counter(page) " 页 共 " counter(pages) " 页"'
    )
    assert page_counter_css("Page {page} of {pages}") == (
        '"Page " counter(page) " of " counter(pages)'
    )


def test_the_qr_code_is_vector_svg() -> None:
    svg = qr_svg("https://verify.example.gov.cn/verify/ABCD/")
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg


def test_approved_is_required_for_the_fixture(approved: Assessment) -> None:
    assert approved.state == Assessment.State.APPROVED
