"""Public verification (no login, rate-limited) and the report pages of the portal's users:
an owner, a vendor and an admin of the cloud; assessors, auditors and other vendors are
outsiders to reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import Settings

from accounts.models import User
from assessments.models import Assessment
from reports.certified import services as certify
from reports.certified.ratelimit import RateLimit, rate_limited
from reports.certified.selectors import code_normalise
from reports.models import Report
from tests.conftest import client_for
from tests.reports.certified.fixtures import *  # noqa: F403


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


def test_the_issued_pdf_is_byte_identical(issued: Report) -> None:
    upload = SimpleUploadedFile(f"{issued.number}.pdf", pdf_of(issued), "application/pdf")
    page = public().post(verify_url(issued), {"file": upload}).content.decode()
    assert "Identical" in page and "Different" not in page


def test_changing_one_byte_makes_verification_fail(issued: Report) -> None:
    data = bytearray(pdf_of(issued))
    data[len(data) // 2] ^= 0x20
    upload = SimpleUploadedFile("changed.pdf", bytes(data), "application/pdf")
    page = public().post(verify_url(issued), {"file": upload}).content.decode()
    assert "Different" in page and "Identical" not in page


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
