"""The rendered report: what a reader finds in it, its fonts, its signature, its layout helpers."""

from __future__ import annotations

import datetime
import io
import subprocess
from pathlib import Path
from typing import Any, cast

import pytest
from django.utils import translation
from django.utils.translation import gettext as _
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pytest_django import Settings

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Assignment, Campaign, Cloud
from indicators.models import Framework
from reports.certified.pdf import ReportContent, page_counter_css, qr_svg
from reports.certified.signing import FIELD_NAME
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
    # The signed revision is whole; after it comes only the validation data (PAdES B-LT), which
    # a certification signature that allows no change admits.
    assert status.coverage is not None and status.coverage.name == "ENTIRE_REVISION"
    assert status.modification_level is not None
    assert status.modification_level.name == "LTA_UPDATES"


def test_a_self_signed_certificate_is_its_own_validation_data(
    issued: Report, signing_key: Path
) -> None:
    """B-LT with the development certificate: the DSS holds the certificate itself, and the
    signature validates from the file alone, nothing fetched."""
    reader = PdfFileReader(io.BytesIO(file_bytes(issued)))
    dss = DocumentSecurityStore.read_dss(reader)
    (cert,) = dss.load_certs()
    assert cert.dump() == load_cert_from_pemder(str(signing_key)).dump()
    (signature,) = reader.embedded_signatures
    offline = dss.as_validation_context(
        {"trust_roots": [cert], "allow_fetching": False, "revocation_mode": "hard-fail"}
    )
    assert validate_pdf_signature(signature, offline).bottom_line


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


def trusted_approval(
    trusted: Framework,
    cloud: Cloud,
    admin: User,
    vendor: User,
    assessors: tuple[User, ...],
    *,
    graded_rating: int = 2,
) -> Assessment:
    """A trusted-platform assessment of ``cloud``, approved: every mandatory item met, every
    graded item rated ``graded_rating`` by each assessor (0 fails the pass rule)."""
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
        for a in assessors
    ]
    return approve(score_completely(target, vendor, assigned, rating=graded_rating), admin)


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
    return trusted_approval(trusted, cloud, admin, vendor, (assessor, assessor2))


def verdicts(cloud: str) -> dict[bool, list[str]]:
    """What a trusted-platform report says, passed or not: the cover's result and the summary's
    sentence, in Chinese (squeezed as ``pdf_text`` compacts them)."""
    with translation.override("zh-hans"):
        said = {
            True: [_("Passed"), _("%(cloud)s passed the trusted-platform evaluation.")],
            False: [_("Not passed"), _("%(cloud)s did not pass the trusted-platform evaluation.")],
        }
    return {
        passed: ["".join((text % {"cloud": cloud}).split()) for text in texts]
        for passed, texts in said.items()
    }


def the_result_on_the_cover(compact: str) -> str:
    """The words between the cover's "Result" label and the facts table's first label."""
    with translation.override("zh-hans"):
        label, cloud = _("Result"), _("Cloud")
    return compact.split(label, 1)[1].split(cloud, 1)[0]


@pytest.mark.parametrize("passing", [True, False], ids=["passing", "failing"])
def test_a_trusted_platform_report_states_its_exact_verdict(
    passing: bool,
    trusted: Framework,
    cloud: Cloud,
    admin: User,
    vendor: User,
    assessor: User,
    assessor2: User,
    signing_key: Path,
    tmp_path: Path,
) -> None:
    approved = trusted_approval(
        trusted, cloud, admin, vendor, (assessor, assessor2), graded_rating=2 if passing else 0
    )
    report = issue_and_render(approved, admin)
    assert report.state == Report.State.READY, report.error
    assert report.score_result.breakdown["pass_check"]["passed"] is passing

    compact = "".join(pdf_text(file_bytes(report), tmp_path).split())
    said = verdicts(cloud.name)
    with translation.override("zh-hans"):
        title = _("Trusted Government Cloud Platform Evaluation Report")
    assert "".join(title.split()) in compact
    assert the_result_on_the_cover(compact) == said[passing][0]
    for sentence in said[passing][1:]:
        assert compact.count(sentence) == 2, sentence  # the summary and the last page
    for sentence in said[not passing][1:]:
        assert sentence not in compact, sentence


def test_a_trusted_platform_report_shows_each_requirement(
    trusted_approved: Assessment, admin: User, tmp_path: Path
) -> None:
    report = issue_and_render(trusted_approved, admin)
    assert report.state == Report.State.READY, report.error
    compact = "".join(pdf_text(file_bytes(report), tmp_path).split())
    breakdown = report.score_result.breakdown
    rows = [row for d in breakdown["dimensions"] for row in d["indicators"]]
    assert any(row["requirement_type"] == "M" for row in rows)
    for row in rows:
        assert "".join(row["name_zh"].split()) in compact, row["name_zh"]


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


# --- The formal report: cover, statement, basis, validity, the visible signature --------------


def page_text(data: bytes, tmp_path: Path, page: int) -> str:
    """The text of one page (1-based; -1 for the last), squeezed of white space."""
    path = tmp_path / "page.pdf"
    path.write_bytes(data)
    if page < 0:
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
        (line,) = [x for x in info.stdout.splitlines() if x.startswith("Pages:")]
        page = int(line.split()[1]) + 1 + page
    out = subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "".join(out.split())


def zh(message: str, **values: object) -> str:
    """``message`` as the Chinese report prints it, squeezed of white space."""
    with translation.override("zh-hans"):
        text = _(message) % values if values else _(message)
    return "".join(text.split())


def zh_date(iso: str) -> str:
    from django.utils.formats import date_format

    with translation.override("zh-hans"):
        return "".join(date_format(datetime.date.fromisoformat(iso), "DATE_FORMAT").split())


@pytest.fixture
def issuer_named(settings: Settings) -> str:
    settings.REPORT_ISSUER_NAME = "某省政务云评估中心（测试）"
    return settings.REPORT_ISSUER_NAME


def test_the_cover_names_the_catalog_in_chinese_with_its_version_and_the_issuer(
    approved: Assessment, admin: User, issuer_named: str, tmp_path: Path
) -> None:
    report = issue_and_render(approved, admin)
    cover = page_text(file_bytes(report), tmp_path, 1)
    framework = approved.campaign.framework
    assert (
        zh("%(name)s, version %(version)s", name=framework.name_zh, version=framework.version)
        in cover
    )
    assert framework.code not in cover
    assert issuer_named in cover
    assert zh("Valid until") + zh_date(report.content["valid_until"]) in cover


def test_the_statement_page_says_what_is_certified_until_when_how_to_verify_and_the_limits(
    issued: Report, tmp_path: Path
) -> None:
    text = page_text(file_bytes(issued), tmp_path, 2)
    content = issued.content
    assert zh("Statement") in text
    assert (
        zh(
            "This report is valid until %(date)s. A report that is superseded or revoked is no "
            "longer valid from that day: the verification page always shows its current status.",
            date=zh_date(content["valid_until"]),
        )
        in text
    )
    assert content["verification_code"] in text
    assert content["verify_url"] in text
    for limit in (
        "This report is valid only as a whole: extracts, partial copies and altered copies are "
        "not valid, and quoting it must not change its meaning.",
        "It is not an endorsement, a recommendation or a guarantee of the cloud's vendors or of "
        "their products and services beyond what it states.",
    ):
        assert zh(limit) in text


def test_the_basis_names_the_standard_version_methods_assessors_and_dates(
    issued: Report, tmp_path: Path
) -> None:
    from indicators.models import EvidenceMethod

    text = page_text(file_bytes(issued), tmp_path, 3)
    content = issued.content
    assert zh("1. Basis of the evaluation") in text
    assert content["framework"]["name_zh"] in text
    assert "".join(content["framework"]["provenance"].split())[:40] in text
    # The default comprehensive catalog uses all six methods.
    assert content["framework"]["evidence_methods"] == ["Q", "D", "S", "T", "I", "U"]
    for method in EvidenceMethod:
        assert zh(str(method.label)) + f"（{method.value}）" in text
    for name in content["assessors"]:
        assert "".join(name.split()) in text
    campaign = content["campaign"]
    assert (
        zh(
            "%(start)s to %(end)s",
            start=zh_date(campaign["opens_on"]),
            end=zh_date(campaign["closes_on"]),
        )
        in text
    )
    for day in (content["approved_on"], content["issued_on"], content["valid_until"]):
        assert zh_date(day) in text


def test_a_report_is_valid_for_the_catalogs_months_from_the_approval(issued: Report) -> None:
    from reports.certified.content import add_months

    approved_on = datetime.date.fromisoformat(issued.content["approved_on"])
    months = issued.assessment.campaign.framework.report_validity_months
    assert months == issued.content["framework"]["report_validity_months"] == 12
    assert issued.content["valid_until"] == add_months(approved_on, months).isoformat()
    assert issued.valid_until == add_months(approved_on, months)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        ("2026-03-20", 12, "2027-03-20"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2027-12-31", 2, "2028-02-29"),
        ("2026-11-15", 36, "2029-11-15"),
    ],
)
def test_months_are_added_by_the_calendar(day: str, months: int, expected: str) -> None:
    from reports.certified.content import add_months

    assert add_months(datetime.date.fromisoformat(day), months).isoformat() == expected


def signature_widget(data: bytes) -> tuple[list[float], Any]:
    """The signature's widget on the last page: its rectangle and its normal appearance."""
    reader = PdfFileReader(io.BytesIO(data))
    page_ref, _resources = reader.find_page_for_modification(-1)
    (widget,) = [
        annot.get_object()
        for annot in page_ref.get_object().get("/Annots", [])
        if annot.get_object().get("/FT") == "/Sig"
    ]
    assert widget["/T"] == FIELD_NAME
    return [float(x) for x in widget["/Rect"]], widget["/AP"]["/N"].get_object()


def images_in(xobject: Any, depth: int = 0) -> int:
    """How many image XObjects an appearance draws, through nested form XObjects."""
    found = 0
    # pyHanko's dictionaries resolve references on [], not on .get().
    resources = xobject.get("/Resources")
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else {}
    for name in xobjects:
        child = xobjects[name]
        if child["/Subtype"] == "/Image":
            found += 1
        elif depth < 6:
            found += images_in(child, depth + 1)
    return found


def red_pixels_in_the_signature_box(data: bytes, tmp_path: Path) -> int:
    from PIL import Image

    from reports.certified.pdf import signature_box

    path = tmp_path / "last.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    (line,) = [x for x in info.stdout.splitlines() if x.startswith("Pages:")]
    last = line.split()[1]
    # At 72 dpi a pixel is a point. Poppler draws annotation appearances, as readers do.
    subprocess.run(
        ["pdftoppm", "-png", "-r", "72", "-f", last, "-l", last, "-singlefile"]
        + [str(path), str(tmp_path / "last")],
        check=True,
        capture_output=True,
    )
    image = Image.open(tmp_path / "last.png").convert("RGB")
    left, bottom, right, top = signature_box()
    height = image.height
    box = image.crop((left, height - top, right, height - bottom))
    pixels = box.tobytes()
    return sum(
        1
        for i in range(0, len(pixels), 3)
        if pixels[i] > 150 and pixels[i + 1] < 110 and pixels[i + 2] < 110
    )


def test_the_last_page_carries_the_visible_signature_with_the_seal(
    issued: Report, tmp_path: Path
) -> None:
    from reports.certified.pdf import signature_box

    data = file_bytes(issued)
    rect, appearance = signature_widget(data)
    assert [round(x) for x in rect] == list(signature_box())
    assert images_in(appearance) == 1  # the seal
    # The issuing body and the date, under the signature's transparent appearance.
    last = page_text(data, tmp_path, -1)
    assert issued.content["issuer"] + zh("Issued on") + zh_date(issued.content["issued_on"]) in last
    assert red_pixels_in_the_signature_box(data, tmp_path) > 1200


def test_without_a_seal_image_the_signature_shows_the_issuer_alone(
    approved: Assessment, admin: User, settings: Settings, tmp_path: Path
) -> None:
    settings.REPORT_SEAL_IMAGE = ""
    report = issue_and_render(approved, admin)
    assert report.state == Report.State.READY, report.error
    _rect, appearance = signature_widget(file_bytes(report))
    assert images_in(appearance) == 0
    # Only the box's thin red border.
    assert red_pixels_in_the_signature_box(file_bytes(report), tmp_path) < 700


def test_a_seal_image_that_is_not_there_fails_the_rendering_and_says_why(
    approved: Assessment, admin: User, settings: Settings, tmp_path: Path
) -> None:
    settings.REPORT_SEAL_IMAGE = str(tmp_path / "missing-seal.png")
    report = issue_and_render(approved, admin)
    assert report.state == Report.State.FAILED
    assert "REPORT_SEAL_IMAGE" in report.error


def test_the_signature_box_is_where_the_layout_leaves_it_empty(issued: Report) -> None:
    from weasyprint import HTML

    from reports.certified.pdf import (
        STYLESHEET,
        _fonts_and_stylesheet,
        report_html,
        signature_box,
    )

    fonts, stylesheet = _fonts_and_stylesheet()
    document = HTML(string=report_html(issued.content), base_url=str(STYLESHEET.parent)).render(
        stylesheets=[stylesheet], font_config=fonts
    )
    last = document.pages[-1]
    left, top, right, bottom = (x * 0.75 for x in last.anchors["signature-box"])  # px → pt
    page_height = last.height * 0.75
    found = (left, page_height - bottom, right, page_height - top)
    assert [round(x) for x in found] == list(signature_box())
    assert all("signature-box" not in page.anchors for page in document.pages[:-1])


def test_an_interpolation_that_changed_nothing_is_not_mentioned(issued: Report) -> None:
    from reports.certified.pdf import report_html

    content = cast(ReportContent, {**issued.content, "language": "en"})
    row = content["breakdown"]["dimensions"][0]["indicators"][1]
    row.update(
        rating="2.00",
        value="99.90",
        interpolation={
            "applied": True,
            "reason": "applied",
            "from_anchor": "99.9",
            "to_anchor": "99.95",
            "fraction": "0.00",
        },
    )
    row["scored_rating"] = "2.00"  # the value sits on the lower anchor: nothing moved
    assert "Measured value 99.9," not in report_html(content)
    row["scored_rating"] = "2.50"
    assert "Measured value 99.9, between the anchors 99.9 and 99.95: scored as 2.50." in (
        " ".join(report_html(content).split())
    )


def test_a_total_that_rounds_up_to_a_level_line_is_printed_exactly(issued: Report) -> None:
    """Worked example B of docs/scoring.md: the exact total 74.997 prints as 75.00, so the
    report says, in words and to three places, that the level is judged on 74.997."""
    from decimal import Decimal
    from fractions import Fraction

    from indicators.models import Indicator
    from reports.certified.pdf import report_html
    from reports.scoring.engine import IndicatorInput, breakdown_json, score
    from reports.scoring.selectors import framework_spec
    from tests.reports.scoring.test_exact import EXAMPLE_B

    framework = issued.assessment.campaign.framework
    by_code = {i.code: i for i in Indicator.objects.filter(framework=framework)}
    inputs = {
        by_code[code].pk: IndicatorInput(
            rating=Fraction(rating), value=Decimal("80.695") if code == "2.1" else None
        )
        for code, rating in EXAMPLE_B.items()
    }
    breakdown = breakdown_json(score(framework_spec(framework=framework), inputs))
    content = cast(ReportContent, {**issued.content, "language": "zh-hans", "breakdown": breakdown})

    with translation.override("zh-hans"):
        text = " ".join(report_html(content).split())

    assert breakdown["total"] == "75.00"
    assert cast(dict[str, Any], breakdown["level"])["code"] == "basic"
    assert text.count("报告所列总分 75.00 为四舍五入至两位小数的值；精确总分为 74.997") == 2
    assert "总分不低于 75（实得 74.997，未达到 75）" in text

    # A total that tells the truth gets no such sentence.
    content["breakdown"] = issued.content["breakdown"]
    assert 'class="precise"' not in report_html(content)
