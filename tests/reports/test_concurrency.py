"""Two people at the same moment, on PostgreSQL: a write that depends on an assessment's state
locks the assessment's row first, so a settlement or a veto saved while the lead approves is
either part of the approved assessment or refused, never added to an approved one.

Each scenario holds the first transaction open until the second one is seen waiting for the row
lock in ``pg_stat_activity`` (no sleeps), then lets the first commit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection, connections, transaction

from accounts.models import User
from assessments import services as workflow
from assessments.models import Assessment, Cloud, Settlement
from indicators.models import VetoRule
from reports.models import VetoFinding
from reports.scoring import services as scoring

pytestmark = pytest.mark.django_db(transaction=True)


class Session(threading.Thread):
    """Runs ``work`` in a transaction of its own connection and keeps it open until released."""

    def __init__(self, work: Callable[[], Any], hold: bool) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.hold = hold
        self.done_work = threading.Event()
        self.release = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.backend_pid: int | None = None

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.backend_pid = cursor.fetchone()[0]
            with transaction.atomic():
                self.result = self.work()
                self.done_work.set()
                if self.hold:
                    self.release.wait(timeout=60)
        except BaseException as exc:  # noqa: BLE001 (reported to the test)
            self.error = exc
        finally:
            self.done_work.set()
            connections.close_all()


def _wait_until_blocked(session: Session) -> None:
    """Until ``session``'s backend waits for a lock (it reached the locked row)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if session.backend_pid is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                    [session.backend_pid],
                )
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
        assert not session.done_work.is_set(), "the second session was not held by the lock"
        time.sleep(0.02)
    raise AssertionError("the second session never waited for the row lock")


def race(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Session, Session]:
    """``first`` runs and keeps its transaction open; ``second`` starts and must wait for the
    row lock; then ``first`` commits and ``second`` finishes."""
    one = Session(first, hold=True)
    one.start()
    assert one.done_work.wait(30)
    assert one.error is None, one.error
    two = Session(second, hold=False)
    two.start()
    _wait_until_blocked(two)
    one.release.set()
    one.join(30)
    two.join(30)
    close_old_connections()
    return one, two


def _settle(target: Assessment, admin: User) -> Callable[[], Settlement]:
    indicator = target.campaign.framework.indicators.get(code="1.1")
    return lambda: workflow.settlement_save(
        assessment=target,
        indicator=indicator,
        rating=3,
        reason="合议后定为卓越。",
        acting_user=admin,
    )


def _approve(target: Assessment, admin: User) -> Callable[[], Assessment]:
    return lambda: workflow.assessment_approve(assessment=target, acting_user=admin)


def _veto(target: Assessment, admin: User) -> Callable[[], VetoFinding]:
    rule = VetoRule.objects.filter(framework=target.campaign.framework).first()
    assert rule is not None
    return lambda: scoring.veto_finding_record(
        assessment=target, veto_rule=rule, note="近12个月发生重大安全事件。", acting_user=admin
    )


def test_a_settlement_saved_while_the_lead_approves_is_refused(
    scored: Assessment,
    admin: User,
) -> None:
    _one, two = race(_approve(scored, admin), _settle(scored, admin))

    assert isinstance(two.error, ValidationError), two.error
    # "Ratings are settled during the review."
    assert two.error.messages == ["评分只能在评审阶段裁定。"]
    scored.refresh_from_db()
    assert scored.state == Assessment.State.APPROVED
    assert not Settlement.objects.filter(assessment=scored).exists()


def test_an_approval_waits_for_a_settlement_saved_first_and_includes_it(
    scored: Assessment,
    admin: User,
) -> None:
    one, two = race(_settle(scored, admin), _approve(scored, admin))

    assert one.error is None and two.error is None, (one.error, two.error)
    scored.refresh_from_db()
    assert scored.state == Assessment.State.APPROVED
    assert Settlement.objects.filter(assessment=scored, rating=3).exists()


def test_a_veto_recorded_while_the_lead_approves_is_refused(
    scored: Assessment,
    admin: User,
) -> None:
    _one, two = race(_approve(scored, admin), _veto(scored, admin))

    assert isinstance(two.error, ValidationError), two.error
    # "Approved assessments are read-only."
    assert two.error.messages == ["已批准的评估为只读。"]
    assert not VetoFinding.objects.filter(assessment=scored).exists()


def test_an_approval_waits_for_a_veto_recorded_first(
    scored: Assessment,
    admin: User,
) -> None:
    one, two = race(_veto(scored, admin), _approve(scored, admin))

    assert one.error is None and two.error is None, (one.error, two.error)
    scored.refresh_from_db()
    assert scored.state == Assessment.State.APPROVED
    assert VetoFinding.objects.filter(assessment=scored).exists()


def test_clouds_added_while_the_review_starts_are_refused(
    scored: Assessment,
    admin: User,
    cloud: Cloud,
) -> None:
    from assessments.models import Campaign, Cloud

    campaign = scored.campaign
    late = Cloud.objects.create(name="新加入的政务云", owner=cloud.owner, level=cloud.level)
    late.vendors.set(cloud.vendors.all())
    _one, two = race(
        lambda: workflow.campaign_set_state(
            campaign=campaign, state=Campaign.State.REVIEWING, acting_user=admin
        ),
        lambda: workflow.campaign_add_clouds(campaign=campaign, clouds=[late], acting_user=admin),
    )

    assert isinstance(two.error, ValidationError), two.error
    assert not campaign.assessments.filter(cloud=late).exists()
