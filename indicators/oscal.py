"""Catalogs as NIST OSCAL catalogs (JSON), both ways. The mapping is in ``docs/oscal.md``.

Export (``catalog_to_oscal``): a normalised catalog document (``catalog.framework_document``)
becomes one OSCAL 1.1 catalog: dimensions are groups, indicators (or requirements) controls,
everything the portal knows about them props in the portal's namespace ``NS`` and parts (texts),
and the level rules, vetoes and pass rule back-matter resources. Every UUID is a uuid5 of the
framework code, version and element, so the same version always exports the same document.

Import (``oscal_import``): an OSCAL catalog becomes the catalog document the YAML import takes
(``services.framework_import``), so it is validated and stored as a draft the same way. What
OSCAL does not say (weights, evidence methods, rubrics, levels) is filled with placeholders the
admin completes before publishing; what the mapping cannot carry (nested groups, params, links,
unknown parts and props, ...) is listed in the ``OscalImportReport``, never dropped silently.
Pure conversion except ``oscal_import``, which writes through the import service.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import yaml
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts import policy
from accounts.models import User
from accounts.policy import Action

from .catalog import (
    EVIDENCE_CODES,
    CatalogError,
    CatalogInvalid,
    Document,
    canonical_number,
    format_path,
    framework_document,
)
from .models import Framework
from .services import ImportResult, framework_import

# The namespace of every portal-specific prop and part name.
NS = "https://govcloud-eval.example/ns/oscal"
OSCAL_VERSION = "1.1.2"
# uuid5 namespace of the portal's OSCAL documents.
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)
# Largest OSCAL file accepted, in bytes (OSCAL JSON is several times larger than the YAML).
MAX_OSCAL_BYTES = 5 * 1024 * 1024
MEDIA_TYPE = "application/oscal.catalog+json"

_ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FRAMEWORK_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PROP_VALUE = re.compile(r"^\S(.*\S)?$")


# --- Export ------------------------------------------------------------------------------------


def _uuid(doc: Document, element: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, f"{doc['code']}/{doc['version']}/{element}"))


def _num(value: Any) -> str:
    return str(canonical_number(value))


def _prop(name: str, value: Any, *, ns: bool = True, **extra: str) -> list[dict[str, Any]]:
    """A one-prop list, or none when the value is empty (OSCAL prop values are never empty)."""
    if value is None or value == "":
        return []
    text = str(value).strip()
    if not text:
        return []
    prop: dict[str, Any] = {"name": name, "value": text}
    if ns:
        prop["ns"] = NS
    prop.update(extra)
    return [prop]


def _text_part(part_id: str, name: str, prose: str, *, ns: bool = True) -> list[dict[str, Any]]:
    if not prose:
        return []
    part: dict[str, Any] = {"id": part_id, "name": name, "prose": prose}
    if ns:
        part["ns"] = NS
    return [part]


def catalog_to_oscal(doc: Document, *, last_modified: datetime) -> dict[str, Any]:
    """The OSCAL catalog (``{"catalog": ...}``) of a normalised catalog document."""
    metadata_props = [
        *_prop("framework-code", doc["code"]),
        *_prop("kind", doc["kind"]),
        *_prop("title-en", doc["name_en"]),
        *_prop("max-rating", doc["max_rating"]),
        *_prop("total-weight", _num(doc["total_weight"]) if doc["total_weight"] else None),
        *_prop("report-validity-months", doc["report_validity_months"]),
        *_prop("unrated-name-zh", doc["unrated_level"]["name_zh"]),
        *_prop("unrated-name-en", doc["unrated_level"]["name_en"]),
    ]
    for rating in doc["ratings"]:
        rating_group = f"rating-{rating['rating']}"
        metadata_props += _prop("rating-name-zh", rating["name_zh"], group=rating_group)
        metadata_props += _prop("rating-name-en", rating["name_en"], group=rating_group)
    metadata: dict[str, Any] = {
        "title": doc["name_zh"],
        "last-modified": last_modified.isoformat(),
        "version": doc["version"],
        "oscal-version": OSCAL_VERSION,
        "props": metadata_props,
    }
    if doc["provenance"]:
        metadata["remarks"] = doc["provenance"]

    is_trusted = doc["kind"] == "trusted_platform"
    groups = []
    for dimension in doc["dimensions"]:
        group: dict[str, Any] = {
            "id": f"g-{dimension['code']}",
            "class": "domain" if is_trusted else "dimension",
            "title": dimension["name_zh"],
            "props": [
                *_prop("label", dimension["code"], ns=False),
                *_prop("title-en", dimension["name_en"]),
                *_prop(
                    "weight", _num(dimension["weight"]) if dimension["weight"] is not None else None
                ),
            ],
            "controls": [_control(indicator, is_trusted) for indicator in dimension["indicators"]],
        }
        groups.append(group)

    resources = []
    for level in doc["levels"]:
        props = [
            *_prop("resource-type", "level"),
            *_prop("label", level["code"], ns=False),
            *_prop("title-en", level["name_en"]),
            *_prop("min-total", _num(level["min_total"])),
        ]
        if level["min_dimension_share"] is not None:
            props += _prop("min-dimension-share", _num(level["min_dimension_share"]))
        if level["min_key_rating"] is not None:
            props += _prop("min-key-rating", level["min_key_rating"])
        resources.append(
            {
                "uuid": _uuid(doc, f"level/{level['code']}"),
                "title": level["name_zh"],
                "props": props,
            }
        )
    for veto in doc["vetoes"]:
        resource: dict[str, Any] = {
            "uuid": _uuid(doc, f"veto/{veto['code']}"),
            "title": veto["code"],
            "description": veto["description_zh"],
            "props": [
                *_prop("resource-type", "veto"),
                *_prop("label", veto["code"], ns=False),
                *_prop("cap-level", veto["cap_level"]),
            ],
        }
        if veto["description_en"]:
            resource["remarks"] = veto["description_en"]
        resources.append(resource)
    rule = doc["pass_rule"]
    if rule is not None:
        resources.append(
            {
                "uuid": _uuid(doc, "pass-rule"),
                "title": "Pass rule",
                "props": [
                    *_prop("resource-type", "pass-rule"),
                    *_prop("require-all-mandatory", str(rule["require_all_mandatory"]).lower()),
                    *_prop("min-graded-share", _num(rule["min_graded_share"])),
                    *_prop("min-graded-rating", rule["min_graded_rating"]),
                    *_prop("validity-months", rule["validity_months"]),
                ],
            }
        )
    catalog: dict[str, Any] = {
        "uuid": _uuid(doc, "catalog"),
        "metadata": metadata,
        "groups": groups,
    }
    if resources:
        catalog["back-matter"] = {"resources": resources}
    return {"catalog": catalog}


def _control(indicator: Document, is_trusted: bool) -> dict[str, Any]:
    cid = f"c-{indicator['code']}"
    props = [
        *_prop("label", indicator["code"], ns=False),
        *_prop("title-en", indicator["name_en"]),
        *_prop("weight", _num(indicator["weight"]) if indicator["weight"] is not None else None),
        *_prop("key-indicator", "true" if indicator["key"] else None),
        *_prop("requirement-type", indicator["type"]),
    ]
    for method in indicator["evidence"]:
        props += _prop("evidence-method", method)
    quantity = indicator["quantity"]
    if quantity is not None:
        props += _prop("unit", quantity["unit"])
        props += _prop("direction", quantity["direction"])
        props += _prop("interpolate", str(quantity["interpolate"]).lower())
    levels = []
    for level in indicator["rubric"]:
        part: dict[str, Any] = {
            "id": f"{cid}_rating-{level['rating']}",
            "name": "rating-level",
            "ns": NS,
            "props": [
                *_prop("rating", level["rating"]),
                *_prop("anchor", _num(level["anchor"]) if level["anchor"] is not None else None),
            ],
        }
        if level["zh"]:
            part["prose"] = level["zh"]
        english = _text_part(f"{cid}_rating-{level['rating']}-en", "text-en", level["en"])
        if english:
            part["parts"] = english
        levels.append(part)
    parts = [
        *_text_part(f"{cid}_smt", "statement", indicator["description_zh"], ns=False),
        *_text_part(f"{cid}_smt-en", "statement-en", indicator["description_en"]),
        {"id": f"{cid}_rubric", "name": "rubric", "ns": NS, "parts": levels},
    ]
    return {
        "id": cid,
        "class": "requirement" if is_trusted else "indicator",
        "title": indicator["name_zh"],
        "props": props,
        "parts": parts,
    }


def framework_oscal(framework: Framework) -> dict[str, Any]:
    """The OSCAL catalog of a stored framework (its tree prefetched)."""
    stamp = framework.published_at or framework.created_at
    return catalog_to_oscal(framework_document(framework), last_modified=stamp)


def oscal_dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def oscal_filename(framework: Framework) -> str:
    return f"{framework.code}-{framework.version}.oscal.json"


# --- Import ------------------------------------------------------------------------------------


@dataclass
class OscalImportReport:
    """What an OSCAL import could not carry, what it adapted and which values are placeholders.

    Each maps a message to the places (OSCAL paths) it applies to, in document order.
    """

    not_carried: dict[str, list[str]] = field(default_factory=dict)
    adapted: dict[str, list[str]] = field(default_factory=dict)
    placeholders: dict[str, list[str]] = field(default_factory=dict)

    @staticmethod
    def _add(bucket: dict[str, list[str]], message: str, where: str) -> None:
        bucket.setdefault(message, []).append(where)

    def skip(self, message: str, where: str) -> None:
        self._add(self.not_carried, message, where)

    def adapt(self, message: str, where: str) -> None:
        self._add(self.adapted, message, where)

    def placeholder(self, message: str, where: str) -> None:
        self._add(self.placeholders, message, where)

    @property
    def is_complete(self) -> bool:
        return not (self.not_carried or self.adapted or self.placeholders)

    @staticmethod
    def lines(bucket: dict[str, list[str]], limit: int = 5) -> list[str]:
        """One line per message: the message, how many places and the first few of them."""
        out = []
        for message, places in bucket.items():
            shown = ", ".join(places[:limit]) + (" …" if len(places) > limit else "")
            out.append(f"{message} ({len(places)}: {shown})")
        return out


class _Props:
    """The props of one OSCAL object: portal props by name, unknown ones reported."""

    def __init__(self, obj: dict[str, Any], where: str, report: OscalImportReport) -> None:
        self.values: dict[str, list[dict[str, Any]]] = {}
        for k, prop in enumerate(_list(obj.get("props"))):
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
                continue
            name, ns = prop["name"], prop.get("ns")
            if ns == NS or (ns is None and name == "label"):
                self.values.setdefault(name, []).append(prop)
            else:
                report.skip(
                    _("prop %(name)s is not carried") % {"name": _prop_label(prop)},
                    f"{where}.props[{k}]",
                )

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        return str(found[0].get("value", "")) if found else None

    def all(self, name: str) -> list[dict[str, Any]]:
        return self.values.get(name, [])


def _prop_label(prop: dict[str, Any]) -> str:
    ns = prop.get("ns")
    return f"{prop['name']} ({ns})" if ns else str(prop["name"])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: str | None) -> int | float | None:
    if value is None:
        return None
    try:
        return canonical_number(Decimal(value))
    except ArithmeticError:
        return None


def _integer(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _item_code(candidates: list[Any], fallback: str) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and _ITEM_CODE.match(candidate) and len(candidate) <= 32:
            return candidate
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(candidates[-1] or fallback)).strip("-._")
    return (text or fallback)[:32]


def _refuse(filename: str, where: str, message: str) -> CatalogInvalid:
    return CatalogInvalid([CatalogError(filename, where, message)])


def oscal_load(source: str | bytes, *, filename: str) -> dict[str, Any]:
    """Parses an OSCAL catalog file (JSON); raises ``CatalogInvalid`` naming the problem."""
    top = format_path([])
    if isinstance(source, bytes):
        if len(source) > MAX_OSCAL_BYTES:
            raise _refuse(filename, top, _("the file is larger than 5 MB"))
        try:
            source = source.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _refuse(filename, top, _("the file is not UTF-8 text")) from None
    try:
        data = json.loads(source)
    except json.JSONDecodeError as exc:
        raise _refuse(
            filename,
            _("line %(line)s, column %(column)s") % {"line": exc.lineno, "column": exc.colno},
            _("not valid JSON: %(problem)s") % {"problem": exc.msg},
        ) from None
    except RecursionError:
        raise _refuse(filename, top, _("the document is nested too deeply")) from None
    if not isinstance(data, dict) or not isinstance(data.get("catalog"), dict):
        other = (
            next((key for key in data if key != "catalog"), None)
            if isinstance(data, dict) and len(data) == 1
            else None
        )
        message = (
            _("not an OSCAL catalog: this file holds an OSCAL %(model)s") % {"model": other}
            if other
            else _('not an OSCAL catalog: the top level must be an object with a "catalog" key')
        )
        raise _refuse(filename, top, message)
    catalog = data["catalog"]
    errors = []
    metadata = catalog.get("metadata")
    if not isinstance(metadata, dict):
        errors.append(CatalogError(filename, "catalog.metadata", _("missing: OSCAL requires it")))
    elif not isinstance(metadata.get("title"), str) or not metadata["title"].strip():
        errors.append(
            CatalogError(filename, "catalog.metadata.title", _("missing: OSCAL requires it"))
        )
    controls = 0
    for where, key, obj in [("catalog", "catalog", catalog), *_walk(catalog)]:
        if not isinstance(obj, dict):
            errors.append(CatalogError(filename, where, _("must be an object")))
            continue
        for child in ("groups", "controls"):
            if child in obj and not isinstance(obj[child], list):
                errors.append(CatalogError(filename, f"{where}.{child}", _("must be a list")))
        if key == "catalog":
            continue
        if not isinstance(obj.get("title"), str) or not obj["title"].strip():
            errors.append(CatalogError(filename, f"{where}.title", _("missing: OSCAL requires it")))
        if key == "controls":
            controls += 1
            if not isinstance(obj.get("id"), str) or not obj["id"].strip():
                errors.append(
                    CatalogError(filename, f"{where}.id", _("missing: OSCAL requires it"))
                )
    if not controls:
        errors.append(
            CatalogError(filename, "catalog", _("the catalog has no controls: nothing to import"))
        )
    if errors:
        raise CatalogInvalid(errors)
    return catalog


def _walk(obj: dict[str, Any], where: str = "catalog") -> Iterator[tuple[str, str, Any]]:
    """Every group and control below ``obj``: its path, ``groups`` or ``controls``, itself."""
    for key in ("groups", "controls"):
        for n, child in enumerate(_list(obj.get(key))):
            path = f"{where}.{key}[{n}]"
            yield path, key, child
            if isinstance(child, dict):
                yield from _walk(child, path)


_CATALOG_KEYS = {"uuid", "metadata", "groups", "controls", "back-matter"}
_METADATA_KEYS = {"title", "version", "last-modified", "oscal-version", "published", "props"}
_METADATA_KEYS |= {"remarks"}
_GROUP_KEYS = {"id", "class", "title", "props", "controls", "groups"}
_CONTROL_KEYS = {"id", "class", "title", "props", "parts", "controls"}
_METADATA_PROPS = {
    "framework-code",
    "kind",
    "title-en",
    "max-rating",
    "total-weight",
    "report-validity-months",
    "unrated-name-zh",
    "unrated-name-en",
    "rating-name-zh",
    "rating-name-en",
}
_GROUP_PROPS = {"label", "title-en", "weight"}
_CONTROL_PROPS = {"label", "title-en", "weight", "key-indicator", "requirement-type"}
_CONTROL_PROPS |= {"evidence-method", "unit", "direction", "interpolate"}


def _skip_keys(obj: dict[str, Any], known: set[str], where: str, report: OscalImportReport) -> None:
    for key in obj:
        if key not in known:
            report.skip(_("%(key)s is not carried") % {"key": key}, f"{where}.{key}")


def _skip_props(props: _Props, known: set[str], where: str, report: OscalImportReport) -> None:
    for name in props.values:
        if name not in known:
            report.skip(_("prop %(name)s is not carried") % {"name": name}, f"{where}.props")


def oscal_to_catalog(
    catalog: dict[str, Any],
    *,
    filename: str,
    code: str = "",
    version: str = "",
) -> tuple[Document, OscalImportReport]:
    """The catalog document (as the YAML import takes it) of a loaded OSCAL catalog, and the
    report of what was not carried, adapted or filled with placeholders.

    ``code`` and ``version``, if given, replace the catalog's own (its ``framework-code`` prop,
    else a slug of the file name; its metadata version).
    """
    report = OscalImportReport()
    _skip_keys(catalog, _CATALOG_KEYS, "catalog", report)
    metadata = catalog["metadata"]
    _skip_keys(metadata, _METADATA_KEYS, "catalog.metadata", report)
    meta = _Props(metadata, "catalog.metadata", report)
    _skip_props(meta, _METADATA_PROPS, "catalog.metadata", report)

    if not code:
        code = meta.get("framework-code") or ""
    if not _FRAMEWORK_CODE.match(code or ""):
        stem = filename.rsplit("/", 1)[-1].split(".")[0]
        code = (slugify(code or stem)[:64].strip("-") or "oscal-catalog").lower()
        report.adapt(
            _("the framework code was made from the file name: %(code)s") % {"code": code},
            "catalog.metadata",
        )
    if not version:
        version = str(metadata.get("version") or "")
        cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", version).strip("-._")[:32]
        if cleaned != version:
            report.adapt(
                _("the version %(old)s became %(new)s")
                % {"old": version or "—", "new": cleaned or "1"},
                "catalog.metadata.version",
            )
        version = cleaned or "1"

    kind = meta.get("kind")
    if kind not in ("comprehensive", "trusted_platform"):
        kind = "comprehensive"
        report.placeholder(
            _("the framework kind is not given: imported as a comprehensive evaluation"),
            "catalog.metadata",
        )
    is_trusted = kind == "trusted_platform"
    max_rating = _integer(meta.get("max-rating"))
    if max_rating is None:
        max_rating = 3
        report.placeholder(_("ratings run from 0 to 3"), "catalog.metadata")
    total_weight = _number(meta.get("total-weight"))
    if not is_trusted and total_weight is None:
        total_weight = 100
        report.placeholder(_("the total weight is 100"), "catalog.metadata")

    ratings: dict[int, dict[str, str]] = {}
    for lang in ("zh", "en"):
        for prop in meta.all(f"rating-name-{lang}"):
            group = str(prop.get("group") or "")
            rating = (
                _integer(group.removeprefix("rating-")) if group.startswith("rating-") else None
            )
            if rating is not None:
                ratings.setdefault(rating, {"name_zh": "", "name_en": ""})[f"name_{lang}"] = str(
                    prop.get("value", "")
                )

    doc: Document = {
        "format": 1,
        "code": code,
        "version": version,
        "kind": kind,
        "name_zh": metadata["title"],
        "name_en": meta.get("title-en") or "",
        "provenance": str(metadata.get("remarks") or "")
        or _("Imported from the OSCAL catalog %(file)s.") % {"file": filename},
        "max_rating": max_rating,
        "dimensions": [],
    }
    if not is_trusted:
        doc["total_weight"] = total_weight
    if ratings:
        doc["ratings"] = [{"rating": r, **names} for r, names in sorted(ratings.items())]
    unrated_zh, unrated_en = meta.get("unrated-name-zh"), meta.get("unrated-name-en")
    if unrated_zh:
        doc["unrated_level"] = {"name_zh": unrated_zh, "name_en": unrated_en or ""}
    months = _integer(meta.get("report-validity-months"))
    if months is not None:
        doc["report_validity_months"] = months

    top_controls = _list(catalog.get("controls"))
    if top_controls:
        ungrouped = {"title": _("Controls outside any group"), "controls": top_controls}
        report.adapt(
            _("controls outside any group were put in a dimension of their own"),
            "catalog.controls",
        )
        groups = [*_list(catalog.get("groups")), ungrouped]
    else:
        groups = _list(catalog.get("groups"))
    for g, group in enumerate(groups):
        where = "catalog" if group.get("controls") is top_controls else f"catalog.groups[{g}]"
        dimension = _dimension(
            group, where, g, report, is_trusted=is_trusted, max_rating=max_rating
        )
        if dimension["indicators"]:
            doc["dimensions"].append(dimension)
        else:
            report.skip(_("a group without controls is not carried"), where)

    if not is_trusted:
        _weights(doc, report)
    _back_matter(catalog, doc, report, is_trusted=is_trusted)
    return _drop_none(doc), report


def _drop_none(value: Any) -> Any:
    """Without the keys whose value is missing (the catalog format has no nulls but a few)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _dimension(
    group: dict[str, Any],
    where: str,
    number: int,
    report: OscalImportReport,
    *,
    is_trusted: bool,
    max_rating: int,
) -> Document:
    _skip_keys(group, _GROUP_KEYS, where, report)
    props = _Props(group, where, report)
    _skip_props(props, _GROUP_PROPS, where, report)
    indicators: list[Document] = []
    for c, control in enumerate(_list(group.get("controls"))):
        indicators += _indicators(control, f"{where}.controls[{c}]", report, is_trusted, max_rating)
    for s, sub in enumerate(_list(group.get("groups"))):
        sub_where = f"{where}.groups[{s}]"
        report.skip(
            _(
                "a group nested in a group is not carried as a dimension; its controls were "
                "added to the enclosing dimension"
            ),
            sub_where,
        )
        nested = _dimension(sub, sub_where, s, report, is_trusted=is_trusted, max_rating=max_rating)
        indicators += nested["indicators"]
    return {
        "code": _item_code([props.get("label"), group.get("id")], f"D{number + 1}"),
        "name_zh": str(group["title"]),
        "name_en": props.get("title-en") or "",
        "weight": _number(props.get("weight")),
        "indicators": indicators,
    }


def _indicators(
    control: dict[str, Any],
    where: str,
    report: OscalImportReport,
    is_trusted: bool,
    max_rating: int,
) -> list[Document]:
    """The indicator of ``control`` followed by those of its nested controls."""
    _skip_keys(control, _CONTROL_KEYS, where, report)
    props = _Props(control, where, report)
    _skip_props(props, _CONTROL_PROPS, where, report)
    indicator: Document = {
        "code": _item_code([props.get("label"), control["id"]], "C"),
        "name_zh": str(control["title"]),
        "name_en": props.get("title-en") or "",
        "evidence": [],
    }
    weight = _number(props.get("weight"))
    if weight is not None:
        indicator["weight"] = weight
    if props.get("key-indicator") == "true":
        indicator["key"] = True
    requirement_type = props.get("requirement-type")
    if is_trusted:
        if requirement_type not in ("M", "G"):
            requirement_type = "G"
            report.placeholder(_("requirement type G (graded)"), where)
        indicator["type"] = requirement_type
    for prop in props.all("evidence-method"):
        method = str(prop.get("value", ""))
        if method in EVIDENCE_CODES and method not in indicator["evidence"]:
            indicator["evidence"].append(method)
    if not indicator["evidence"]:
        indicator["evidence"] = ["D"]
        report.placeholder(_("evidence method D (document review)"), where)
    direction = props.get("direction")
    if direction:
        indicator["quantity"] = {
            "unit": props.get("unit") or "",
            "direction": direction,
            "interpolate": props.get("interpolate") == "true",
        }

    rubric: dict[int, Document] = {}
    for p, part in enumerate(_list(control.get("parts"))):
        at = f"{where}.parts[{p}]"
        if not isinstance(part, dict):
            continue
        name, ns = part.get("name"), part.get("ns")
        if name == "statement" and ns is None:
            text, flattened = _flatten(part)
            indicator["description_zh"] = text
            if flattened:
                report.adapt(_("statement items were joined into the description"), at)
        elif name == "statement-en" and ns == NS:
            indicator["description_en"] = str(part.get("prose") or "")
        elif name == "rubric" and ns == NS:
            for k, level in enumerate(_list(part.get("parts"))):
                _rating_level(level, f"{at}.parts[{k}]", rubric, report)
        else:
            label = f"{name} ({ns})" if ns else str(name)
            report.skip(_("part %(name)s is not carried") % {"name": label}, at)
    top = 1 if indicator.get("type") == "M" else max_rating
    missing = [rating for rating in range(top + 1) if rating not in rubric]
    for rating in missing:
        rubric[rating] = {
            "rating": rating,
            "zh": _("To be completed: what rating %(rating)s means") % {"rating": rating},
        }
    if missing:
        report.placeholder(_("rubric texts"), where)
    indicator["rubric"] = [rubric[r] for r in sorted(rubric)]

    found = [indicator]
    for c, child in enumerate(_list(control.get("controls"))):
        child_where = f"{where}.controls[{c}]"
        report.adapt(
            _("a control nested in a control became an indicator of the same dimension"),
            child_where,
        )
        found += _indicators(child, child_where, report, is_trusted, max_rating)
    return found


def _rating_level(
    part: Any, where: str, rubric: dict[int, Document], report: OscalImportReport
) -> None:
    if not isinstance(part, dict) or part.get("name") != "rating-level" or part.get("ns") != NS:
        report.skip(_("a rubric part that is not a rating level is not carried"), where)
        return
    props = _Props(part, where, report)
    rating = _integer(props.get("rating"))
    if rating is None:
        report.skip(_("a rating level without a rating is not carried"), where)
        return
    level: Document = {"rating": rating, "zh": str(part.get("prose") or "")}
    for sub in _list(part.get("parts")):
        if isinstance(sub, dict) and sub.get("name") == "text-en" and sub.get("ns") == NS:
            level["en"] = str(sub.get("prose") or "")
    anchor = _number(props.get("anchor"))
    if anchor is not None:
        level["anchor"] = anchor
    rubric[rating] = level


def _flatten(part: dict[str, Any]) -> tuple[str, bool]:
    """The prose of a statement and of its items (each after its label), and whether it had
    items."""
    lines = [str(part["prose"])] if part.get("prose") else []
    items = [p for p in _list(part.get("parts")) if isinstance(p, dict)]
    for item in items:
        text, _nested = _flatten(item)
        labels = [
            str(p.get("value"))
            for p in _list(item.get("props"))
            if isinstance(p, dict) and p.get("name") == "label"
        ]
        lines.append(f"{labels[0]} {text}" if labels else text)
    return "\n".join(line for line in lines if line), bool(items)


def _weights(doc: Document, report: OscalImportReport) -> None:
    """Equal placeholder weights when any indicator has none."""
    indicators = [i for d in doc["dimensions"] for i in d["indicators"]]
    if not indicators or all("weight" in i for i in indicators):
        return
    total = Decimal(str(doc["total_weight"]))
    share = (total / len(indicators)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    for indicator in indicators:
        indicator["weight"] = canonical_number(share)
    indicators[-1]["weight"] = canonical_number(total - share * (len(indicators) - 1))
    for dimension in doc["dimensions"]:
        dimension["weight"] = None
    report.placeholder(_("weights: the total weight split equally among the indicators"), "catalog")


def _back_matter(
    catalog: dict[str, Any], doc: Document, report: OscalImportReport, *, is_trusted: bool
) -> None:
    back = catalog.get("back-matter")
    resources = _list(back.get("resources")) if isinstance(back, dict) else []
    levels: list[Document] = []
    vetoes: list[Document] = []
    for r, resource in enumerate(resources):
        where = f"catalog.back-matter.resources[{r}]"
        if not isinstance(resource, dict):
            continue
        props = _Props(resource, where, report)
        kind = props.get("resource-type")
        if kind == "level":
            level: Document = {
                "code": props.get("label") or f"level-{len(levels) + 1}",
                "name_zh": str(resource.get("title") or ""),
                "name_en": props.get("title-en") or "",
                "min_total": _number(props.get("min-total")),
            }
            share = _number(props.get("min-dimension-share"))
            if share is not None:
                level["min_dimension_share"] = share
            key_rating = _integer(props.get("min-key-rating"))
            if key_rating is not None:
                level["min_key_rating"] = key_rating
            levels.append(level)
        elif kind == "veto":
            veto: Document = {
                "code": props.get("label") or f"veto-{len(vetoes) + 1}",
                "description_zh": str(resource.get("description") or ""),
                "description_en": str(resource.get("remarks") or ""),
            }
            if props.get("cap-level"):
                veto["cap_level"] = props.get("cap-level")
            vetoes.append(veto)
        elif kind == "pass-rule":
            doc["pass_rule"] = {
                "require_all_mandatory": props.get("require-all-mandatory") != "false",
                "min_graded_share": _number(props.get("min-graded-share")),
                "min_graded_rating": _integer(props.get("min-graded-rating")) or 1,
                "validity_months": _integer(props.get("validity-months")),
            }
        else:
            report.skip(_("a back-matter resource is not carried"), where)
    if levels:
        doc["levels"] = levels
    elif not is_trusted:
        doc["levels"] = [{"code": "basic", "name_zh": _("Basic (placeholder)"), "min_total": 60}]
        report.placeholder(_("one level, basic, reached at 60 points"), "catalog.back-matter")
    if vetoes:
        doc["vetoes"] = vetoes
    if is_trusted and "pass_rule" not in doc:
        doc["pass_rule"] = {"min_graded_share": 0.7, "validity_months": 36}
        report.placeholder(
            _("the pass rule: seven in ten graded requirements rated 1 or more, valid 36 months"),
            "catalog.back-matter",
        )


@dataclass(frozen=True)
class OscalImportResult:
    result: ImportResult
    report: OscalImportReport


def oscal_import(
    *,
    source: str | bytes,
    filename: str,
    acting_user: User | None,
    code: str = "",
    version: str = "",
) -> OscalImportResult:
    """Imports an OSCAL catalog file as a draft framework through ``framework_import`` (the
    same validation, replacement and audit as a YAML file). Raises ``CatalogInvalid`` naming
    every problem (nothing is saved), ``ValidationError`` for a published version with other
    content, ``Denied`` unless an admin (or the system) asks."""
    policy.require(acting_user, Action.CATALOG_MANAGE)
    try:
        catalog = oscal_load(source, filename=filename)
        doc, report = oscal_to_catalog(catalog, filename=filename, code=code, version=version)
    except RecursionError:
        raise _refuse(filename, format_path([]), _("the document is nested too deeply")) from None
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    result = framework_import(source=text, filename=filename, acting_user=acting_user)
    return OscalImportResult(result=result, report=report)
