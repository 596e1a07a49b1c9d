"""The signature check of uploaded PDFs (``reports.certified.validation``), on real files: the
issued report, and what a forger, a careless copier or an archive makes of it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from pytest_django import Settings

from reports.certified.pdf import render_report_pdf
from reports.certified.rendering import report_pdf_bytes
from reports.certified.signing import certificate_subject, dev_certificate_create
from reports.certified.validation import (
    Modification,
    Outcome,
    PdfValidation,
    Trust,
    pdf_validate,
    portal_trust,
)
from reports.models import Report
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.pdf_variants import (
    append_annotation,
    append_document_timestamp,
    append_info_change,
    deeply_nested,
    flip_signed_byte,
    object_stream_bomb,
    sign_b_lta,
    tsa_certificate_create,
)
from tests.reports.certified.pki import LivePKI, test_pki  # noqa: F401  (a fixture)


def pdf_of(report: Report) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def check(data: bytes) -> PdfValidation:
    return pdf_validate(data, trust=portal_trust())


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tsa_certificate_create(tmp_path_factory.mktemp("tsa"))


# ----------------------------------------------------------------------------------------------
# Genuine


def test_the_issued_file_is_genuine_and_names_its_signer(issued: Report) -> None:
    result = check(pdf_of(issued))

    assert result.outcome == Outcome.GENUINE, result.detail
    assert result.modification is None
    assert result.signer == certificate_subject()
    assert "CN=govcloud_eval tests" in result.signer
    assert result.signed_at is not None


def test_a_b_lta_file_with_its_dss_and_document_timestamp_is_genuine(
    issued: Report, signing_files: tuple[Path, Path], tsa: tuple[Path, Path]
) -> None:
    signed = sign_b_lta(
        render_report_pdf(issued.content), key=signing_files[0], cert=signing_files[1], tsa=tsa
    )
    trust = Trust(signing_files[1].read_bytes(), timestamp_roots=(tsa[1].read_bytes(),))

    result = pdf_validate(signed, trust=trust)

    assert result.outcome == Outcome.GENUINE, result.detail
    assert result.timestamped_at is not None  # the signature timestamp, trusted
    assert result.document_timestamp and result.document_timestamped_at is not None
    assert result.signed_at is not None
    assert abs((result.timestamped_at - result.signed_at).total_seconds()) < 120


def test_timestamps_from_an_authority_it_does_not_trust_give_no_time(
    issued: Report, signing_files: tuple[Path, Path], tsa: tuple[Path, Path]
) -> None:
    signed = sign_b_lta(
        render_report_pdf(issued.content), key=signing_files[0], cert=signing_files[1], tsa=tsa
    )

    result = pdf_validate(signed, trust=Trust(signing_files[1].read_bytes()))

    assert result.outcome == Outcome.GENUINE, result.detail
    assert result.timestamped_at is None
    assert result.document_timestamp and result.document_timestamped_at is None


def test_a_document_timestamp_appended_later_keeps_the_issued_file_genuine(
    issued: Report, tsa: tuple[Path, Path]
) -> None:
    extended = append_document_timestamp(pdf_of(issued), tsa=tsa)
    trust = Trust(portal_trust().signing_cert, timestamp_roots=(tsa[1].read_bytes(),))

    result = pdf_validate(extended, trust=trust)

    assert result.outcome == Outcome.GENUINE, result.detail
    assert result.document_timestamp and result.document_timestamped_at is not None


def test_the_same_report_signed_again_is_genuine_too(issued: Report) -> None:
    again = report_pdf_bytes(issued.content)

    assert again != pdf_of(issued)
    assert check(again).outcome == Outcome.GENUINE


# ----------------------------------------------------------------------------------------------
# Modified after signing


def test_one_byte_changed_inside_the_signed_range_is_a_modification(issued: Report) -> None:
    result = check(flip_signed_byte(pdf_of(issued)))

    assert result.outcome == Outcome.MODIFIED
    assert result.modification == Modification.SIGNED_BYTES
    assert result.signer == certificate_subject()


def test_an_annotation_appended_after_signing_is_a_modification(issued: Report) -> None:
    result = check(append_annotation(pdf_of(issued)))

    assert result.outcome == Outcome.MODIFIED, result.detail
    assert result.modification == Modification.APPENDED


def test_a_changed_title_appended_after_signing_is_a_modification(issued: Report) -> None:
    # pyHanko's default policy calls this an "LTA update"; the portal's does not.
    result = check(append_info_change(pdf_of(issued)))

    assert result.outcome == Outcome.MODIFIED, result.detail
    assert result.modification == Modification.APPENDED


def test_a_change_appended_after_a_document_timestamp_is_a_modification(
    issued: Report, signing_files: tuple[Path, Path], tsa: tuple[Path, Path]
) -> None:
    signed = sign_b_lta(
        render_report_pdf(issued.content), key=signing_files[0], cert=signing_files[1], tsa=tsa
    )
    trust = Trust(signing_files[1].read_bytes(), timestamp_roots=(tsa[1].read_bytes(),))

    for tampered in (append_annotation(signed), append_info_change(signed)):
        result = pdf_validate(tampered, trust=trust)
        assert result.outcome == Outcome.MODIFIED, result.detail
        assert result.modification == Modification.APPENDED
        assert result.document_timestamp


# ----------------------------------------------------------------------------------------------
# Other certificates, no signature, no PDF


def test_the_same_content_signed_with_another_certificate_is_not_the_portals(
    issued: Report, settings: Settings, tmp_path: Path
) -> None:
    trust = portal_trust()
    key, cert = tmp_path / "other-key.pem", tmp_path / "other-cert.pem"
    dev_certificate_create(key_path=key, cert_path=cert, common_name="govcloud_eval tests")
    settings.REPORT_SIGNING_KEY, settings.REPORT_SIGNING_CERT = str(key), str(cert)
    forged = report_pdf_bytes(issued.content)

    result = pdf_validate(forged, trust=trust)

    # Same name, another key: the certificate is compared, not its subject.
    assert result.outcome == Outcome.OTHER_CERTIFICATE, result.detail
    assert result.signer == trust_subject(cert)
    assert result.signed_at is not None


def trust_subject(cert: Path) -> str:
    from cryptography import x509

    return x509.load_pem_x509_certificate(cert.read_bytes()).subject.rfc4514_string()


def test_the_rendered_pdf_before_signing_is_not_signed(issued: Report) -> None:
    result = check(render_report_pdf(issued.content))

    assert result.outcome == Outcome.NOT_SIGNED
    assert result.signer == "" and not result.document_timestamp


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(os.urandom(64 * 1024), id="random bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"%PDF-1.7\n" + os.urandom(4096), id="a PDF header then garbage"),
        pytest.param(deeply_nested(200_000), id="arrays nested past the recursion limit"),
    ],
)
def test_garbage_is_not_a_pdf(signing_key: Path, data: bytes) -> None:
    assert check(data).outcome == Outcome.NOT_PDF


def test_a_truncated_report_is_not_a_pdf(issued: Report) -> None:
    data = pdf_of(issued)

    for size in (len(data) // 2, len(data) - 200, 1000):
        assert check(data[:size]).outcome == Outcome.NOT_PDF


def test_an_object_stream_that_inflates_without_end_is_refused_unread(signing_key: Path) -> None:
    bomb = object_stream_bomb(megabytes=400)
    assert len(bomb) < 1024 * 1024

    result = check(bomb)

    assert result.outcome == Outcome.NOT_PDF
    assert "Limit" in result.detail or "limit" in result.detail


def test_it_validates_from_a_thread_whose_event_loop_is_running(issued: Report) -> None:
    data = pdf_of(issued)

    async def inside_a_loop() -> PdfValidation:
        return check(data)  # synchronous, as an async view or a browser test would call it

    assert asyncio.run(inside_a_loop()).outcome == Outcome.GENUINE


# ----------------------------------------------------------------------------------------------
# The portal's own long-term signatures (B-LTA against a live test PKI and timestamp authority)


@pytest.fixture
def b_lta_settings(
    signing_key: Path,
    settings: Settings,
    test_pki: LivePKI,  # noqa: F811
) -> LivePKI:
    settings.REPORT_SIGNING_KEY = str(test_pki.signer_key)
    settings.REPORT_SIGNING_CERT = str(test_pki.signer_cert)
    settings.REPORT_SIGNING_CHAIN = str(test_pki.chain)
    settings.REPORT_TSA_URL = test_pki.tsa_url
    return test_pki


def test_the_portals_b_lta_signature_is_genuine_with_its_timestamps(
    issued: Report, b_lta_settings: LivePKI
) -> None:
    signed = report_pdf_bytes(issued.content)

    result = check(signed)

    assert result.outcome == Outcome.GENUINE, result.detail
    assert "Test Evaluation Office" in result.signer
    assert result.timestamped_at is not None and result.signed_at is not None
    assert result.document_timestamp and result.document_timestamped_at is not None
    assert result.timestamped_at <= result.document_timestamped_at


def test_changes_appended_to_the_portals_b_lta_file_are_modifications(
    issued: Report, b_lta_settings: LivePKI
) -> None:
    signed = report_pdf_bytes(issued.content)

    for tampered in (append_annotation(signed), append_info_change(signed)):
        result = check(tampered)
        assert result.outcome == Outcome.MODIFIED, result.detail
        assert result.modification == Modification.APPENDED
    assert check(flip_signed_byte(signed)).modification == Modification.SIGNED_BYTES
