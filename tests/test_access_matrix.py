"""The access matrix: every URL pattern of the portal, requested by each of nine principals.

The test walks ``get_resolver()`` and fails when a pattern has no probe here, or a probe lacks an
expectation for one of the principals: adding a page means saying who may use it. Each request
runs in a savepoint that is rolled back, so that an admin's approval or a vendor's answer does
not change what the next principal finds. Every mismatch is reported at once.

Outcomes: a status code, ``LOGIN`` (302 to the portal's sign-in page) or ``ADMIN_LOGIN`` (302 to
the admin site's sign-in page), ``REDIRECT`` (302 anywhere else: a successful form post).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from axes.models import AccessAttempt
from django.contrib import admin as django_admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from pytest_django import Settings

from accounts.models import Organisation, User
from assessments import services as workflow
from assessments.models import Assessment, Campaign, Cloud, Evidence
from audit.models import AuditEvent
from indicators.models import Framework, Indicator, VetoRule
from notifications.models import Notification
from reports.certified import rendering
from reports.certified import services as certify
from reports.models import (
    CampaignScoringRun,
    Objection,
    Ranking,
    RankingAdjustment,
    Report,
    ScoreResult,
    VetoFinding,
)
from reports.rankings import services as rankings
from reports.scoring import services as scoring
from tests.factories import UserFactory
from tests.reports.certified.fixtures import signing_files, signing_key  # noqa: F401
from tests.reports.conftest import score_completely

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

LOGIN = "login"
ADMIN_LOGIN = "admin-login"
REDIRECT = "redirect"
Outcome = int | str

PRINCIPALS = (
    "anonymous",
    "vendor_a",
    "vendor_b",
    "owner",
    "assessor",
    "assessor_other",
    "admin",
    "auditor",
    "security",
)


def expect(default: Outcome, anonymous: Outcome = LOGIN, **given: Outcome) -> dict[str, Outcome]:
    """An expectation for every principal: ``given`` ones, the anonymous visitor, and
    ``default`` for the rest."""
    unknown = set(given) - set(PRINCIPALS)
    assert not unknown, unknown
    return {p: given.get(p, anonymous if p == "anonymous" else default) for p in PRINCIPALS}


def everyone(outcome: Outcome, **given: Outcome) -> dict[str, Outcome]:
    return expect(outcome, anonymous=given.pop("anonymous", outcome), **given)


def admin_only(ok: Outcome, **given: Outcome) -> dict[str, Outcome]:
    return expect(404, admin=ok, **given)


# ----------------------------------------------------------------------------------------------
# The world every principal is asked about


@dataclass
class World:
    users: dict[str, User]
    campaign: Campaign
    live: Assessment  # vendor A's cloud, a draft with both assessors assigned
    done: Assessment  # vendor A's cloud, approved, with a report
    indicator: Indicator
    evidence: Evidence
    finding: VetoFinding
    report: Report
    ranking: Ranking
    adjustment: RankingAdjustment
    objection: Objection
    framework: Framework
    run: CampaignScoringRun
    admin_objects: dict[str, Any] = field(default_factory=dict)


def _pdf(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf")


def build_world(
    admin: User,
    auditor: User,
    vendor: User,
    outsider_vendor: User,
    owner: User,
    security_admin: User,
) -> World:
    from indicators.services import default_catalogs_load

    default_catalogs_load(acting_user=None)
    framework = Framework.objects.get(kind=Framework.Kind.COMPREHENSIVE)
    assessor = UserFactory.create(username="matrix_assessor", role=User.Role.ASSESSOR)
    assessor2 = UserFactory.create(username="matrix_assessor2", role=User.Role.ASSESSOR)
    assessor_other = UserFactory.create(username="matrix_unassigned", role=User.Role.ASSESSOR)
    today = timezone.localdate()
    campaign = workflow.campaign_create(
        name="矩阵测试评估",
        year=today.year,
        framework=framework,
        opens_on=today - datetime.timedelta(days=10),
        closes_on=today + datetime.timedelta(days=30),
        acting_user=admin,
    )
    workflow.campaign_set_state(campaign=campaign, state=Campaign.State.OPEN, acting_user=admin)
    owner_org = owner.organisation
    vendor_org = vendor.organisation
    assert owner_org is not None and vendor_org is not None
    clouds = [
        workflow.cloud_create(
            name=name, owner=owner_org, vendors=[vendor_org], level=level, acting_user=None
        )
        for name, level in (
            ("济南政务云计算中心", Cloud.Level.MUNICIPAL),
            ("济南政务外网云", Cloud.Level.MUNICIPAL),
        )
    ]
    done, live = workflow.campaign_add_clouds(campaign=campaign, clouds=clouds, acting_user=admin)
    assigned = [
        workflow.assignment_create(assessment=target, assessor=a, acting_user=admin)
        for target in (done, live)
        for a in (assessor, assessor2)
    ]
    score_completely(done, vendor, [a for a in assigned if a.assessment_id == done.pk], rating=3)
    workflow.assessment_approve(assessment=done, acting_user=admin)
    report = certify.report_issue(assessment=done, acting_user=admin)
    rendering.report_render(report_id=report.pk)
    report.refresh_from_db()
    indicator = framework.indicators.get(code="1.2")
    from assessments.evidence.services import evidence_upload

    evidence = evidence_upload(
        assessment=live,
        indicator=indicator,
        upload=_pdf("可用性监测报告.pdf"),
        issued_on=None,
        valid_until=None,
        acting_user=vendor,
    )
    veto_rule = VetoRule.objects.filter(framework=framework).first()
    assert veto_rule is not None
    finding = scoring.veto_finding_record(
        assessment=live,
        veto_rule=veto_rule,
        note="（测试）安全事件通报。",
        acting_user=admin,
    )
    run = scoring.campaign_scoring_start(campaign=campaign, acting_user=admin)
    draft = rankings.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    rankings.ranking_settings_save(
        ranking=draft,
        quotas={"provincial": 6, "municipal": 4},
        min_level=draft.min_level,
        tie_break=draft.tie_break,
        public_form=Ranking.PublicForm.RANKED,
        notice_starts_on=today,  # a notice never starts before its list is published
        notice_ends_on=today + datetime.timedelta(days=6),
        acting_user=admin,
    )
    ranking = rankings.ranking_publish(
        ranking=draft,
        unfinished_acknowledged=[live.pk],  # still in its workflow: acknowledged, with a reason
        unfinished_reason="（测试）未完成的评估不影响本名单。",
        acting_user=admin,
    )
    # Its files are rendered by a worker after publication: here, the CSV the probe reads.
    from reports.rankings.rendering import ranking_export_render

    for export in ranking.exports.filter(format="csv"):
        ranking_export_render(export_id=export.pk)
    from reports.rankings.objections import objection_lodge

    objection = objection_lodge(
        ranking=ranking,
        assessment=done,
        reason="（测试）得分有误。",
        evidence=_pdf("异议材料.pdf"),
        acting_user=owner,
    )
    next_draft = rankings.ranking_draft_get_or_create(campaign=campaign, acting_user=admin)
    # Test set-up only: a tie decision without a tie (the service refuses those).
    adjustment = RankingAdjustment.objects.create(
        ranking=next_draft, assessment=done, move="out", reason="（测试）", decided_by=admin
    )
    users = {
        "vendor_a": vendor,
        "vendor_b": outsider_vendor,
        "owner": owner,
        "assessor": assessor,
        "assessor_other": assessor_other,
        "admin": admin,
        "auditor": auditor,
        "security": security_admin,
    }
    return World(
        users=users,
        campaign=campaign,
        live=live,
        done=done,
        indicator=indicator,
        evidence=evidence,
        finding=finding,
        report=report,
        ranking=ranking,
        adjustment=adjustment,
        objection=objection,
        framework=framework,
        run=run,
        admin_objects={
            "accounts.organisation": owner_org,
            "accounts.user": vendor,
            "accounts.failedsignin": AccessAttempt.objects.create(
                username="vendor_a",
                ip_address="203.0.113.9",
                user_agent="（测试）",
                get_data="",
                post_data="",
                http_accept="",
                path_info="/login/",
                failures_since_start=3,
            ),
            "assessments.cloud": clouds[0],
            "audit.auditevent": AuditEvent.objects.order_by("pk").first(),
            "indicators.framework": framework,
            "indicators.indicator": indicator,
            "reports.scoreresult": ScoreResult.objects.filter(assessment=done).first(),
            "reports.campaignscoringrun": run,
            "reports.vetofinding": finding,
            "notifications.notification": Notification.objects.create(
                kind=Notification.Kind.APPROVED,
                recipient=vendor,
                subject="（测试）评估结果已审定",
                body="（测试）",
                url=reverse("assessments:detail", args=[done.pk]),
            ),
        },
    )


# ----------------------------------------------------------------------------------------------
# Probes: how each pattern is requested, and what each principal gets


@dataclass(frozen=True)
class Probe:
    expect: dict[str, Outcome]
    method: str = "GET"
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    xhr: bool = False
    path: Callable[[World], str] | None = None  # for patterns without a name


def live(w: World) -> dict[str, Any]:
    return {"pk": w.live.pk}


def done(w: World) -> dict[str, Any]:
    return {"pk": w.done.pk}


def live_indicator(w: World) -> dict[str, Any]:
    return {"pk": w.live.pk, "indicator_id": w.indicator.pk}


def own_notification(w: World) -> dict[str, Any]:
    """A notification of vendor A's."""
    return {"pk": w.admin_objects["notifications.notification"].pk}


def campaign(w: World) -> dict[str, Any]:
    return {"pk": w.campaign.pk}


def cloud(w: World) -> dict[str, Any]:
    return {"pk": w.live.cloud_id}


def catalog(w: World) -> dict[str, Any]:
    return {"code": w.framework.code, "version": w.framework.version}


def ranking(w: World) -> dict[str, Any]:
    return {"year": w.ranking.year, "slug": w.ranking.slug}


def later(w: World) -> str:
    return (timezone.localdate() + datetime.timedelta(days=20)).isoformat()


def live_assignment(w: World) -> dict[str, Any]:
    first = w.live.assignments.order_by("pk").first()
    assert first is not None
    return {"pk": w.live.pk, "assignment_id": first.pk}


# Anyone who may read an assessment (admin; the cloud's vendor and owner; its assessors).
READERS = {"vendor_a": 200, "owner": 200, "assessor": 200, "admin": 200}

PROBES: dict[str, Probe] = {
    # --- Signing in, the dashboard, health, languages
    "accounts:login": Probe(everyone(200, **{p: REDIRECT for p in PRINCIPALS[1:]})),
    "accounts:logout": Probe(everyone(LOGIN), method="POST"),
    # Two-factor sign-in (force_login gives the roles that need it a verified session): the
    # code step sends a verified or code-less session on; anyone may set up an app.
    "accounts:two_factor_verify": Probe(expect(REDIRECT)),
    "accounts:two_factor_setup": Probe(expect(200)),
    "accounts:two_factor": Probe(expect(200)),
    # Those with an app get new recovery codes; the others are sent to set one up first.
    "accounts:two_factor_recovery_codes": Probe(
        expect(REDIRECT, assessor=200, assessor_other=200, admin=200, auditor=200, security=200),
        method="POST",
    ),
    "dashboard": Probe(expect(200)),
    "healthz": Probe(everyone(200)),
    "set_language": Probe(everyone(REDIRECT), method="POST", data=lambda w: {"language": "en"}),
    # --- The vendor's self-assessment
    "assessments:list": Probe(expect(200, auditor=404, security=404)),
    "assessments:detail": Probe(expect(404, **READERS), kwargs=live),
    "assessments:answer_save": Probe(
        expect(404, vendor_a=200),
        method="POST",
        kwargs=live_indicator,
        data=lambda w: {"self_rating": "2", "explanation": "说明"},
        xhr=True,
    ),
    "assessments:submit": Probe(expect(404, vendor_a=REDIRECT), method="POST", kwargs=live),
    # --- Assessors
    "assessments:score": Probe(expect(404, assessor=200), kwargs=live),
    "assessments:rating_save": Probe(
        # The live assessment is a draft: its assessor may not rate yet (and is told why).
        expect(404, assessor=400),
        method="POST",
        kwargs=live_indicator,
        data=lambda w: {"rating": "2", "rationale": "依据"},
        xhr=True,
    ),
    "assessments:scores_submit": Probe(expect(404, assessor=REDIRECT), method="POST", kwargs=live),
    "assessments:comment_add": Probe(
        expect(404, assessor=REDIRECT),
        method="POST",
        kwargs=live_indicator,
        data=lambda w: {"text": "请补充材料"},
    ),
    "assessments:score_sheet_download": Probe(expect(404, assessor=200), kwargs=live),
    "assessments:score_sheet_upload": Probe(expect(404, assessor=400), method="POST", kwargs=live),
    # --- Campaigns and the lead's review (admins)
    "assessments:campaign_list": Probe(admin_only(200)),
    "assessments:campaign_create": Probe(admin_only(200)),
    "assessments:campaign_detail": Probe(admin_only(200), kwargs=campaign),
    "assessments:campaign_set_state": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=campaign,
        data=lambda w: {"state": "reviewing"},
    ),
    "assessments:campaign_add_clouds": Probe(admin_only(200), kwargs=campaign),
    "assessments:assessment_assessors": Probe(admin_only(200), kwargs=live),
    "assessments:assessment_review": Probe(admin_only(200), kwargs=live),
    "assessments:assessment_settle": Probe(
        admin_only(404),  # the indicator has no disagreement to settle: 404 for the admin too
        method="POST",
        kwargs=live,
        data=lambda w: {"indicator": "0"},
    ),
    "assessments:assessment_return": Probe(
        admin_only(400), method="POST", kwargs=live, data=lambda w: {"comment": ""}
    ),
    "assessments:assessment_approve": Probe(admin_only(REDIRECT), method="POST", kwargs=live),
    "assessments:campaign_edit": Probe(admin_only(200), kwargs=campaign),
    "assessments:campaign_close": Probe(admin_only(200), kwargs=campaign),
    "assessments:assessment_reopen": Probe(admin_only(200), kwargs=live),
    "assessments:assessment_exclude": Probe(admin_only(200), kwargs=live),
    # Not excluded: the admin is sent back to the exclusion page with the reason.
    "assessments:assessment_include": Probe(admin_only(REDIRECT), method="POST", kwargs=live),
    "assessments:assignment_replace": Probe(
        admin_only(200), kwargs=lambda w: {"pk": w.live.assignments.order_by("pk")[0].pk}
    ),
    # --- The register of clouds (admins manage; auditors read)
    "assessments:cloud_list": Probe(expect(404, admin=200, auditor=200)),
    "assessments:cloud_create": Probe(admin_only(200)),
    "assessments:cloud_import": Probe(admin_only(200)),
    "assessments:cloud_import_template": Probe(admin_only(200), kwargs=lambda w: {"fmt": "csv"}),
    "assessments:cloud_detail": Probe(expect(404, admin=200, auditor=200), kwargs=cloud),
    "assessments:cloud_edit": Probe(admin_only(200), kwargs=cloud),
    "assessments:cloud_archive": Probe(admin_only(REDIRECT), method="POST", kwargs=cloud),
    # The cloud is not archived: the admin is sent back to its page, told so.
    "assessments:cloud_unarchive": Probe(admin_only(REDIRECT), method="POST", kwargs=cloud),
    # --- Evidence
    "assessments:evidence_list": Probe(expect(404, **READERS), kwargs=live),
    "assessments:evidence_upload": Probe(
        expect(404, vendor_a=201, owner=403, assessor=403, admin=403),
        method="POST",
        kwargs=live_indicator,
        data=lambda w: {"file": _pdf("新材料.pdf")},
        xhr=True,
    ),
    "assessments:evidence_download": Probe(
        expect(404, **READERS), kwargs=lambda w: {"pk": w.evidence.pk}
    ),
    "assessments:evidence_preview": Probe(
        expect(404, **READERS), kwargs=lambda w: {"pk": w.evidence.pk}
    ),
    "assessments:evidence_delete": Probe(
        expect(404, vendor_a=200, owner=403, assessor=403, admin=403),
        method="POST",
        kwargs=lambda w: {"pk": w.evidence.pk},
        xhr=True,
    ),
    # Admins only; the file is not waiting for a scan, so the admin is sent back, told so.
    "assessments:evidence_rescan": Probe(
        expect(404, vendor_a=403, owner=403, assessor=403, admin=REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.evidence.pk},
    ),
    # --- Scores and vetoes
    "scoring:assessment_result": Probe(
        expect(404, vendor_a=200, owner=200, assessor=200, admin=200), kwargs=done
    ),
    "scoring:veto_record": Probe(
        admin_only(400), method="POST", kwargs=live, data=lambda w: {"note": ""}
    ),
    "scoring:veto_withdraw": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.live.pk, "finding_pk": w.finding.pk},
        data=lambda w: {"reason": "误报"},
    ),
    "scoring:campaign_scoring": Probe(admin_only(200), kwargs=campaign),
    "scoring:campaign_scoring_progress": Probe(admin_only(200), kwargs=campaign),
    # --- Certified reports and their verification
    "certified:report_list": Probe(admin_only(200)),
    "certified:assessment_reports": Probe(
        expect(404, vendor_a=200, owner=200, admin=200), kwargs=done
    ),
    "certified:issue": Probe(
        admin_only(REDIRECT), method="POST", kwargs=done, data=lambda w: {"confirm": "yes"}
    ),
    "certified:download": Probe(
        expect(404, vendor_a=200, owner=200, admin=200), kwargs=lambda w: {"pk": w.report.pk}
    ),
    "certified:status": Probe(
        expect(404, vendor_a=200, owner=200, admin=200), kwargs=lambda w: {"pk": w.report.pk}
    ),
    "certified:reissue": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.report.pk},
        data=lambda w: {"reason": "更正"},
    ),
    "certified:revoke": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.report.pk},
        data=lambda w: {"reason": "撤销", "confirm": "yes"},
    ),
    "certified:retry": Probe(
        admin_only(REDIRECT), method="POST", kwargs=lambda w: {"pk": w.report.pk}
    ),
    "certified:verify_lookup": Probe(everyone(200)),
    "certified:verify": Probe(everyone(200), kwargs=lambda w: {"code": w.report.verification_code}),
    # --- Rankings
    "rankings:admin": Probe(admin_only(200), kwargs=campaign),
    "rankings:settings": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=campaign,
        data=lambda w: {"quota_provincial": 3, "quota_municipal": 2, "public_form": "ranked"},
    ),
    "rankings:adjust": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=campaign,
        data=lambda w: {"assessment": w.done.pk, "move": "in", "reason": "（测试）"},
    ),
    "rankings:adjustment_withdraw": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.campaign.pk, "adjustment_pk": w.adjustment.pk},
    ),
    "rankings:publish": Probe(
        admin_only(REDIRECT), method="POST", kwargs=campaign, data=lambda w: {"confirm": "yes"}
    ),
    "rankings:exports_requeue": Probe(admin_only(REDIRECT), method="POST", kwargs=campaign),
    "rankings:objection_answer": Probe(
        admin_only(REDIRECT),
        method="POST",
        kwargs=lambda w: {"pk": w.campaign.pk, "objection_pk": w.objection.pk},
        data=lambda w: {"state": "answered", "answer": "已复核。"},
    ),
    "rankings:objection_evidence": Probe(
        expect(404, owner=200, admin=200), kwargs=lambda w: {"pk": w.objection.pk}
    ),
    "rankings:index": Probe(everyone(200)),
    "rankings:public": Probe(everyone(200), kwargs=ranking),
    "rankings:public_version": Probe(
        everyone(200), kwargs=lambda w: {**ranking(w), "version": w.ranking.version}
    ),
    "rankings:export": Probe(
        everyone(200),
        kwargs=lambda w: {**ranking(w), "version": w.ranking.version, "fmt": "csv"},
    ),
    "rankings:open_data_schema": Probe(everyone(200)),
    "oscal:assessment_results": Probe(
        expect(404, vendor_a=200, owner=200, assessor=200, admin=200), kwargs=done
    ),
    "oscal:ranking_results": Probe(
        everyone(200), kwargs=lambda w: {**ranking(w), "version": w.ranking.version}
    ),
    "rankings:objections": Probe(expect(404, owner=200), kwargs=ranking),
    # --- Notifications (one's own only) and password reset (signed-in users go home)
    "notifications:list": Probe(expect(200)),
    "notifications:mark_all_read": Probe(expect(REDIRECT), method="POST"),
    "notifications:open": Probe(
        expect(404, vendor_a=REDIRECT), method="POST", kwargs=own_notification
    ),
    "notifications:mark_read": Probe(
        expect(404, vendor_a=REDIRECT), method="POST", kwargs=own_notification
    ),
    "notifications:password_reset": Probe(expect(REDIRECT, anonymous=200)),
    "notifications:password_reset_done": Probe(everyone(200)),
    "notifications:password_reset_confirm": Probe(
        everyone(200), kwargs=lambda w: {"uidb64": "MQ", "token": "not-a-token"}
    ),
    "notifications:password_reset_complete": Probe(everyone(200)),
    # --- The audit trail
    "audit:event_list": Probe(expect(404, auditor=200)),
    "audit:export": Probe(expect(404, auditor=200), kwargs=lambda w: {"fmt": "csv"}),
    # Checking the hash chain only reads the trail: the auditor's, queued and sent back.
    "audit:chain_check": Probe(expect(404, auditor=REDIRECT), method="POST"),
    # --- Indicator catalogs
    "indicators:framework_list": Probe(expect(200)),
    "indicators:framework_upload": Probe(admin_only(200)),
    "indicators:framework_detail": Probe(expect(200), kwargs=catalog),
    "indicators:framework_export": Probe(expect(200), kwargs=catalog),
    "indicators:framework_publish": Probe(admin_only(200), kwargs=catalog),
    "indicators:framework_retire": Probe(admin_only(200), kwargs=catalog),
    "indicators:framework_new_draft": Probe(admin_only(200), kwargs=catalog),
    "indicators:framework_oscal_import": Probe(admin_only(200)),
    "indicators:framework_oscal_export": Probe(expect(200), kwargs=catalog),
    "indicators:framework_excel_import": Probe(admin_only(200)),
    "indicators:framework_excel_export": Probe(expect(200), kwargs=catalog),
    # --- The REST API: 401 to anonymous requests (the token scheme names itself in
    # WWW-Authenticate), 403 to roles never granted the action, 404 for objects not theirs.
    "api_schema": Probe(everyone(200)),
    "api_docs": Probe(everyone(200)),
    "accounts:api_tokens": Probe(expect(200)),
    "accounts:api_token_revoke": Probe(expect(404), kwargs=lambda w: {"pk": 999_999}),
    "indicators_api:framework_list": Probe(expect(200, anonymous=401)),
    "indicators_api:framework_detail": Probe(expect(200, anonymous=401), kwargs=catalog),
    "assessments_api:assessment_list": Probe(expect(200, anonymous=401, auditor=403, security=403)),
    "assessments_api:assessment_detail": Probe(
        expect(404, anonymous=401, auditor=403, security=403, **READERS), kwargs=live
    ),
    "assessments_api:campaign_list": Probe(expect(403, anonymous=401, admin=200)),
    "assessments_api:campaign_detail": Probe(
        expect(403, anonymous=401, admin=200), kwargs=campaign
    ),
    "assessments_api:campaign_state": Probe(
        expect(403, anonymous=401, admin=200),
        method="POST",
        kwargs=campaign,
        data=lambda w: {"state": "reviewing"},
    ),
    "assessments_api:campaign_clouds": Probe(
        expect(403, anonymous=401, admin=200),
        method="POST",
        kwargs=campaign,
        data=lambda w: {"clouds": [w.live.cloud_id]},
    ),
    "assessments_api:cloud_list": Probe(expect(403, anonymous=401, admin=200, auditor=200)),
    "assessments_api:cloud_detail": Probe(
        expect(403, anonymous=401, admin=200, auditor=200), kwargs=cloud
    ),
    "assessments_api:assessment_submit": Probe(
        expect(403, anonymous=401, vendor_a=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
    ),
    "assessments_api:assessment_return": Probe(
        expect(403, anonymous=401, admin=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
        data=lambda w: {"reason": "退回"},
    ),
    "assessments_api:assessment_reopen": Probe(
        expect(403, anonymous=401, admin=200, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
        data=lambda w: {"reason": "重开", "due_on": later(w)},
    ),
    "assessments_api:assessment_approve": Probe(
        expect(403, anonymous=401, admin=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
    ),
    "assessments_api:assessment_exclude": Probe(
        expect(403, anonymous=401, admin=200, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
        data=lambda w: {"reason": "移出"},
    ),
    "assessments_api:assessment_include": Probe(
        expect(403, anonymous=401, admin=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
    ),
    "assessments_api:scoring_submit": Probe(
        expect(403, anonymous=401, assessor=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
    ),
    "assessments_api:assignment_create": Probe(
        expect(403, anonymous=401, admin=400, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live,
        data=lambda w: {"assessor": w.users["assessor_other"].pk},
    ),
    "assessments_api:assignment_remove": Probe(
        expect(403, anonymous=401, admin=200, vendor_b=404, assessor_other=404),
        method="POST",
        kwargs=live_assignment,
        data=lambda w: {"reason": "回避"},
    ),
    "assessments_records_api:answer_list": Probe(
        expect(404, anonymous=401, auditor=403, security=403, **READERS),
        kwargs=lambda w: {"assessment_id": w.live.pk},
    ),
    # No answer to that indicator in the live assessment: 404 to its readers too.
    "assessments_records_api:answer_detail": Probe(
        expect(404, anonymous=401, auditor=403, security=403),
        kwargs=lambda w: {"assessment_id": w.live.pk, "indicator_code": w.indicator.code},
    ),
    "assessments_records_api:rating_list": Probe(
        expect(403, anonymous=401, assessor=200, admin=200, assessor_other=404),
        kwargs=lambda w: {"assessment_id": w.live.pk},
    ),
    "assessments_records_api:rating_detail": Probe(
        expect(403, anonymous=401, assessor=404, assessor_other=404),
        kwargs=lambda w: {"assessment_id": w.live.pk, "indicator_code": w.indicator.code},
    ),
    "assessments_records_api:evidence_list": Probe(
        expect(404, anonymous=401, auditor=403, security=403, **READERS),
        kwargs=lambda w: {"assessment_id": w.live.pk},
    ),
    "assessments_records_api:evidence_detail": Probe(
        expect(404, anonymous=401, auditor=403, security=403, **READERS),
        kwargs=lambda w: {"pk": w.evidence.pk},
    ),
    "assessments_records_api:evidence_download": Probe(
        expect(404, anonymous=401, auditor=403, security=403, **READERS),
        kwargs=lambda w: {"pk": w.evidence.pk},
    ),
    # Resumable uploads: only vendors create them (a GET is not allowed: 405); nobody else's
    # upload exists for anyone.
    "evidence_uploads_api:upload_create": Probe(
        expect(403, anonymous=401, vendor_a=405, vendor_b=405)
    ),
    "evidence_uploads_api:upload_detail": Probe(
        expect(403, anonymous=401, vendor_a=404, vendor_b=404),
        kwargs=lambda w: {"pk": uuid.UUID(int=1)},
    ),
    "reports_api:assessment_score": Probe(
        expect(
            404,
            anonymous=401,
            vendor_a=200,
            owner=200,
            assessor=200,
            admin=200,
            auditor=403,
            security=403,
        ),
        kwargs=done,
    ),
    "reports_api:assessment_report_issue": Probe(
        expect(403, anonymous=401, admin=201),
        method="POST",
        kwargs=done,
        data=lambda w: {"language": "en"},
    ),
    "reports_api:report_list": Probe(
        expect(403, anonymous=401, vendor_a=200, vendor_b=200, owner=200, admin=200)
    ),
    "reports_api:report_detail": Probe(
        expect(403, anonymous=401, vendor_a=200, vendor_b=404, owner=200, admin=200),
        kwargs=lambda w: {"pk": w.report.pk},
    ),
    "reports_api:report_download": Probe(
        expect(403, anonymous=401, vendor_a=200, vendor_b=404, owner=200, admin=200),
        kwargs=lambda w: {"pk": w.report.pk},
    ),
    "reports_api:ranking_list": Probe(everyone(200)),
    "reports_api:ranking_detail": Probe(everyone(200), kwargs=ranking),
    "reports_api:ranking_version": Probe(
        everyone(200), kwargs=lambda w: {**ranking(w), "version": w.ranking.version}
    ),
    "reports_api:assessment_oscal": Probe(
        expect(
            404,
            anonymous=401,
            vendor_a=200,
            owner=200,
            assessor=200,
            admin=200,
            auditor=403,
            security=403,
        ),
        kwargs=done,
    ),
    "reports_api:verify": Probe(
        everyone(200), kwargs=lambda w: {"code": w.report.verification_code}
    ),
}


# The Django admin site: only the admin and the security administrator get in; everyone else is
# sent to its sign-in page. Inside, each model is one of theirs (three-role separation): the
# other gets 403 (404 for a section with nothing of theirs).
def admin_site(ok: Outcome, security: Outcome | None = None) -> dict[str, Outcome]:
    return expect(
        ADMIN_LOGIN, anonymous=ADMIN_LOGIN, admin=ok, security=ok if security is None else security
    )


PROBES.update(
    {
        "admin:index": Probe(admin_site(200)),
        # One door: the portal's sign-in page (password, then the code) for the anonymous.
        "admin:login": Probe(everyone(REDIRECT, anonymous=LOGIN)),
        # Only a signed-in admin is signed out (to the portal's sign-in page); the site sends
        # everyone else to its index, which sends them on to its sign-in page.
        "admin:logout": Probe(everyone(REDIRECT, admin=LOGIN, security=LOGIN), method="POST"),
        "admin:password_change": Probe(admin_site(200)),
        "admin:password_change_done": Probe(admin_site(200)),
        "admin:autocomplete": Probe(admin_site(403)),  # no autocomplete fields: refused
        "admin:jsi18n": Probe(admin_site(200)),
        "admin:view_on_site": Probe(
            # Organisations have no public page: the shortcut finds nothing to show.
            admin_site(404),
            kwargs=lambda w: {
                "content_type_id": ContentType.objects.get_for_model(Organisation).pk,
                "object_id": w.admin_objects["accounts.organisation"].pk,
            },
        ),
        "admin:app_list": Probe(
            admin_site(404, security=200), kwargs=lambda w: {"app_label": "accounts"}
        ),
        "admin:auth_user_password_change": Probe(
            admin_site(403, security=200), kwargs=lambda w: {"id": w.users["vendor_a"].pk}
        ),
        "admin/(?P<url>.*)$": Probe(admin_site(404), path=lambda w: "/admin/no-such-page/"),
    }
)

# What the admin site lets its user do with each model (its ModelAdmin): (add, delete), and
# whose the model is ("admin", "security", or None: nobody's, the auditor reads the trail in
# the portal).
ADMIN_MODELS = {
    "accounts.organisation": (True, False, "security"),
    "accounts.user": (True, False, "security"),
    "accounts.failedsignin": (False, False, "security"),
    "assessments.cloud": (True, False, "admin"),
    "audit.auditevent": (False, False, None),
    "indicators.framework": (False, False, "admin"),  # published frameworks never change
    "indicators.indicator": (False, False, "admin"),
    "reports.scoreresult": (False, False, "admin"),
    "reports.campaignscoringrun": (False, False, "admin"),
    "reports.vetofinding": (False, False, "admin"),
    "notifications.notification": (False, False, "admin"),
}


def _admin_object(label: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {"object_id": w.admin_objects[label].pk}


def _admin_object_path(label: str) -> Callable[[World], str]:
    app, model = label.split(".")
    return lambda w: f"/admin/{app}/{model}/{w.admin_objects[label].pk}/"


def _admin_model_probes() -> None:
    for label, (can_add, can_delete, whose) in ADMIN_MODELS.items():
        app, model = label.split(".")
        # Framework and indicator change pages of a published version are read-only views.
        obj = _admin_object(label)

        def site(ok: Outcome, whose: str | None = whose) -> dict[str, Outcome]:
            return admin_site(
                ok if whose == "admin" else 403, security=ok if whose == "security" else 403
            )

        PROBES[f"admin:{app}_{model}_changelist"] = Probe(site(200))
        PROBES[f"admin:{app}_{model}_add"] = Probe(site(200 if can_add else 403))
        PROBES[f"admin:{app}_{model}_history"] = Probe(site(200), kwargs=obj)
        PROBES[f"admin:{app}_{model}_delete"] = Probe(site(200 if can_delete else 403), kwargs=obj)
        PROBES[f"admin:{app}_{model}_change"] = Probe(site(200), kwargs=obj)
        PROBES[f"admin/{app}/{model}/<path:object_id>/"] = Probe(
            admin_site(REDIRECT), path=_admin_object_path(label)
        )


_admin_model_probes()


# ----------------------------------------------------------------------------------------------
# The test


def _patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    """(key, route) of every URL pattern: its namespaced name, or its route when unnamed."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _patterns(pattern.url_patterns, route, inner)
        elif pattern.name:
            yield (f"{namespace}:{pattern.name}" if namespace else pattern.name), route
        else:
            yield route, route


def _outcome(response: TestResponse) -> Outcome:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith(reverse("accounts:login")):
            return LOGIN
        return REDIRECT
    return int(response.status_code)


def test_every_url_pattern_has_an_expectation_for_every_principal() -> None:
    keys = {key for key, _route in _patterns(get_resolver().url_patterns)}
    missing = sorted(keys - PROBES.keys())
    stale = sorted(PROBES.keys() - keys)
    incomplete = sorted(k for k, probe in PROBES.items() if set(probe.expect) != set(PRINCIPALS))
    assert missing == [], f"URL patterns without a probe: {missing}"
    assert stale == [], f"probes of patterns that no longer exist: {stale}"
    assert incomplete == []


def test_each_registered_admin_model_has_its_expectations() -> None:
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in django_admin.site._registry}
    assert registered == set(ADMIN_MODELS)


@pytest.mark.django_db
def test_every_principal_gets_exactly_what_the_policy_allows_on_every_url(
    admin: User,
    auditor: User,
    vendor: User,
    outsider_vendor: User,
    owner: User,
    security_admin: User,
    signing_key: Path,  # noqa: F811
    settings: Settings,
) -> None:
    settings.VERIFY_RATE_LIMIT = 1_000_000
    world = build_world(admin, auditor, vendor, outsider_vendor, owner, security_admin)
    clients = {principal: Client() for principal in PRINCIPALS}
    mismatches: list[str] = []
    requests = 0
    for key, _route in sorted(_patterns(get_resolver().url_patterns)):
        probe = PROBES[key]
        path = probe.path(world) if probe.path else reverse(key, kwargs=probe.kwargs(world))
        for principal in PRINCIPALS:
            headers = {"X-Requested-With": "XMLHttpRequest"} if probe.xhr else None
            client = clients[principal]
            if principal != "anonymous":
                # Signed in afresh each time: an earlier probe may have signed out.
                client.force_login(world.users[principal])
            with transaction.atomic():
                if probe.method == "POST":
                    response = client.post(path, probe.data(world), headers=headers)
                else:
                    response = client.get(path, headers=headers)
                transaction.set_rollback(True)
            requests += 1
            got = _outcome(response)
            if got != probe.expect[principal]:
                mismatches.append(
                    f"{probe.method} {path} ({key}) as {principal}: {got}, "
                    f"expected {probe.expect[principal]}"
                )
    assert mismatches == [], "\n".join(mismatches)
    assert requests == len(PROBES) * len(PRINCIPALS)
