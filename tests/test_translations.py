from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every entry but the header, read without a po library."""
    entries: list[tuple[str, str, bool]] = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        current, parts = None, {"msgid": "", "msgstr": ""}
        for line in lines:
            if line.startswith("#"):
                continue
            # A plural entry's first form (msgstr[0]) is the one Chinese uses.
            for key, prefix in (
                ("msgid", "msgid "),
                ("msgstr", "msgstr "),
                ("msgstr", "msgstr[0] "),
            ):
                if line.startswith(prefix):
                    current = key
                    line = line[len(prefix) :]
            if line.startswith(("msgid_plural ", "msgstr[")):
                current = None
                continue
            if current and line.startswith('"'):
                parts[current] += line[1:-1]
        if parts["msgid"]:
            entries.append((parts["msgid"], parts["msgstr"], fuzzy))
    return entries


def test_every_string_has_a_chinese_translation() -> None:
    entries = _entries(PO.read_text(encoding="utf-8"))

    assert len(entries) > 50
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert untranslated == []


def test_the_compiled_catalog_is_not_older_than_its_source() -> None:
    mo = PO.with_suffix(".mo")

    assert mo.exists(), "run `make messages` (or scripts/bootstrap.sh) to compile translations"
    assert mo.stat().st_mtime >= PO.stat().st_mtime
