"""Public verification (no login, rate-limited) and the report pages of the portal's users:
an owner, a vendor and an admin of the cloud; assessors, auditors and other vendors are
outsiders to reports."""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pytest_django import Settings
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from assessments.models import Assessment
from reports.certified import selectors
from reports.certified import services as certify
from reports.certified.pdf import render_report_pdf
from reports.certified.ratelimit import RateLimit, rate_limited
from reports.certified.rendering import report_pdf_bytes
from reports.certified.selectors import code_normalise
from reports.certified.signing import certificate_subject, dev_certificate_create
from reports.models import Report
from tests.conftest import client_for
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.pdf_variants import append_annotation, flip_signed_byte


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def public() -> Client:
    return english(Client())


def pdf_of(report: Report) -> bytes:
    with report.file.open("rb") as handle:
        return handle.read()


def verify_url(report: Report) -> str:
    return reverse("certified:verify", args=[report.verification_code])


# ----------------------------------------------------------------------------------------------
# Public verification


def test_anyone_sees_that_a_report_is_valid_with_its_cloud_level_and_sha256(
    issued: Report,
) -> None:
    response = public().get(verify_url(issued))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Valid" in page
    assert "济南政务云计算中心" in page
    assert issued.score_result.breakdown["level"]["name_en"] in page  # English page
    assert issued.sha256 in page and issued.number in page
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def upload(report: Report, name: str, data: bytes) -> str:
    """The page after a visitor uploads ``data`` as ``name`` on the report's page."""
    file = SimpleUploadedFile(name, data, "application/pdf")
    response = public().post(verify_url(report), {"file": file})
    assert response.status_code == 200
    return response.content.decode()


def test_the_issued_pdf_is_genuine_and_byte_identical(issued: Report) -> None:
    page = upload(issued, f"{issued.number}.pdf", pdf_of(issued))

    assert 'data-verdict="identical"' in page
    assert "Genuine" in page and "is byte for byte the report issued under this number" in page
    assert "Modified" not in page
    assert escape(certificate_subject()) in page  # the signer
    assert "Signing time (as the signer states it)" in page and "No trusted timestamp" in page


def test_changing_one_byte_makes_verification_fail(issued: Report) -> None:
    page = upload(issued, "changed.pdf", flip_signed_byte(pdf_of(issued)))

    assert 'data-verdict="modified"' in page and "Modified after signing" in page
    assert "bytes covered by the signature were changed afterwards" in page
    assert "is byte for byte" not in page
    assert "SHA-256 of the uploaded file" in page


def test_a_note_added_after_signing_is_named_a_modification(issued: Report) -> None:
    page = upload(issued, "annotated.pdf", append_annotation(pdf_of(issued)))

    assert 'data-verdict="modified"' in page
    assert "content was added to it after signing" in page


def test_a_genuine_file_that_is_not_this_reports_issued_file_is_not_called_identical(
    issued: Report,
) -> None:
    again = report_pdf_bytes(issued.content)  # the same report, signed a second time

    page = upload(issued, "again.pdf", again)

    assert 'data-verdict="genuine_other_file"' in page
    assert "Genuine signature, but not the file issued under this number" in page
    assert "is byte for byte the report" not in page


def test_a_file_signed_with_another_certificate_names_its_signer(
    issued: Report, settings: Settings, tmp_path: Path
) -> None:
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    dev_certificate_create(key_path=key, cert_path=cert, common_name="Forger & Co")
    portal = (settings.REPORT_SIGNING_KEY, settings.REPORT_SIGNING_CERT)
    settings.REPORT_SIGNING_KEY, settings.REPORT_SIGNING_CERT = str(key), str(cert)
    forged = report_pdf_bytes(issued.content)
    settings.REPORT_SIGNING_KEY, settings.REPORT_SIGNING_CERT = portal

    page = upload(issued, "forged.pdf", forged)

    assert 'data-verdict="other_certificate"' in page
    assert "Signed by another certificate" in page
    assert "CN=Forger &amp; Co" in page  # escaped


def test_an_unsigned_pdf_and_a_file_that_is_no_pdf_say_so(issued: Report) -> None:
    unsigned = upload(issued, "draft.pdf", render_report_pdf(issued.content))
    assert 'data-verdict="not_signed"' in unsigned and "Not signed" in unsigned

    for name, data in (("photo.pdf", os.urandom(4096)), ("cut.pdf", pdf_of(issued)[:5000])):
        page = upload(issued, name, data)
        assert 'data-verdict="not_pdf"' in page and "Not a PDF file" in page, name


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    issued: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "UPLOAD_MAX_BYTES", 1000)
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b" " * 2000)

    response = public().post(verify_url(issued), {"file": big})

    assert response.status_code == 413
    page = response.content.decode()
    assert "far larger than any issued report" in page and "data-verdict" not in page


def test_a_post_declaring_a_body_over_the_limit_is_answered_before_its_body_is_read(
    issued: Report, live_server: LiveServer, tmp_path: Path, settings: Settings
) -> None:
    """1 GiB declared, 64 KiB sent: the answer (413, the page saying why) comes back while
    the client has sent next to nothing, and nothing was spooled."""
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    host, port = live_server.url.removeprefix("http://").split(":")
    boundary = "gce-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="huge.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\n'
    ).encode()
    request = (
        f"POST {verify_url(issued)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {1024**3}\r\nCookie: django_language=en\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request + head + bytes(64 * 1024))
        answer = b""
        while b"</html>" not in answer:
            piece = connection.recv(65536)
            if not piece:
                break
            answer += piece
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, status_line
    assert b"larger than this page accepts" in answer
    assert list(spool.iterdir()) == []


def set_valid_until(report: Report, value: str) -> None:
    Report.objects.filter(pk=report.pk).update(content={**report.content, "valid_until": value})


def test_the_page_shows_until_when_a_report_is_valid(issued: Report) -> None:
    set_valid_until(issued, "2999-12-31")

    page = public().get(verify_url(issued)).content.decode()

    assert "Valid until" in page and "2999-12-31" in page
    assert 'data-status="expired"' not in page
    assert "This report was issued by the evaluation office and is in force." in page


def test_a_report_past_its_validity_is_shown_expired_but_not_changed(issued: Report) -> None:
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    set_valid_until(issued, yesterday.isoformat())

    page = public().get(verify_url(issued)).content.decode()

    assert 'data-status="expired"' in page
    assert f"This report was valid until {yesterday.isoformat()} and has expired." in page
    issued.refresh_from_db()
    assert issued.status == Report.Status.ISSUED


def test_a_report_is_valid_on_its_last_day(issued: Report) -> None:
    set_valid_until(issued, timezone.localdate().isoformat())

    page = public().get(verify_url(issued)).content.decode()

    assert 'data-status="expired"' not in page


def test_a_revoked_report_says_so(issued: Report, admin: User) -> None:
    certify.report_revoke(report=issued, reason="评分依据有误", acting_user=admin)
    page = public().get(verify_url(issued)).content.decode()
    assert "Revoked" in page and "评分依据有误" in page


def test_a_superseded_report_names_its_successor(issued: Report, admin: User) -> None:
    new = certify.report_reissue(report=issued, reason="更正", acting_user=admin)
    page = public().get(verify_url(issued)).content.decode()
    assert "Superseded" in page and new.number in page
    assert new.verification_code not in page


def test_an_unknown_or_malformed_code_is_not_found(db: None) -> None:
    client = public()
    assert client.get("/verify/AAAAAAAAAAAAAAAAAAAAAAAA/").status_code == 404
    assert client.get("/verify/not-a-code/").status_code == 404


def test_a_code_typed_with_dashes_and_lowercase_leads_to_the_report(issued: Report) -> None:
    typed = issued.verification_code_display.lower()
    response = public().get(reverse("certified:verify_lookup"), {"code": typed})
    assert response.status_code == 302 and response["Location"] == verify_url(issued)


def test_lookalike_digits_are_read_as_letters() -> None:
    assert code_normalise("abcd-0i1b-8xyz") == "ABCDOIIBBXYZ"


def test_the_verification_page_is_rate_limited_per_address(
    issued: Report, settings: Settings
) -> None:
    settings.VERIFY_RATE_LIMIT = 3
    client = public()
    statuses = [client.get(verify_url(issued)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.get(verify_url(issued)).status_code == 200
    limited = client.get("/verify/AAAAAAAAAAAAAAAAAAAAAAAA/")
    assert limited.status_code == 429 and limited["Retry-After"] == "60"


def test_the_limiter_counts_in_fixed_windows(db: None) -> None:
    rule = RateLimit(limit=2, window=60)
    hits = [rate_limited(scope="t", ident="1.2.3.4", rule=rule, now=120.0 + i) for i in range(3)]
    assert hits == [False, False, True]
    assert rate_limited(scope="t", ident="1.2.3.4", rule=rule, now=180.0) is False


# ----------------------------------------------------------------------------------------------
# Downloads and the reports page


def test_the_vendor_the_owner_and_admins_download_the_pdf(
    issued: Report, vendor: User, owner: User, admin: User
) -> None:
    for user in (vendor, owner, admin):
        response = client_for(user).get(reverse("certified:download", args=[issued.pk]))
        assert response.status_code == 200, user
        assert response["Content-Type"] == "application/pdf"
        assert f"{issued.number}.pdf" in response["Content-Disposition"]
        assert response.streaming and response.getvalue() == pdf_of(issued)


def test_outsiders_get_404_for_downloads_and_the_reports_page(
    issued: Report, assessor: User, auditor: User, outsider_vendor: User
) -> None:
    for user in (assessor, auditor, outsider_vendor):
        client = client_for(user)
        assert client.get(reverse("certified:download", args=[issued.pk])).status_code == 404
        page = reverse("certified:assessment_reports", args=[issued.assessment_id])
        assert client.get(page).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(issued: Report) -> None:
    response = Client().get(reverse("certified:download", args=[issued.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_vendor_sees_the_download_but_no_admin_actions(issued: Report, vendor: User) -> None:
    page = english(client_for(vendor)).get(
        reverse("certified:assessment_reports", args=[issued.assessment_id])
    )
    html = page.content.decode()
    assert reverse("certified:download", args=[issued.pk]) in html
    assert reverse("certified:revoke", args=[issued.pk]) not in html
    assert "Issue report" not in html


def test_an_admin_issues_only_after_confirming(approved: Assessment, admin: User) -> None:
    client = english(client_for(admin))
    url = reverse("certified:issue", args=[approved.pk])
    page = client.get(reverse("certified:assessment_reports", args=[approved.pk])).content
    assert b"can never be changed or deleted" in page
    client.post(url, {"language": "zh-hans"})
    assert not Report.objects.exists()
    response = client.post(url, {"language": "zh-hans", "confirm": "yes"}, follow=True)
    report = Report.objects.get()
    assert report.number in response.content.decode()


def test_the_issue_form_shows_the_address_the_reports_qr_code_will_carry(
    approved: Assessment, admin: User, vendor: User, settings: Settings
) -> None:
    settings.PUBLIC_BASE_URL = "https://eval.example.gov.cn/portal"
    page_url = reverse("certified:assessment_reports", args=[approved.pk])

    page = client_for(admin).get(page_url).content.decode()  # in Chinese, the default

    assert "报告的二维码和核验链接将使用以下地址" in page
    assert "<code>https://eval.example.gov.cn/portal/verify/…</code>" in page
    assert "PUBLIC_BASE_URL" in page
    english_page = english(client_for(admin)).get(page_url).content.decode()
    assert "QR code and verification link will carry this address" in english_page
    assert "eval.example.gov.cn" not in client_for(vendor).get(page_url).content.decode()

    # What was shown is what the report carries.
    report = certify.report_issue(assessment=approved, acting_user=admin)
    assert report.content["verify_url"].startswith("https://eval.example.gov.cn/portal/verify/")
    assert report.content["verify_url"].endswith(f"/{report.verification_code}/")


def test_the_reissue_form_shows_the_address_too(issued: Report, admin: User) -> None:
    page = client_for(admin).get(
        reverse("certified:assessment_reports", args=[issued.assessment_id])
    )

    html = page.content.decode()
    # Once in the re-issue form, once in the issue form (of the other language).
    assert html.count("报告的二维码和核验链接将使用以下地址") == 2
    assert issued.content["verify_url"].rsplit("/", 2)[0] + "/…</code>" in html


def test_only_admins_may_issue_revoke_or_reissue(issued: Report, vendor: User, owner: User) -> None:
    for user in (vendor, owner):
        client = client_for(user)
        assert (
            client.post(
                reverse("certified:issue", args=[issued.assessment_id]), {"confirm": "yes"}
            ).status_code
            == 404
        )
        assert (
            client.post(
                reverse("certified:revoke", args=[issued.pk]), {"reason": "x", "confirm": "yes"}
            ).status_code
            == 404
        )
        assert (
            client.post(reverse("certified:reissue", args=[issued.pk]), {"reason": "x"}).status_code
            == 404
        )
    issued.refresh_from_db()
    assert issued.status == Report.Status.ISSUED


def test_an_admin_revokes_with_a_reason_and_a_confirmation(issued: Report, admin: User) -> None:
    client = client_for(admin)
    url = reverse("certified:revoke", args=[issued.pk])
    client.post(url, {"reason": "评分依据有误"})
    issued.refresh_from_db()
    assert issued.status == Report.Status.ISSUED
    client.post(url, {"reason": "评分依据有误", "confirm": "yes"})
    issued.refresh_from_db()
    assert issued.status == Report.Status.REVOKED


def test_an_admin_reissues_from_the_page(issued: Report, admin: User) -> None:
    client_for(admin).post(reverse("certified:reissue", args=[issued.pk]), {"reason": "更正"})
    issued.refresh_from_db()
    assert issued.status == Report.Status.SUPERSEDED
    assert Report.objects.filter(supersedes=issued, status=Report.Status.ISSUED).exists()


def test_the_partial_renders_nothing_for_an_assessor(issued: Report, assessor: User) -> None:
    from django.template.loader import render_to_string

    html = render_to_string(
        "certified/partials/_report_downloads.html",
        {"assessment": issued.assessment, "user": assessor},
    )
    assert html.strip() == ""
