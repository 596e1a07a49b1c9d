from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django import Settings

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# The packages whose strings are translated (tests and benchmarks are not).
SOURCES = ("accounts", "audit", "indicators", "assessments", "reports", "demo", "govcloud_eval")


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


def test_every_string_of_the_code_is_in_the_catalog_and_translated(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extracts the messages afresh, as `make messages` does, into a copy of the catalog, and
    finds none new or untranslated: a string the extraction does not see, or one added without
    its Chinese, fails here rather than showing English in a Chinese page or report.

    makemessages writes into the ``locale`` folder of the tree it walks, so it walks a folder of
    links to the sources with the copy beside them; the real catalog is not touched."""
    for name in (*SOURCES, "templates"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(tmp_path)
    before = PO.stat().st_mtime_ns
    call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, symlinks=True, verbosity=0)
    assert PO.stat().st_mtime_ns == before
    fresh = _entries(
        (tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    )
    assert len(fresh) > 50
    untranslated = sorted(msgid for msgid, msgstr, fuzzy in fresh if not msgstr or fuzzy)
    assert untranslated == [], "run `make messages` and translate these"
