"""Long-term signatures: PAdES B-LTA with a timestamp authority, B-LT validation data without.

The signing certificate comes from a test PKI (root → intermediate → the office) that certomancer
serves over real HTTP on 127.0.0.1 with a timestamp authority, CRLs and an OCSP responder
(``pki.py``). Each level is proved with pyHanko's validator, offline (nothing fetched) and with
only the test root trusted: what it accepts is what the file itself carries.
"""

from __future__ import annotations

import asyncio
import datetime
import io
from pathlib import Path
from typing import Any

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate, AdESPassed
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature
from pyhanko.sign.validation.ades import (
    AdESLTAValidationResult,
    ades_lta_validation,
    simulate_future_ades_lta_validation,
)
from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager
from pytest_django import Settings

from accounts.models import User
from assessments.models import Assessment
from reports.certified.signing import signature_level, signing_config
from reports.models import Report
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.fixtures import issue_and_render
from tests.reports.certified.pki import LivePKI, test_pki  # noqa: F401  (fixture)

TSA_PATH = "/gce/tsa/tsa"


@pytest.fixture
def office_certificate(settings: Settings, signing_key: Path, test_pki: LivePKI) -> LivePKI:  # noqa: F811
    """Reports are signed with the office's certificate of the test PKI, with its chain; no
    timestamp authority yet."""
    settings.REPORT_SIGNING_KEY = str(test_pki.signer_key)
    settings.REPORT_SIGNING_CERT = str(test_pki.signer_cert)
    settings.REPORT_SIGNING_CHAIN = str(test_pki.chain)
    settings.REPORT_TSA_URL = ""
    return test_pki


@pytest.fixture
def with_tsa(settings: Settings, office_certificate: LivePKI) -> LivePKI:
    settings.REPORT_TSA_URL = office_certificate.tsa_url
    return office_certificate


def signed_file(report: Report) -> bytes:
    assert report.state == Report.State.READY, report.error
    with report.file.open("rb") as handle:
        return handle.read()


def offline_spec(root: Path) -> PdfSignatureValidationSpec:
    """Only ``root`` trusted, every certificate checked for revocation, nothing fetched: the
    validation data must all be in the file."""
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[load_cert_from_pemder(root)]),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY,
                certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
            ),
        )
    )


def the_signature(data: bytes) -> Any:
    (signature,) = PdfFileReader(io.BytesIO(data)).embedded_regular_signatures
    return signature


def lta_validation(data: bytes, root: Path) -> AdESLTAValidationResult:
    return asyncio.run(ades_lta_validation(the_signature(data), offline_spec(root)))


def dss_contents(data: bytes) -> tuple[set[str], int, int]:
    """The common names of the certificates in the document security store, and how many
    CRLs and OCSP responses it holds."""
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(data)))
    names = {cert.subject.native["common_name"] for cert in dss.load_certs()}
    return names, len(dss.crls), len(dss.ocsps)


CHAIN = {"Test Root CA", "Test Intermediate CA", "测试评估办公室 Test Evaluation Office"}


def test_with_a_timestamp_authority_a_report_is_signed_at_b_lta(
    approved: Assessment, admin: User, with_tsa: LivePKI
) -> None:
    assert signature_level() == "B-LTA"
    asked = len([p for p in with_tsa.requests if p == TSA_PATH])

    data = signed_file(issue_and_render(approved, admin))

    result = lta_validation(data, with_tsa.root)
    assert result.ades_subindic == AdESPassed.OK, result.failure_msg
    status = result.api_status
    assert status is not None and status.intact and status.valid and status.trusted
    assert status.docmdp_ok and status.modification_level is not None
    assert status.modification_level.name == "LTA_UPDATES"
    # B-T: an RFC 3161 signature timestamp from the authority, valid.
    assert result.signature_timestamp_status is not None
    assert result.signature_timestamp_status.ades_subindic == AdESPassed.OK
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    # B-LT: the chains of the signer and of the authority, and their revocation data (the
    # root's CRL for the intermediate and the authority, an OCSP response for the office);
    # validated above with revocation data required for every certificate, nothing fetched.
    names, crls, ocsps = dss_contents(data)
    assert names >= CHAIN | {"Test Timestamp Authority"}
    assert crls >= 1 and ocsps >= 1
    # B-LTA: a document timestamp over all of it, whose chain validates as the evidence record.
    (document_timestamp,) = PdfFileReader(io.BytesIO(data)).embedded_timestamp_signatures
    assert document_timestamp.signer_cert.dump() == load_cert_from_pemder(with_tsa.tsa_cert).dump()
    assert result.oldest_evidence_record_timestamp is not None
    assert result.best_signature_time <= result.oldest_evidence_record_timestamp
    # The authority really was asked, over HTTP: for the signature and the document timestamp.
    assert len([p for p in with_tsa.requests if p == TSA_PATH]) - asked >= 2


def test_a_b_lta_report_still_validates_after_the_signing_certificate_has_expired(
    approved: Assessment, admin: User, with_tsa: LivePKI
) -> None:
    """What long-term signatures are for: a month after the office's certificate expired,
    the timestamps prove the signature was made while it was valid, and the embedded
    revocation data that it was not revoked then."""
    data = signed_file(issue_and_render(approved, admin))
    later = with_tsa.signer_not_after + datetime.timedelta(days=30)

    result = asyncio.run(
        simulate_future_ades_lta_validation(
            the_signature(data), offline_spec(with_tsa.root), future_validation_time=later
        )
    )

    assert result.ades_subindic == AdESPassed.OK, result.failure_msg


def test_without_a_timestamp_authority_a_report_carries_its_validation_data_b_lt(
    approved: Assessment, admin: User, office_certificate: LivePKI
) -> None:
    """B-LT validation data on a signature without a trusted time: the chain and the
    revocation data are embedded and the signature validates from the file alone; there is no
    timestamp, so ETSI validation with time cannot conclude (strictly, B-LT builds on B-T)."""
    assert signature_level() == "B-LT"

    data = signed_file(issue_and_render(approved, admin))

    names, crls, ocsps = dss_contents(data)
    assert names >= CHAIN
    assert crls >= 1 and ocsps >= 1
    reader = PdfFileReader(io.BytesIO(data))
    offline = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {
            "trust_roots": [load_cert_from_pemder(office_certificate.root)],
            "allow_fetching": False,
            "revocation_mode": "hard-fail",
        }
    )
    status = validate_pdf_signature(the_signature(data), offline)
    assert status.intact and status.valid and status.trusted and status.docmdp_ok
    assert status.timestamp_validity is None
    assert reader.embedded_timestamp_signatures == []

    # No trusted time: the ETSI validation says INDETERMINATE ("no signature timestamp").
    result = lta_validation(data, office_certificate.root)
    assert result.ades_subindic == AdESIndeterminate.SIG_CONSTRAINTS_FAILURE
    assert result.signature_timestamp_status is None
    assert result.api_status is not None and result.api_status.trusted
    # Nor does it outlive the certificate, unlike B-LTA: nothing proves when it was made.
    later = office_certificate.signer_not_after + datetime.timedelta(days=30)
    future = asyncio.run(
        simulate_future_ades_lta_validation(
            the_signature(data), offline_spec(office_certificate.root), later
        )
    )
    assert future.ades_subindic != AdESPassed.OK


def test_a_certificate_issued_by_a_ca_needs_its_chain_to_be_configured(
    approved: Assessment, admin: User, settings: Settings, office_certificate: LivePKI
) -> None:
    settings.REPORT_SIGNING_CHAIN = ""

    report = issue_and_render(approved, admin)

    assert report.state == Report.State.FAILED
    assert "REPORT_SIGNING_CHAIN must hold the root CA certificate" in report.error


def test_an_unreachable_timestamp_authority_fails_the_rendering_which_can_be_retried(
    approved: Assessment, admin: User, settings: Settings, with_tsa: LivePKI
) -> None:
    settings.REPORT_TSA_URL = "http://127.0.0.1:9/tsa"  # the discard port: nothing listens

    report = issue_and_render(approved, admin)

    assert report.state == Report.State.FAILED and report.error
    assert not report.file

    settings.REPORT_TSA_URL = with_tsa.tsa_url
    from reports.certified import rendering

    assert rendering.report_render(report_id=report.pk).status == "ready"
    report.refresh_from_db()
    assert lta_validation(signed_file(report), with_tsa.root).ades_subindic == AdESPassed.OK


def test_the_timestamp_credentials_come_from_the_settings(settings: Settings) -> None:
    settings.REPORT_TSA_URL = "https://tsa.example.gov.cn/tsp"
    settings.REPORT_TSA_USERNAME = "office"
    settings.REPORT_TSA_PASSWORD = "secret"
    config = signing_config()
    assert (config.tsa_url, config.tsa_username, config.tsa_password) == (
        "https://tsa.example.gov.cn/tsp",
        "office",
        "secret",
    )
    assert signature_level(config) == "B-LTA"
