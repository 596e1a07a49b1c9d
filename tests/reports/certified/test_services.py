"""Issuing, numbering, re-issuing, revoking and rendering certified reports."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from pytest_django import Settings

from accounts.models import Organisation, User
from assessments.models import Assessment, Campaign, Cloud
from audit.models import AuditEvent
from govcloud_eval import worker_checks
from indicators.models import Framework
from reports.certified import rendering
from reports.certified import services as certify
from reports.certified.tasks import report_render_task
from reports.models import Report, ReportImmutableError
from tests.reports.certified.fixtures import *  # noqa: F403
from tests.reports.certified.fixtures import approve, issue_and_render
from tests.reports.conftest import score_completely


def test_an_issued_report_is_numbered_by_year_and_ready_with_its_sha256(issued: Report) -> None:
    assert issued.number == f"GCE-{issued.year}-0001"
    assert issued.state == Report.State.READY
    assert issued.status == Report.Status.ISSUED
    with issued.file.open("rb") as handle:
        data = handle.read()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == issued.sha256
    assert issued.size == len(data)
    assert len(issued.verification_code) == 24  # 120 random bits in base32


def test_issuing_is_audited(issued: Report) -> None:
    actions = set(
        AuditEvent.objects.filter(target_id=str(issued.pk)).values_list("action", flat=True)
    )
    assert {"reports.report.issued", "reports.report.rendered"} <= actions


def test_it_refuses_an_assessment_that_is_not_approved(scored: Assessment, admin: User) -> None:
    with pytest.raises(ValidationError):
        certify.report_issue(assessment=scored, acting_user=admin)


def test_only_admins_issue(approved: Assessment, vendor: User, assessor: User) -> None:
    for user in (vendor, assessor):
        with pytest.raises(PermissionDenied):
            certify.report_issue(assessment=approved, acting_user=user)


def test_a_second_report_in_force_in_the_same_language_is_refused(
    issued: Report, admin: User
) -> None:
    with pytest.raises(ValidationError, match="有效报告"):
        certify.report_issue(assessment=issued.assessment, acting_user=admin)
    assert Report.objects.count() == 1


def test_reissuing_takes_a_new_number_and_supersedes_the_old_report(
    issued: Report, admin: User
) -> None:
    new = certify.report_reissue(report=issued, reason="更正了佐证材料清单", acting_user=admin)
    rendering.report_render(report_id=new.pk)
    issued.refresh_from_db()
    new.refresh_from_db()
    assert issued.status == Report.Status.SUPERSEDED and issued.superseded_at
    assert new.number == f"GCE-{new.year}-0002"
    assert new.supersedes == issued and new.status == Report.Status.ISSUED
    assert new.content["supersedes"] == issued.number
    assert new.sha256 != issued.sha256
    with pytest.raises(ValidationError):
        certify.report_reissue(report=issued, reason="again", acting_user=admin)


def test_reissuing_needs_a_reason(issued: Report, admin: User) -> None:
    with pytest.raises(ValidationError):
        certify.report_reissue(report=issued, reason="  ", acting_user=admin)


def test_revoking_needs_a_reason_and_happens_once(issued: Report, admin: User) -> None:
    with pytest.raises(ValidationError):
        certify.report_revoke(report=issued, reason="", acting_user=admin)
    revoked = certify.report_revoke(report=issued, reason="发现评分依据有误", acting_user=admin)
    assert revoked.status == Report.Status.REVOKED
    assert revoked.revoked_by == admin and revoked.revocation_reason == "发现评分依据有误"
    with pytest.raises(ValidationError):
        certify.report_revoke(report=issued, reason="again", acting_user=admin)


def test_an_issued_report_is_never_deleted(issued: Report) -> None:
    with pytest.raises(ReportImmutableError):
        issued.delete()
    with pytest.raises(ReportImmutableError):
        Report.objects.all().delete()
    assert Report.objects.count() == 1


def test_a_ready_report_is_never_rendered_again(issued: Report) -> None:
    sha, name = issued.sha256, issued.file.name
    assert rendering.report_render(report_id=issued.pk).status == "skipped"
    assert report_render_task.apply(args=(issued.pk,)).get() == "skipped"
    issued.refresh_from_db()
    assert (issued.sha256, issued.file.name, issued.attempts) == (sha, name, 1)


def test_the_task_skips_a_missing_report(db: None) -> None:
    assert report_render_task.apply(args=(987654,)).get() == "missing"


def test_the_content_is_frozen_at_issue(issued: Report, admin: User) -> None:
    cloud = issued.assessment.cloud
    Cloud.objects.filter(pk=cloud.pk).update(name="改名后的政务云")
    Report.objects.filter(pk=issued.pk).update(state=Report.State.FAILED)
    assert rendering.report_render(report_id=issued.pk).status == "ready"
    issued.refresh_from_db()
    assert issued.content["cloud"]["name"] == "济南政务云计算中心"


def test_a_failed_rendering_keeps_the_error_and_can_be_retried(
    approved: Assessment, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(content: object) -> bytes:
        raise RuntimeError("the printer is on fire")

    monkeypatch.setattr(rendering, "render_report_pdf", broken)
    report = issue_and_render(approved, admin)
    assert report.state == Report.State.FAILED
    assert "the printer is on fire" in report.error
    monkeypatch.undo()
    certify.report_render_retry(report=report, acting_user=admin)
    rendering.report_render(report_id=report.pk)
    report.refresh_from_db()
    assert report.state == Report.State.READY and report.error == "" and report.attempts == 2


def test_a_missing_signing_key_fails_the_rendering_with_a_clear_error(
    approved: Assessment,
    admin: User,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.REPORT_SIGNING_KEY = str(tmp_path / "nowhere.pem")
    report = issue_and_render(approved, admin)
    assert report.state == Report.State.FAILED
    assert "REPORT_SIGNING_KEY" in report.error and "make_dev_certificate" in report.error


def test_the_dev_certificate_command_is_idempotent(settings: Settings, tmp_path: Path) -> None:
    settings.REPORT_SIGNING_KEY = str(tmp_path / "k.pem")
    settings.REPORT_SIGNING_CERT = str(tmp_path / "c.pem")
    settings.DEBUG = True
    call_command("make_dev_certificate", verbosity=0)
    first = (tmp_path / "c.pem").read_bytes()
    call_command("make_dev_certificate", verbosity=0)
    assert (tmp_path / "c.pem").read_bytes() == first
    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0


def test_the_dev_certificate_command_refuses_production(settings: Settings, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    settings.REPORT_SIGNING_KEY = str(tmp_path / "k.pem")
    settings.REPORT_SIGNING_CERT = str(tmp_path / "c.pem")
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("make_dev_certificate", verbosity=0)
    assert not (tmp_path / "k.pem").exists()


def test_the_worker_refuses_to_start_without_harfbuzz_subsetting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_checks, "harfbuzz_subsetting_available", lambda: False)
    with pytest.raises(SystemExit, match="HarfBuzz") as refused:
        worker_checks.require_harfbuzz_subsetting(sender=None)
    assert "libharfbuzz-subset0" in str(refused.value)


def test_the_worker_starts_with_harfbuzz_subsetting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_checks, "harfbuzz_subsetting_available", lambda: True)
    worker_checks.require_harfbuzz_subsetting(sender=None)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_issues_get_distinct_numbers(
    comprehensive: Framework,
    campaign: Campaign,
    admin: User,
    vendor: User,
    assessor: User,
    assessor2: User,
    government_org: Organisation,
    vendor_org: Organisation,
    signing_key: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks under concurrency need PostgreSQL")
    from assessments import services as workflow

    monkeypatch.setattr(certify, "report_render_enqueue", lambda report_id: None)
    targets = []
    for name in ("甲市政务云", "乙市政务云"):
        cloud = workflow.cloud_create(
            name=name,
            owner=government_org,
            vendors=[vendor_org],
            level="municipal",
            acting_user=None,
        )
        (target,) = workflow.campaign_add_clouds(
            campaign=campaign, clouds=[cloud], acting_user=admin
        )
        assigned = [
            workflow.assignment_create(assessment=target, assessor=a, acting_user=admin)
            for a in (assessor, assessor2)
        ]
        targets.append(approve(score_completely(target, vendor, assigned), admin))

    barrier = threading.Barrier(len(targets))
    numbers: list[str] = []
    errors: list[BaseException] = []

    def issue(target: Assessment) -> None:
        try:
            barrier.wait()
            numbers.append(certify.report_issue(assessment=target, acting_user=admin).number)
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    first = Report.objects.first()
    assert first is not None
    assert sorted(numbers) == [f"GCE-{first.year}-{n:04d}" for n in (1, 2)]
