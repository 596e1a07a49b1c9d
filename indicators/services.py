"""Writes to indicator catalogs. Every state change is audited in the same transaction.

Published and retired frameworks are immutable: every service that would change one raises
``ValidationError`` instead. Changing a published framework means ``framework_new_draft``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action
from audit.services import audit_record
from audit.transitions import transition

from .catalog import (
    Document,
    catalog_parse,
    content_sha256,
    framework_document,
    required_decimal,
    to_decimal,
)
from .models import (
    Dimension,
    Framework,
    Indicator,
    LevelRule,
    RubricLevel,
    TrustedPassRule,
    VetoRule,
)
from .selectors import framework_with_tree

CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"

ImportOutcome = Literal["created", "replaced", "unchanged"]


@dataclass(frozen=True)
class ImportResult:
    framework: Framework
    outcome: ImportOutcome
    published: bool

    def describe(self) -> str:
        """One line for a person: what the import did."""
        names = {"code": self.framework.code, "version": self.framework.version}
        text = {
            "created": _("%(code)s %(version)s imported as a draft.") % names,
            "replaced": _("%(code)s %(version)s: the draft was replaced by the file.") % names,
            "unchanged": _(
                "%(code)s %(version)s is already loaded with this content; nothing to do."
            )
            % names,
        }[self.outcome]
        if self.published:
            text += " " + _("Published.")
        return text


def _ensure_editable(framework: Framework) -> None:
    if not framework.is_editable:
        raise ValidationError(
            _(
                "%(code)s %(version)s is %(state)s and cannot change; "
                "start a new draft from it to make changes."
            )
            % {
                "code": framework.code,
                "version": framework.version,
                "state": framework.get_state_display(),
            },
            code="immutable",
        )


def framework_import(
    *,
    source: str | bytes,
    filename: str,
    acting_user: User | None,
    publish: bool = False,
) -> ImportResult:
    """Validates a catalog file and stores it as a draft (and publishes it if asked).

    Nothing is written unless the whole file is valid (raises ``CatalogInvalid`` listing every
    error). Re-running with the same content is a no-op (outcome ``unchanged``; with ``publish``
    a draft is then published, a published version left alone). A changed file under an existing
    draft replaces the draft; under a published or retired version it raises ``ValidationError``.
    Admins only, or the system (``Denied`` for anyone else).
    """
    policy.require(acting_user, Action.CATALOG_MANAGE)
    doc = catalog_parse(source, filename=filename)
    sha = content_sha256(doc)
    with transaction.atomic():
        existing = (
            Framework.objects.select_for_update()
            .filter(code=doc["code"], version=doc["version"])
            .first()
        )
        outcome: ImportOutcome
        if existing is not None and existing.content_sha256 == sha:
            framework, outcome = existing, "unchanged"
        elif existing is not None:
            if not existing.is_editable:
                raise ValidationError(
                    _(
                        "%(file)s: %(code)s %(version)s is already %(state)s with different "
                        "content, and a published version never changes. Give the file a new "
                        "version."
                    )
                    % {
                        "file": filename,
                        "code": existing.code,
                        "version": existing.version,
                        "state": existing.get_state_display(),
                    },
                    code="immutable",
                )
            framework, outcome = existing, "replaced"
            framework.dimensions.all().delete()
            framework.levels.all().delete()
            TrustedPassRule.objects.filter(framework=framework).delete()
            _write_tree(framework, doc, sha=sha, filename=filename)
        else:
            framework = Framework(created_by=acting_user)
            outcome = "created"
            _write_tree(framework, doc, sha=sha, filename=filename)
        if outcome != "unchanged":
            audit_record(
                action=f"indicators.framework.{'imported' if outcome == 'created' else 'replaced'}",
                acting_user=acting_user,
                target=framework,
                changes={"file": filename, "content_sha256": sha},
            )
        published = False
        if publish and framework.state == Framework.State.DRAFT:
            framework = framework_publish(framework=framework, acting_user=acting_user)
            published = True
    return ImportResult(framework=framework, outcome=outcome, published=published)


def _write_tree(framework: Framework, doc: Document, *, sha: str, filename: str) -> None:
    """Writes a normalised, validated document into ``framework`` (a draft) and its children."""
    framework.code = doc["code"]
    framework.version = doc["version"]
    framework.kind = doc["kind"]
    framework.name_zh = doc["name_zh"]
    framework.name_en = doc["name_en"]
    framework.provenance = doc["provenance"]
    framework.max_rating = doc["max_rating"]
    framework.total_weight = to_decimal(doc["total_weight"])
    framework.rating_names = doc["ratings"]
    framework.unrated_name_zh = doc["unrated_level"]["name_zh"]
    framework.unrated_name_en = doc["unrated_level"]["name_en"]
    framework.report_validity_months = doc["report_validity_months"]
    framework.content_sha256 = sha
    framework.source_filename = filename[:255]
    framework.state = Framework.State.DRAFT
    # Uniqueness was checked on the document and is enforced by the database constraints.
    framework.full_clean(validate_unique=False, validate_constraints=False)
    framework.save()

    rubric_rows: list[RubricLevel] = []
    for d_order, d in enumerate(doc["dimensions"], start=1):
        dimension = Dimension(
            framework=framework,
            order=d_order,
            code=d["code"],
            name_zh=d["name_zh"],
            name_en=d["name_en"],
            weight=to_decimal(d["weight"]),
        )
        _clean(dimension, exclude=["framework"])
        dimension.save()
        indicators: list[Indicator] = []
        for i_order, i in enumerate(d["indicators"], start=1):
            quantity = i["quantity"] or {}
            indicator = Indicator(
                framework=framework,
                dimension=dimension,
                order=i_order,
                code=i["code"],
                name_zh=i["name_zh"],
                name_en=i["name_en"],
                description_zh=i["description_zh"],
                description_en=i["description_en"],
                weight=to_decimal(i["weight"]),
                is_key=i["key"],
                requirement_type=i["type"] or "",
                evidence_methods=i["evidence"],
                unit=quantity.get("unit", ""),
                direction=quantity.get("direction", ""),
                interpolate=quantity.get("interpolate", False),
            )
            _clean(indicator, exclude=["framework", "dimension"])
            indicators.append(indicator)
        Indicator.objects.bulk_create(indicators)
        for indicator, i in zip(indicators, d["indicators"], strict=True):
            for r in i["rubric"]:
                row = RubricLevel(
                    indicator=indicator,
                    rating=r["rating"],
                    text_zh=r["zh"],
                    text_en=r["en"],
                    anchor=to_decimal(r["anchor"]),
                )
                _clean(row, exclude=["indicator"])
                rubric_rows.append(row)
    RubricLevel.objects.bulk_create(rubric_rows)

    levels_by_code: dict[str, LevelRule] = {}
    for order, lv in enumerate(doc["levels"], start=1):
        level = LevelRule(
            framework=framework,
            order=order,
            code=lv["code"],
            name_zh=lv["name_zh"],
            name_en=lv["name_en"],
            min_total=required_decimal(lv["min_total"]),
            min_dimension_share=to_decimal(lv["min_dimension_share"]),
            min_key_rating=lv["min_key_rating"],
        )
        _clean(level, exclude=["framework"])
        level.save()
        levels_by_code[level.code] = level
    for order, v in enumerate(doc["vetoes"], start=1):
        veto = VetoRule(
            framework=framework,
            order=order,
            code=v["code"],
            description_zh=v["description_zh"],
            description_en=v["description_en"],
            cap_level=levels_by_code.get(v["cap_level"]) if v["cap_level"] else None,
        )
        _clean(veto, exclude=["framework", "cap_level"])
        veto.save()
    if doc["pass_rule"] is not None:
        p = doc["pass_rule"]
        rule = TrustedPassRule(
            framework=framework,
            require_all_mandatory=p["require_all_mandatory"],
            min_graded_share=required_decimal(p["min_graded_share"]),
            min_graded_rating=p["min_graded_rating"],
            validity_months=p["validity_months"],
        )
        _clean(rule, exclude=["framework"])
        rule.save()


def _clean(obj: models.Model, *, exclude: list[str]) -> None:
    # Foreign keys point at rows written a moment ago in this transaction: skipping their
    # existence checks saves one query per row; uniqueness is the database's job here.
    obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _state_change(
    framework: Framework, from_state: str, to_state: str, stamp_field: str, acting_user: User | None
) -> Framework:
    policy.require(acting_user, Action.CATALOG_MANAGE)
    now = timezone.now()

    def refusal(current: str | None) -> str:
        return _("%(code)s %(version)s is %(state)s, not %(expected)s; nothing was changed.") % {
            "code": framework.code,
            "version": framework.version,
            "state": Framework.State(current).label if current else _("deleted"),
            "expected": Framework.State(from_state).label,
        }

    with transaction.atomic():
        transition(
            framework,
            from_states=[from_state],
            to_state=to_state,
            extra={stamp_field: now, "updated_at": now},
            action=f"indicators.framework.{to_state}",
            acting_user=acting_user,
            refusal=refusal,
        )
        framework.refresh_from_db()
    return framework


def framework_publish(*, framework: Framework, acting_user: User | None) -> Framework:
    """Publishes a draft; from then on it never changes. Raises ``ValidationError`` unless the
    framework is a draft (so two clicks at once publish it once)."""
    return _state_change(
        framework, Framework.State.DRAFT, Framework.State.PUBLISHED, "published_at", acting_user
    )


def framework_retire(*, framework: Framework, acting_user: User | None) -> Framework:
    """Retires a published version: it stays readable (results refer to it) but is no longer
    offered for new evaluations. Raises ``ValidationError`` unless it is published."""
    return _state_change(
        framework, Framework.State.PUBLISHED, Framework.State.RETIRED, "retired_at", acting_user
    )


def framework_new_draft(
    *, framework: Framework, version: str, acting_user: User | None
) -> Framework:
    """Copies a published or retired framework, its whole tree, into a new draft ``version``.

    Raises ``ValidationError`` if the source is itself a draft (edit it instead) or if the
    version exists already; ``Denied`` unless an admin (or the system) asks.
    """
    policy.require(acting_user, Action.CATALOG_MANAGE)
    if framework.is_editable:
        raise ValidationError(
            _("%(code)s %(version)s is still a draft: change it instead of copying it.")
            % {"code": framework.code, "version": framework.version},
            code="is_draft",
        )
    version = version.strip()
    source = framework_with_tree(pk=framework.pk)
    doc = {**framework_document(source), "version": version}
    with transaction.atomic():
        if Framework.objects.filter(code=framework.code, version=version).exists():
            raise ValidationError(
                {
                    "version": _("%(code)s already has a version %(version)s.")
                    % {"code": framework.code, "version": version}
                },
                code="duplicate_version",
            )
        draft = Framework(created_by=acting_user, based_on=framework)
        try:
            _write_tree(draft, doc, sha=content_sha256(doc), filename="")
        except ValidationError as exc:
            raise ValidationError({"version": exc.messages}) from None
        audit_record(
            action="indicators.framework.drafted",
            acting_user=acting_user,
            target=draft,
            changes={"based_on": f"{framework.code} {framework.version}"},
        )
    return draft


def framework_update_details(
    *,
    framework: Framework,
    name_zh: str,
    name_en: str,
    provenance: str,
    acting_user: User | None,
) -> Framework:
    """Renames a draft or rewrites its provenance. Raises ``ValidationError`` if published,
    ``Denied`` unless an admin (or the system) asks."""
    policy.require(acting_user, Action.CATALOG_MANAGE)
    with transaction.atomic():
        framework = Framework.objects.select_for_update().get(pk=framework.pk)
        _ensure_editable(framework)
        before = {"name_zh": framework.name_zh, "name_en": framework.name_en}
        framework.name_zh, framework.name_en = name_zh, name_en
        framework.provenance = provenance
        framework.full_clean()
        framework.save()
        framework_rehash(framework=framework)
        audit_record(
            action="indicators.framework.edited",
            acting_user=acting_user,
            target=framework,
            changes={"before": before, "after": {"name_zh": name_zh, "name_en": name_en}},
        )
    return framework


def framework_rehash(*, framework: Framework) -> Framework:
    """Recomputes ``content_sha256`` of a draft after an edit (in the admin or a service), so
    that importing the old file again replaces the edit instead of being taken for a no-op."""
    _ensure_editable(framework)
    sha = content_sha256(framework_document(framework_with_tree(pk=framework.pk)))
    Framework.objects.filter(pk=framework.pk).update(content_sha256=sha)
    framework.content_sha256 = sha
    return framework


def default_catalogs_load(*, acting_user: User | None = None) -> list[ImportResult]:
    """Imports and publishes the catalogs shipped in ``indicators/catalogs/``. Safe to re-run:
    unchanged catalogs are left alone."""
    results = []
    for path in sorted(CATALOG_DIR.glob("*.yaml")):
        results.append(
            framework_import(
                source=path.read_bytes(), filename=path.name, acting_user=acting_user, publish=True
            )
        )
    return results
