"""Templates hold no code the Content-Security-Policy would refuse to run.

The policy (``CONTENT_SECURITY_POLICY`` in the settings) allows scripts and styles from the
portal's own files only: an inline ``<script>`` block, an ``on…=`` handler, a ``javascript:``
link, a ``<style>`` element or a ``style=""`` attribute in a page is silently ignored by the
browser. This test reads every template, so that a new one fails here, naming the file and the
line, rather than breaking quietly in a browser. Data for scripts goes in ``data-*`` attributes
or in a ``json_script`` block (``<script type="application/json">``, never executed).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *sorted(ROOT.glob("*/templates"))]

# One HTML start tag: its name and its attributes, quoted values kept whole (they may hold ">").
TAG = re.compile(r"<(?P<name>[a-zA-Z][\w:-]*)(?P<attrs>(?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>")
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
HANDLER = re.compile(r"(?:^|[\s\"'}])(on[a-z]+)\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"(?:^|[\s\"'}])style\s*=", re.IGNORECASE)
SRC = re.compile(r"(?:^|\s)src\s*=", re.IGNORECASE)
JSON_TYPE = re.compile(r"""\stype\s*=\s*["']application/(?:ld\+)?json["']""", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted(
        path
        for directory in TEMPLATE_DIRS
        for path in directory.rglob("*")
        if path.suffix in {".html", ".htm", ".svg"}
    )


def _is_page(path: Path) -> bool:
    """Whether a browser shows the template as a page: PDFs (WeasyPrint) and e-mails are not,
    and keep their inline styles."""
    parts = path.relative_to(ROOT).parts
    return "pdf" not in parts and "email" not in parts and "_email" not in path.stem


def inline_code(text: str, *, where: str, page: bool) -> list[str]:
    """What the policy would refuse in a template's ``text``, one "where:line: what" a finding,
    in the order of the lines. Styles are findings only in a ``page``."""
    found: list[tuple[int, str]] = []

    def report(offset: int, what: str) -> None:
        found.append((text.count("\n", 0, offset) + 1, what))

    for tag in TAG.finditer(text):
        name, attrs = tag["name"].lower(), tag["attrs"]
        unquoted = QUOTED.sub('""', attrs)
        if name == "script" and not SRC.search(unquoted) and not JSON_TYPE.search(attrs):
            report(tag.start(), "inline <script> (load a static file with src=)")
        if name == "style" and page:
            report(tag.start(), "<style> element (use a static stylesheet)")
        for handler in HANDLER.finditer(unquoted):
            report(tag.start(), f"inline event handler {handler[1]}= (bind it in a static script)")
        if page and STYLE_ATTRIBUTE.search(unquoted):
            report(tag.start(), 'style="" attribute (use a class)')
    for url in JAVASCRIPT_URL.finditer(text):
        report(url.start(), "javascript: URL")
    return [f"{where}:{line}: {what}" for line, what in sorted(found, key=lambda f: f[0])]


def test_no_template_holds_inline_scripts_handlers_or_styles() -> None:
    templates = _templates()
    assert len(templates) > 50, "the templates were not found"

    found = [
        finding
        for path in templates
        for finding in inline_code(
            path.read_text(encoding="utf-8"),
            where=str(path.relative_to(ROOT)),
            page=_is_page(path),
        )
    ]

    assert found == [], "inline code the Content-Security-Policy refuses:\n" + "\n".join(found)


PROBE = """{% load static %}
<script src="{% static 'js/tables.js' %}" defer></script>
{{ data|json_script:"data" }}<script type="application/json" id="x">{}</script>
<p data-note="onclick=nothing, style=nothing" title="a > b">fine</p>
<script>alert(1)</script>
<button type="button"
        onclick="go()">Go</button>
<a href="javascript:history.back()">Back</a>
<span class="bar" style="width: 3%">x</span>
<style>p { color: red }</style>
"""


def test_the_check_names_each_kind_of_inline_code_with_its_line() -> None:
    assert inline_code(PROBE, where="probe.html", page=True) == [
        "probe.html:5: inline <script> (load a static file with src=)",
        "probe.html:6: inline event handler onclick= (bind it in a static script)",
        "probe.html:8: javascript: URL",
        'probe.html:9: style="" attribute (use a class)',
        "probe.html:10: <style> element (use a static stylesheet)",
    ]


def test_pdf_and_e_mail_templates_keep_their_styles_but_never_scripts() -> None:
    assert not _is_page(ROOT / "templates" / "certified" / "pdf" / "report.html")
    assert not _is_page(ROOT / "templates" / "notifications" / "email" / "notification.html")
    assert not _is_page(ROOT / "templates" / "registration" / "password_reset_email.html")
    assert _is_page(ROOT / "templates" / "base.html")
    assert inline_code(PROBE, where="probe.html", page=False) == [
        "probe.html:5: inline <script> (load a static file with src=)",
        "probe.html:6: inline event handler onclick= (bind it in a static script)",
        "probe.html:8: javascript: URL",
    ]
