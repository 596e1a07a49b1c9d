"""The catalog file format: parse, validate, normalise, and turn a framework back into a file.

Pure functions, no database writes. ``catalog_parse`` returns a normalised document (every
optional key present with its default, every number canonical) or raises ``CatalogInvalid``
with *all* the errors found, each naming the file, the path inside it and the problem.

Validation runs in two passes: the JSON Schema (``catalog_schema.json``: unknown keys, wrong
types, missing keys, unknown evidence methods), then, on a document the schema accepts, the
rules a schema cannot say (weight sums, duplicate codes, rubric ratings, monotonic levels).
The format is described in ``docs/catalog-format.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

if TYPE_CHECKING:
    from .models import Framework

FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent / "catalog_schema.json"
EVIDENCE_CODES = ("Q", "D", "S", "T", "I", "U")
# Largest catalog file accepted, in bytes; the default catalogs are about 40 kB.
MAX_CATALOG_BYTES = 2 * 1024 * 1024
# How long a certified report stays valid after its approval, unless the catalog says otherwise.
REPORT_VALIDITY_MONTHS = 12

Document = dict[str, Any]


@dataclass(frozen=True)
class CatalogError:
    """One problem in one catalog file."""

    filename: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.filename}: {self.path}: {self.message}"


class CatalogInvalid(ValidationError):
    """A catalog file that cannot be imported; ``errors`` lists every problem found."""

    def __init__(self, errors: list[CatalogError]) -> None:
        self.errors = errors
        super().__init__([str(error) for error in errors])


# --- Paths -------------------------------------------------------------------------------------


def format_path(parts: Iterable[str | int]) -> str:
    """``["dimensions", 1, "weight"]`` → ``dimensions[1].weight``; the root is ``(top level)``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or _("(top level)")


# --- YAML --------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# Anchors and aliases let a few hundred bytes describe billions of nodes ("billion laughs"):
# whatever reads the result (the schema validation, the import) walks every one of them. A
# catalog of 20 indicators has about 2,000 nodes; the largest expected, a few tens of thousands.
MAX_EXPANDED_NODES = 100_000


def _refuse_expansion(root: yaml.Node, filename: str) -> None:
    """Refuses a document whose nodes, with every alias expanded, number more than
    ``MAX_EXPANDED_NODES``, or that nests deeper than Python can walk. Counts each distinct node
    once (memoised), so the count itself costs no more than the document's size."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a node that contains itself counts once
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        sizes[key] = total
        return total

    try:
        expanded = size(root)
    except RecursionError:
        raise CatalogInvalid(
            [CatalogError(filename, format_path([]), _("the document is nested too deeply"))]
        ) from None
    if expanded > MAX_EXPANDED_NODES:
        raise CatalogInvalid(
            [
                CatalogError(
                    filename,
                    format_path([]),
                    _(
                        "the document expands to more than %(max)s values through anchors and "
                        "aliases (&, *); write the values out"
                    )
                    % {"max": f"{MAX_EXPANDED_NODES:,}"},
                )
            ]
        )


def _load_yaml(source: str | bytes, filename: str) -> Any:
    if isinstance(source, bytes):
        if len(source) > MAX_CATALOG_BYTES:
            raise CatalogInvalid(
                [CatalogError(filename, format_path([]), _("the file is larger than 2 MB"))]
            )
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise CatalogInvalid(
                [CatalogError(filename, format_path([]), _("the file is not UTF-8 text"))]
            ) from None
    try:
        loader = _StrictLoader(source)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _refuse_expansion(node, filename)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = (
            _("line %(line)s, column %(column)s")
            % {"line": mark.line + 1, "column": mark.column + 1}
            if mark is not None
            else format_path([])
        )
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogInvalid(
            [CatalogError(filename, where, _("not valid YAML: %(problem)s") % {"problem": problem})]
        ) from None


# --- Schema ------------------------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_TYPE_NAMES = {
    "string": gettext_lazy("text"),
    "number": gettext_lazy("a number"),
    "integer": gettext_lazy("a whole number"),
    "boolean": gettext_lazy("true or false"),
    "object": gettext_lazy("a mapping"),
    "array": gettext_lazy("a list"),
    "null": gettext_lazy("nothing (null)"),
}


def _describe_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_error(filename: str, error: SchemaError) -> CatalogError:
    parts = list(error.absolute_path)
    validator = error.validator
    # ``iter_errors`` sets these on every error it yields; the stubs also allow them unset
    # (``jsonschema._utils.Unset``), which only errors built by hand can be.
    instance: Any = error.instance
    schema: Any = error.schema
    validator_value: Any = error.validator_value
    if validator == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        unknown = sorted(k for k in instance if k not in allowed)
        return CatalogError(
            filename,
            format_path(parts + [unknown[0]] if len(unknown) == 1 else parts),
            _("unknown key %(keys)s; allowed keys are %(allowed)s")
            % {"keys": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
        )
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return CatalogError(
            filename,
            format_path(parts + [missing]),
            _("required key %(key)s is missing") % {"key": missing},
        )
    if validator == "type":
        wanted = validator_value
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        message = _("wrong type: expected %(expected)s, got %(value)s") % {
            "expected": _(" or ").join(str(_TYPE_NAMES.get(w, w)) for w in wanted_list),
            "value": _describe_value(instance),
        }
        if "string" in wanted_list and isinstance(instance, int | float):
            message += " " + _("(put it in quotes)")
        return CatalogError(filename, format_path(parts), message)
    if validator == "enum":
        allowed_values = validator_value
        if parts[-2:-1] == ["evidence"]:
            message = _("unknown evidence method %(value)s; use one of %(allowed)s") % {
                "value": _describe_value(instance),
                "allowed": ", ".join(EVIDENCE_CODES),
            }
        else:
            message = _("%(value)s is not one of %(allowed)s") % {
                "value": _describe_value(instance),
                "allowed": ", ".join(str(v) for v in allowed_values),
            }
        return CatalogError(filename, format_path(parts), message)
    if validator == "const":
        return CatalogError(
            filename,
            format_path(parts),
            _("must be %(expected)s") % {"expected": _describe_value(validator_value)},
        )
    if validator == "pattern":
        return CatalogError(
            filename,
            format_path(parts),
            _("%(value)s may hold only letters, digits, dots and dashes")
            % {"value": _describe_value(instance)},
        )
    if validator in ("minimum", "maximum", "exclusiveMinimum", "minItems", "minLength"):
        message = {
            "minimum": _("%(value)s is below the minimum of %(limit)s"),
            "maximum": _("%(value)s is above the maximum of %(limit)s"),
            "exclusiveMinimum": _("%(value)s must be greater than %(limit)s"),
            "minItems": _("must hold at least %(limit)s item(s)"),
            "minLength": _("must not be empty"),
        }[validator]
        return CatalogError(
            filename,
            format_path(parts),
            message % {"value": _describe_value(instance), "limit": validator_value},
        )
    if validator == "uniqueItems":
        return CatalogError(filename, format_path(parts), _("lists the same value twice"))
    return CatalogError(filename, format_path(parts), error.message)


# --- Numbers -----------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """An optional number of a document as a ``Decimal``; None stays None."""
    if value is None:
        return None
    return Decimal(str(value))


def required_decimal(value: int | float | str | Decimal) -> Decimal:
    """A number the schema requires (never None) as a ``Decimal``."""
    return Decimal(str(value))


def canonical_number(value: Any) -> int | float | None:
    """One spelling per number, so that 5, 5.0 and Decimal("5.00") compare and hash alike."""
    if value is None:
        return None
    number = Decimal(str(value)).normalize()
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _percent(share: Decimal) -> str:
    return f"{canonical_number(share * 100)}%"


def report_validity_default(doc: Document) -> int:
    """The report validity of a catalog that names none: as long as the pass it certifies
    (``pass_rule.validity_months``) for a trusted-platform framework, else 12 months."""
    rule = doc.get("pass_rule")
    if doc["kind"] == "trusted_platform" and rule and rule.get("validity_months"):
        return int(rule["validity_months"])
    return REPORT_VALIDITY_MONTHS


# --- Normalisation -----------------------------------------------------------------------------


def normalise(doc: Document) -> Document:
    """Every optional key present with its default and every number canonical.

    Called on documents the schema accepted; the result is what imports store, exports write
    (minus defaults) and ``content_sha256`` hashes.
    """
    kind = doc["kind"]
    default_total = 100 if kind == "comprehensive" else None
    unrated = doc.get("unrated_level") or {}
    normal: Document = {
        "format": FORMAT_VERSION,
        "code": doc["code"],
        "version": doc["version"],
        "kind": kind,
        "name_zh": doc["name_zh"],
        "name_en": doc.get("name_en", ""),
        "provenance": doc.get("provenance", "").strip(),
        "max_rating": doc.get("max_rating", 3),
        "total_weight": canonical_number(doc.get("total_weight", default_total)),
        "ratings": [
            {"rating": r["rating"], "name_zh": r["name_zh"], "name_en": r.get("name_en", "")}
            for r in doc.get("ratings", [])
        ],
        "unrated_level": {
            "name_zh": unrated.get("name_zh", ""),
            "name_en": unrated.get("name_en", ""),
        },
        "report_validity_months": doc.get("report_validity_months", report_validity_default(doc)),
        "dimensions": [],
        "levels": [],
        "vetoes": [],
        "pass_rule": None,
    }
    for dimension in doc["dimensions"]:
        normal["dimensions"].append(
            {
                "code": dimension["code"],
                "name_zh": dimension["name_zh"],
                "name_en": dimension.get("name_en", ""),
                "weight": canonical_number(dimension.get("weight")),
                "indicators": [_normalise_indicator(i) for i in dimension["indicators"]],
            }
        )
    for level in doc.get("levels", []):
        normal["levels"].append(
            {
                "code": level["code"],
                "name_zh": level["name_zh"],
                "name_en": level.get("name_en", ""),
                "min_total": canonical_number(level["min_total"]),
                "min_dimension_share": canonical_number(level.get("min_dimension_share")),
                "min_key_rating": level.get("min_key_rating"),
            }
        )
    for veto in doc.get("vetoes", []):
        normal["vetoes"].append(
            {
                "code": veto["code"],
                "description_zh": veto["description_zh"].strip(),
                "description_en": veto.get("description_en", "").strip(),
                "cap_level": veto.get("cap_level"),
            }
        )
    if doc.get("pass_rule") is not None:
        rule = doc["pass_rule"]
        normal["pass_rule"] = {
            "require_all_mandatory": rule.get("require_all_mandatory", True),
            "min_graded_share": canonical_number(rule["min_graded_share"]),
            "min_graded_rating": rule.get("min_graded_rating", 1),
            "validity_months": rule["validity_months"],
        }
    return normal


def _normalise_indicator(indicator: Document) -> Document:
    quantity = indicator.get("quantity")
    return {
        "code": indicator["code"],
        "name_zh": indicator["name_zh"],
        "name_en": indicator.get("name_en", ""),
        "description_zh": indicator.get("description_zh", "").strip(),
        "description_en": indicator.get("description_en", "").strip(),
        "weight": canonical_number(indicator.get("weight")),
        "key": indicator.get("key", False),
        "type": indicator.get("type"),
        "evidence": list(indicator["evidence"]),
        "quantity": None
        if quantity is None
        else {
            "unit": quantity["unit"],
            "direction": quantity["direction"],
            "interpolate": quantity.get("interpolate", False),
        },
        "rubric": [
            {
                "rating": level["rating"],
                "zh": level["zh"].strip(),
                "en": level.get("en", "").strip(),
                "anchor": canonical_number(level.get("anchor")),
            }
            for level in sorted(indicator["rubric"], key=lambda level: level["rating"])
        ],
    }


def content_sha256(doc: Document) -> str:
    """The hash of a normalised document: equal content gives an equal hash, whatever the file's
    layout, comments or key order.

    ``report_validity_months`` came to format 1 after catalogs had been imported: it is hashed
    only when it differs from its default, so that a catalog imported before keeps its hash and
    importing its file again stays a no-op.
    """
    if doc.get("report_validity_months") == report_validity_default(doc):
        doc = {key: value for key, value in doc.items() if key != "report_validity_months"}
    payload = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- Semantic rules ----------------------------------------------------------------------------


def _semantic_errors(doc: Document, filename: str) -> list[CatalogError]:
    """The rules the schema cannot express, checked on a normalised document."""
    errors: list[CatalogError] = []

    def error(parts: list[str | int], message: str) -> None:
        errors.append(CatalogError(filename, format_path(parts), message))

    kind = doc["kind"]
    max_rating = doc["max_rating"]
    total = to_decimal(doc["total_weight"])
    all_ratings = list(range(max_rating + 1))

    if kind == "comprehensive" and total is None:
        error(["total_weight"], _("a comprehensive framework needs a total weight"))
    if kind == "comprehensive" and doc["pass_rule"] is not None:
        error(["pass_rule"], _("only a trusted-platform framework has a pass rule"))
    if kind == "trusted_platform" and doc["pass_rule"] is None:
        error(["pass_rule"], _("a trusted-platform framework needs a pass rule"))
    if kind == "comprehensive" and not doc["levels"]:
        error(["levels"], _("a comprehensive framework needs at least one level"))

    if doc["ratings"]:
        declared = sorted(r["rating"] for r in doc["ratings"])
        if declared != all_ratings:
            error(
                ["ratings"],
                _("must name exactly the ratings %(expected)s, found %(found)s")
                % {"expected": _list(all_ratings), "found": _list(declared)},
            )

    _duplicates(
        error, [(["dimensions", i, "code"], d["code"]) for i, d in enumerate(doc["dimensions"])]
    )
    _duplicates(
        error,
        [
            (["dimensions", i, "indicators", j, "code"], ind["code"])
            for i, d in enumerate(doc["dimensions"])
            for j, ind in enumerate(d["indicators"])
        ],
    )
    _duplicates(error, [(["levels", i, "code"], lv["code"]) for i, lv in enumerate(doc["levels"])])
    _duplicates(error, [(["vetoes", i, "code"], v["code"]) for i, v in enumerate(doc["vetoes"])])

    # Weights.
    indicator_sum = Decimal(0)
    dimension_sum = Decimal(0)
    dimensions_weighted = [d["weight"] is not None for d in doc["dimensions"]]
    for i, dimension in enumerate(doc["dimensions"]):
        where: list[str | int] = ["dimensions", i]
        if total is None and dimension["weight"] is not None:
            error(where + ["weight"], _("a weight is given but the framework has no total_weight"))
        dimension_indicator_sum = Decimal(0)
        for j, indicator in enumerate(dimension["indicators"]):
            at = where + ["indicators", j]
            weight = to_decimal(indicator["weight"])
            if total is not None and weight is None:
                error(
                    at + ["weight"],
                    _("indicator %(code)s needs a weight") % {"code": indicator["code"]},
                )
            if total is None and weight is not None:
                error(at + ["weight"], _("a weight is given but the framework has no total_weight"))
            dimension_indicator_sum += weight or 0
            _indicator_errors(error, at, indicator, kind=kind, max_rating=max_rating)
        indicator_sum += dimension_indicator_sum
        if dimension["weight"] is not None:
            dimension_sum += to_decimal(dimension["weight"]) or 0
            if total is not None and dimension_indicator_sum != to_decimal(dimension["weight"]):
                error(
                    where + ["weight"],
                    _(
                        "the indicators of dimension %(code)s weigh %(sum)s in total, "
                        "but the dimension declares %(declared)s"
                    )
                    % {
                        "code": dimension["code"],
                        "sum": canonical_number(dimension_indicator_sum),
                        "declared": dimension["weight"],
                    },
                )
    if total is not None:
        if indicator_sum != total:
            error(
                ["total_weight"],
                _("the indicator weights sum to %(sum)s, but total_weight is %(total)s")
                % {"sum": canonical_number(indicator_sum), "total": canonical_number(total)},
            )
        if any(dimensions_weighted) and not all(dimensions_weighted):
            error(["dimensions"], _("give a weight to every dimension or to none"))
        elif all(dimensions_weighted) and dimension_sum != total:
            error(
                ["dimensions"],
                _("the dimension weights sum to %(sum)s, but total_weight is %(total)s")
                % {"sum": canonical_number(dimension_sum), "total": canonical_number(total)},
            )

    # Levels: ordered from the lowest, every threshold at least as strict as the one before.
    previous: Document | None = None
    for i, level in enumerate(doc["levels"]):
        at = ["levels", i]
        if total is not None and required_decimal(level["min_total"]) > total:
            error(
                at + ["min_total"],
                _("%(value)s is above the total weight %(total)s")
                % {"value": level["min_total"], "total": canonical_number(total)},
            )
        if level["min_key_rating"] is not None and level["min_key_rating"] > max_rating:
            error(
                at + ["min_key_rating"],
                _("%(value)s is above the highest rating %(max)s")
                % {"value": level["min_key_rating"], "max": max_rating},
            )
        if previous is not None:
            for key, strict in (
                ("min_total", True),
                ("min_dimension_share", False),
                ("min_key_rating", False),
            ):
                now, before = level[key] or 0, previous[key] or 0
                if now < before or (strict and now == before):
                    error(
                        at + [key],
                        _(
                            "levels must be listed from the lowest and each must be stricter: "
                            "%(key)s of level %(code)s (%(value)s) is %(relation)s that of "
                            "level %(previous)s (%(before)s)"
                        )
                        % {
                            "key": key,
                            "code": level["code"],
                            "value": now,
                            "relation": _("not above") if strict else _("below"),
                            "previous": previous["code"],
                            "before": before,
                        },
                    )
        previous = level

    level_codes = {level["code"] for level in doc["levels"]}
    for i, veto in enumerate(doc["vetoes"]):
        if veto["cap_level"] is not None and veto["cap_level"] not in level_codes:
            error(
                ["vetoes", i, "cap_level"],
                _("%(value)s is not the code of a level of this framework (%(codes)s)")
                % {"value": veto["cap_level"], "codes": ", ".join(sorted(level_codes)) or "—"},
            )

    rule = doc["pass_rule"]
    if rule is not None and rule["min_graded_rating"] > max_rating:
        error(
            ["pass_rule", "min_graded_rating"],
            _("%(value)s is above the highest rating %(max)s")
            % {"value": rule["min_graded_rating"], "max": max_rating},
        )
    # A report certifies the pass: it cannot stay valid after the pass has lapsed.
    if rule is not None and doc["report_validity_months"] > rule["validity_months"]:
        error(
            ["report_validity_months"],
            _(
                "%(value)s months is longer than the pass it certifies is valid "
                "(pass_rule.validity_months: %(months)s)"
            )
            % {"value": doc["report_validity_months"], "months": rule["validity_months"]},
        )
    return errors


def _indicator_errors(
    error: Any, at: list[str | int], indicator: Document, *, kind: str, max_rating: int
) -> None:
    code = indicator["code"]
    if kind == "comprehensive" and indicator["type"] is not None:
        error(at + ["type"], _("only trusted-platform requirements have a type (M or G)"))
    if kind == "trusted_platform" and indicator["type"] is None:
        error(at + ["type"], _("requirement %(code)s needs a type, M or G") % {"code": code})
    # A mandatory requirement is met or not met: its rubric has ratings 0 and 1 only.
    top = 1 if indicator["type"] == "M" else max_rating
    expected = list(range(top + 1))
    found = [level["rating"] for level in indicator["rubric"]]
    if found != expected:
        error(
            at + ["rubric"],
            _("the rubric of %(code)s must have exactly the ratings %(expected)s, found %(found)s")
            % {"code": code, "expected": _list(expected), "found": _list(found)},
        )
    quantity = indicator["quantity"]
    anchors = [(k, level) for k, level in enumerate(indicator["rubric"])]
    if quantity is None:
        for k, level in anchors:
            if level["anchor"] is not None:
                error(
                    at + ["rubric", k, "anchor"],
                    _("an anchor is given but %(code)s declares no quantity") % {"code": code},
                )
        return
    previous: tuple[int, Decimal] | None = None
    for k, level in anchors:
        anchor = to_decimal(level["anchor"])
        if anchor is None:
            if level["rating"] >= 1:
                error(
                    at + ["rubric", k, "anchor"],
                    _("quantitative indicator %(code)s needs an anchor for rating %(rating)s")
                    % {"code": code, "rating": level["rating"]},
                )
            continue
        if previous is not None:
            better = (
                anchor > previous[1]
                if quantity["direction"] == "higher_is_better"
                else anchor < previous[1]
            )
            if not better:
                error(
                    at + ["rubric", k, "anchor"],
                    _(
                        "the anchor of rating %(rating)s (%(value)s) must be %(better)s than "
                        "that of rating %(previous)s (%(before)s)"
                    )
                    % {
                        "rating": level["rating"],
                        "value": canonical_number(anchor),
                        "better": _("higher")
                        if quantity["direction"] == "higher_is_better"
                        else _("lower"),
                        "previous": previous[0],
                        "before": canonical_number(previous[1]),
                    },
                )
        previous = (level["rating"], anchor)


def _duplicates(error: Any, items: list[tuple[list[str | int], str]]) -> None:
    counts = Counter(code for _where, code in items)
    seen: set[str] = set()
    for where, code in items:
        if counts[code] > 1:
            if code in seen:
                error(where, _("duplicate code %(code)s") % {"code": code})
            seen.add(code)


def _list(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values) or "—"


# --- Entry points ------------------------------------------------------------------------------


def catalog_parse(source: str | bytes, *, filename: str) -> Document:
    """Parses and validates one catalog file; returns the normalised document.

    Raises ``CatalogInvalid`` listing every error found. Never touches the database.
    """
    raw = _load_yaml(source, filename)
    if not isinstance(raw, dict):
        raise CatalogInvalid(
            [CatalogError(filename, format_path([]), _("the file must hold one YAML mapping"))]
        )
    schema_errors = sorted(
        _validator().iter_errors(raw),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path],
    )
    if schema_errors:
        raise CatalogInvalid([_schema_error(filename, e) for e in schema_errors])
    doc = normalise(raw)
    errors = _semantic_errors(doc, filename)
    if errors:
        raise CatalogInvalid(errors)
    return doc


def framework_document(framework: Framework) -> Document:
    """The normalised document of a stored framework (prefetch its tree first for speed)."""
    levels = list(framework.levels.all())
    level_codes = {level.pk: level.code for level in levels}
    try:
        pass_rule = framework.pass_rule
    except ObjectDoesNotExist:
        pass_rule = None
    doc: Document = {
        "format": FORMAT_VERSION,
        "code": framework.code,
        "version": framework.version,
        "kind": framework.kind,
        "name_zh": framework.name_zh,
        "name_en": framework.name_en,
        "provenance": framework.provenance,
        "max_rating": framework.max_rating,
        "total_weight": framework.total_weight,
        "ratings": framework.rating_names,
        "unrated_level": {
            "name_zh": framework.unrated_name_zh,
            "name_en": framework.unrated_name_en,
        },
        "report_validity_months": framework.report_validity_months,
        "dimensions": [
            {
                "code": dimension.code,
                "name_zh": dimension.name_zh,
                "name_en": dimension.name_en,
                "weight": dimension.weight,
                "indicators": [
                    {
                        "code": indicator.code,
                        "name_zh": indicator.name_zh,
                        "name_en": indicator.name_en,
                        "description_zh": indicator.description_zh,
                        "description_en": indicator.description_en,
                        "weight": indicator.weight,
                        "key": indicator.is_key,
                        "type": indicator.requirement_type or None,
                        "evidence": list(indicator.evidence_methods),
                        "quantity": {
                            "unit": indicator.unit,
                            "direction": indicator.direction,
                            "interpolate": indicator.interpolate,
                        }
                        if indicator.direction
                        else None,
                        "rubric": [
                            {
                                "rating": level.rating,
                                "zh": level.text_zh,
                                "en": level.text_en,
                                "anchor": level.anchor,
                            }
                            for level in indicator.rubric.all()
                        ],
                    }
                    for indicator in dimension.indicators.all()
                ],
            }
            for dimension in framework.dimensions.all()
        ],
        "levels": [
            {
                "code": level.code,
                "name_zh": level.name_zh,
                "name_en": level.name_en,
                "min_total": level.min_total,
                "min_dimension_share": level.min_dimension_share,
                "min_key_rating": level.min_key_rating,
            }
            for level in levels
        ],
        "vetoes": [
            {
                "code": veto.code,
                "description_zh": veto.description_zh,
                "description_en": veto.description_en,
                "cap_level": level_codes.get(veto.cap_level_id) if veto.cap_level_id else None,
            }
            for veto in framework.vetoes.all()
        ],
        "pass_rule": {
            "require_all_mandatory": pass_rule.require_all_mandatory,
            "min_graded_share": pass_rule.min_graded_share,
            "min_graded_rating": pass_rule.min_graded_rating,
            "validity_months": pass_rule.validity_months,
        }
        if pass_rule is not None
        else None,
    }
    return normalise(doc)


def _prune(value: Any, *, keep: frozenset[str] = frozenset()) -> Any:
    """Drops keys holding their default (empty text, None, False, empty list) for a tidy file."""
    if isinstance(value, dict):
        pruned = {}
        for key, item in value.items():
            item = _prune(item)
            is_default = item is None or item is False or item in ("", [], {})
            if key in keep or not is_default:
                pruned[key] = item
        return pruned
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


class _FlowList(list):
    """A short list of codes, written inline: ``evidence: [D, T]``."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def _represent_text(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Multi-line text (provenance, descriptions) as a literal block, the way a person writes it.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_text)


def document_dump(doc: Document) -> str:
    """The YAML text of a normalised document, in the documented key order, defaults left out.

    ``total_weight: null`` is kept when empty: for a comprehensive framework absence means 100.
    """
    pruned = _prune(doc)
    if doc["total_weight"] is None:
        pruned = {**pruned, "total_weight": None}
    ordered = {key: pruned[key] for key in doc if key in pruned}
    for dimension in ordered["dimensions"]:
        for indicator in dimension["indicators"]:
            indicator["evidence"] = _FlowList(indicator["evidence"])
    header = "# govcloud_eval indicator catalog (format 1); see docs/catalog-format.md\n"
    return header + yaml.dump(
        ordered, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )
