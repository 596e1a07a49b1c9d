"""Display helpers for catalogs: pick the Chinese or English field of catalog data, say level
rules in words, name evidence methods."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from indicators.catalog import canonical_number
from indicators.models import EvidenceMethod, Framework, LevelRule

register = template.Library()


def is_chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


@register.filter
def bilingual(obj: Any, field: str) -> str:
    """``{{ indicator|bilingual:"name" }}`` → ``name_zh`` in Chinese, ``name_en`` otherwise
    (falling back to Chinese when the English text is empty). Works on dicts too."""
    get = obj.get if isinstance(obj, dict) else lambda key, default="": getattr(obj, key, default)
    chinese = get(f"{field}_zh", "") or ""
    if is_chinese():
        return chinese
    return get(f"{field}_en", "") or chinese


@register.filter
def evidence_name(code: str) -> str:
    try:
        return str(EvidenceMethod(code).label)
    except ValueError:
        return code


@register.filter
def number(value: Any) -> Any:
    """5.00 → 5, 99.9500 → 99.95."""
    return canonical_number(value) if value is not None else ""


@register.filter
def percent(share: Any) -> str:
    """0.7 → 70%."""
    if share is None:
        return ""
    return f"{canonical_number(Decimal(str(share)) * 100)}%"


@register.filter
def rating_name(framework: Framework, rating: int) -> str:
    for entry in framework.rating_names:
        if entry.get("rating") == rating:
            return bilingual(entry, "name")
    return ""


@register.filter
def level_rule_text(level: LevelRule, framework: Framework) -> str:
    """A level rule in words: "先进级：总分 ≥ 75，各维度得分 ≥ 其权重的 60%，关键指标评分 ≥ 2"."""
    conditions = [_("total ≥ %(total)s") % {"total": canonical_number(level.min_total)}]
    share = level.min_dimension_share
    if share:
        conditions.append(
            _("every dimension ≥ %(percent)s%% of its weight")
            % {"percent": canonical_number(Decimal(share) * 100)}
        )
    key = level.min_key_rating
    if key:
        if key == 1:
            conditions.append(_("no key indicator rated 0"))
        elif key == framework.max_rating:
            conditions.append(_("every key indicator rated %(rating)s") % {"rating": key})
        else:
            conditions.append(_("every key indicator rated ≥ %(rating)s") % {"rating": key})
    return _("%(level)s: %(conditions)s") % {
        "level": bilingual(level, "name"),
        "conditions": _(", ").join(conditions),
    }


# A level check of a score breakdown (``reports.scoring.engine.LevelCheck``) in words, with the
# figure it was judged on: the same sentence on the score page and in the certified report.
_LEVEL_CHECK_TEXT = {
    "min_total": gettext_lazy("Total at least %(required)s (is %(actual)s)"),
    "min_dimension_share": gettext_lazy(
        "Every dimension at least %(required)s%% of its weight (lowest %(actual)s%%)"
    ),
    "min_key_rating": gettext_lazy(
        "Every key indicator rated at least %(required)s (lowest %(actual)s)"
    ),
}
# Where the two-place figure seems to meet the threshold that the exact value misses (a total
# of 74.997 prints as 75.00), the exact value is printed and the miss said in words.
_LEVEL_CHECK_PRECISE = {
    "min_total": gettext_lazy(
        "Total at least %(required)s (is %(precise)s: short of %(required)s)"
    ),
    "min_dimension_share": gettext_lazy(
        "Every dimension at least %(required)s%% of its weight "
        "(lowest %(precise)s%%: short of %(required)s%%)"
    ),
    "min_key_rating": gettext_lazy(
        "Every key indicator rated at least %(required)s "
        "(lowest %(precise)s: short of %(required)s)"
    ),
}


@register.filter
def level_check_text(check: dict[str, Any]) -> str:
    """``{{ check|level_check_text }}``: "总分不低于 75（实得 74.89）", or with the exact figure
    where rounding would mislead: "总分不低于 75（实得 74.997，未达到 75）"."""
    rule = str(check.get("rule", ""))
    precise = check.get("precise")
    text = (_LEVEL_CHECK_PRECISE if precise not in (None, "") else _LEVEL_CHECK_TEXT).get(rule)
    if text is None:
        return rule
    actual = check.get("actual")
    return str(text) % {
        "required": number(check.get("required")),
        "actual": actual if actual not in (None, "") else "—",
        "precise": precise,
    }
