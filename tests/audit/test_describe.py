"""The audit trail in words: every recorded code has a sentence, and changes read as
before → after. Nothing here needs the database."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from audit import describe
from audit.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
# Every Django app of the project (a folder with ``apps.py``) and the project package.
PACKAGES = sorted(
    {p.parent.name for p in ROOT.glob("*/apps.py") if p.parent.name != ".venv"} | {"govcloud_eval"}
)

# The codes built at run time, by the f-string that builds them: a new f-string fails the test
# below until it is listed here with what it can produce (and those have sentences).
DYNAMIC: dict[str, tuple[str, ...]] = {
    "indicators.framework.{('imported' if outcome == 'created' else 'replaced')}": (
        "indicators.framework.imported",
        "indicators.framework.replaced",
    ),
    "indicators.framework.{to_state}": (
        "indicators.framework.published",
        "indicators.framework.retired",
    ),
    "assessments.campaign.{state}": (
        "assessments.campaign.open",
        "assessments.campaign.reviewing",
        "assessments.campaign.closed",
    ),
    # The admin site: described from the model, for every model it edits.
    "{opts.app_label}.{opts.model_name}.admin_{verb}": (
        "accounts.user.admin_added",
        "accounts.user.admin_changed",
        "indicators.framework.admin_deleted",
    ),
}


def _strings(node: ast.expr) -> Iterator[tuple[bool, str]]:
    """The codes an ``action=`` expression can give: its string constants (both branches of a
    conditional) as (False, code), its f-strings as (True, source of the f-string)."""
    if isinstance(node, ast.JoinedStr):
        yield True, ast.unparse(node)[2:-1]
    elif isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield False, node.value
    else:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                yield from _strings(child)


def _recorded_codes() -> tuple[set[str], set[str]]:
    """(literal codes, f-string templates) passed as ``action=`` in the project's source."""
    literals: set[str] = set()
    templates: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg != "action":
                        continue
                    for is_f, value in _strings(keyword.value):
                        if value.count(".") < 2:
                            continue  # argparse's action="store_true" and the like
                        (templates if is_f else literals).add(value)
    return literals, templates


def _event(action: str, **kwargs: object) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor_label=str(kwargs.pop("actor", "office_admin")),
        target_type=str(kwargs.pop("target_type", "assessments.assessment")),
        target_id=str(kwargs.pop("target_id", "7")),
        target_label=str(kwargs.pop("target_label", "济南政务云计算中心")),
        changes=kwargs.pop("changes", {}),
    )


def test_the_source_scan_finds_the_codes_it_should() -> None:
    literals, templates = _recorded_codes()
    # A scan that found nothing would pass everything: check it sees known calls.
    assert {"assessments.assessment.returned", "reports.report.issued"} <= literals
    assert "assessments.campaign.{state}" in templates


def test_every_action_recorded_in_the_code_has_a_sentence() -> None:
    literals, _templates = _recorded_codes()
    missing = sorted(code for code in literals if code not in describe.ACTIONS)
    assert missing == []


def test_every_code_built_at_run_time_is_listed_and_described() -> None:
    _literals, templates = _recorded_codes()
    assert sorted(templates - set(DYNAMIC)) == []
    for codes in DYNAMIC.values():
        for code in codes:
            assert describe.is_admin_code(code) or code in describe.ACTIONS, code


def test_the_codes_other_journeys_record_are_described() -> None:
    for code in (
        "assessments.assessment.excluded",
        "assessments.assessment.reincluded",
        "assessments.assessment.included",
        "assessments.assessment.review_reopened",
        "assessments.campaign.updated",
        "assessments.cloud.updated",
        "assessments.assessment.reopened",
        "assessments.assignment.removed",
        "assessments.assignment.replaced",
        "assessments.cloud.edited",
        "assessments.cloud.archived",
        "assessments.cloud.unarchived",
        "assessments.cloud.imported",
    ):
        assert code in describe.ACTIONS


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_sentence_names_who_and_what(language: str) -> None:
    with translation.override(language):
        for code, text in describe.ACTIONS.items():
            words = describe.sentence(_event(code, actor="wang_li", target_label="宿迁政务云"))
            assert "%(" not in words, code
            if "%(actor)s" in str(text.sentence):
                assert "wang_li" in words, code
            if "%(object)s" in str(text.sentence):
                assert "宿迁政务云" in words, code
            assert code.rsplit(".", 1)[0] in describe.KINDS, code


def test_it_describes_a_return_in_words() -> None:
    with translation.override("en"):
        event = _event("assessments.assessment.returned")
        assert describe.sentence(event) == (
            "office_admin returned the self-assessment of 济南政务云计算中心"
        )
        assert describe.action_label(event.action) == "Assessment: Returned"


def test_an_event_without_an_actor_was_done_by_the_system() -> None:
    with translation.override("en"):
        event = _event("accounts.organisation.created", actor="")
        assert describe.sentence(event).startswith("The system created the organisation")


def test_an_unknown_code_reads_as_its_kind_and_verb_and_never_fails() -> None:
    with translation.override("en"):
        event = _event("assessments.evidence.scanned_for_viruses", target_label="等保备案.pdf")
        assert describe.sentence(event) == (
            "office_admin — Evidence file: scanned for viruses — 等保备案.pdf"
        )
        assert describe.action_label("weird.thing.happened") == "Thing: Happened"
        assert describe.sentence(_event("x.y.z", target_label="")) == "office_admin — Y: z — —"


def test_an_admin_site_edit_names_the_kind_of_object() -> None:
    with translation.override("en"):
        event = _event(
            "accounts.user.admin_changed", target_type="accounts.user", target_label="vendor_a"
        )
        assert describe.sentence(event) == (
            "office_admin changed account vendor_a in the admin site"
        )
        assert describe.action_label(event.action) == "Account: Changed in the admin site"


def test_a_state_change_reads_as_labelled_states() -> None:
    with translation.override("en"):
        event = _event(
            "assessments.assessment.returned",
            changes={"from": "in_review", "to": "returned", "comment": "请补充等保测评报告。"},
        )
        rows = describe.change_rows(event)
        assert [(r.label, r.before and r.before.text, r.after.text) for r in rows] == [
            ("State", "In review", "Returned"),
            ("Comment", None, "请补充等保测评报告。"),
        ]


def test_admin_changes_are_pairs_with_the_models_field_names() -> None:
    with translation.override("en"):
        event = _event(
            "accounts.user.admin_changed",
            target_type="accounts.user",
            changes={
                "via": "django-admin",
                "email": ["a@example.cn", "b@example.cn"],
                "is_active": [True, False],
                "password": "changed",
                "message": [{"changed": {"fields": ["Email"]}}],
            },
        )
        rows = describe.change_rows(event)
        assert [(r.label, r.before and r.before.text, r.after.text) for r in rows] == [
            ("Email address", "a@example.cn", "b@example.cn"),
            ("Active", "Yes", "No"),
            ("Password", None, "changed"),
        ]


def test_before_and_after_dicts_become_one_row_per_field() -> None:
    with translation.override("en"):
        event = _event(
            "indicators.framework.edited",
            target_type="indicators.framework",
            changes={
                "before": {"name_zh": "旧名称", "name_en": "Old"},
                "after": {"name_zh": "新名称", "name_en": "Old"},
            },
        )
        rows = describe.change_rows(event)
        assert [r.as_text() for r in rows] == [
            "Chinese name: 旧名称 → 新名称",
            "English name: Old → Old",
        ]


def test_long_values_are_cut_with_the_whole_value_kept() -> None:
    reason = "因平台发生重大安全事件，" * 20
    sha = "a" * 64
    event = _event(
        "reports.veto.withdrawn", changes={"reason": reason, "sha256": sha, "size": 2048}
    )
    with translation.override("en"):
        reason_row, sha_row, size_row = describe.change_rows(event)
    assert reason_row.after.truncated and reason_row.after.full == reason
    assert len(reason_row.after.text) == describe.SHORT
    assert sha_row.after.text == "aaaaaaaaaaaa…" and sha_row.after.full == sha
    assert size_row.after.text == "2.0\xa0KB"
    assert describe.changes_text(event).count("\n") == 2


def test_a_report_status_pair_reads_as_before_and_after() -> None:
    with translation.override("en"):
        event = _event(
            "reports.report.revoked",
            target_type="reports.report",
            changes={"status": ["issued", "revoked"], "reason": "数据有误"},
        )
        status = describe.change_rows(event)[0]
    assert status.before is not None
    assert (status.before.text, status.after.text) == ("Valid", "Revoked")


def test_templates_can_say_an_event_in_words() -> None:
    from django.template import Context, Template

    template = Template("{% load audit_tags %}{{ event|audit_sentence }}")
    with translation.override("en"):
        text = template.render(Context({"event": _event("accounts.user.logged_in")}))
    assert text == "office_admin signed in"


def test_every_sentence_label_and_kind_is_in_chinese() -> None:
    """Each text of the registry reads in Chinese: a text that makemessages could not extract
    (say, gettext_lazy called through an alias) stays English and fails here."""
    import re

    texts: list[object] = [*describe.KINDS.values(), *describe.FIELD_LABELS.values()]
    for table in (describe.ACTIONS, describe.ADMIN_VERBS):
        texts += [t for action in table.values() for t in (action.sentence, action.verb)]
    texts += [t for labels in describe.ACTION_FIELD_LABELS.values() for t in labels.values()]
    with translation.override("zh-hans"):
        english = [str(t) for t in texts if not re.search(r"[\u4e00-\u9fff]", str(t))]
    # Names that are the same in both languages.
    assert [t for t in english if t not in {"SHA-256", "URL", "ID"}] == []
