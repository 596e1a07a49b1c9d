"""What can be wrong with the audit chain, in words (``audit.chain.verify_chain``). A check keeps
the kind and its parameters, so the auditor's page says it in the reader's language."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PROBLEMS: dict[str, Promise] = {
    "missing": _(
        "Record #%(expected)s is missing: the chain goes from #%(before)s to #%(after)s "
        "(record id %(id)s)."
    ),
    "moved": _(
        "Record #%(seq)s (id %(id)s) does not follow the record before it: it was moved, or one "
        "before it was replaced."
    ),
    "changed": _("Record #%(seq)s (id %(id)s) was changed after it was sealed."),
    "not_sealed_one": _(
        "Record #%(seq)s (id %(id)s) is not the record sealed at that position on %(when)s."
    ),
    "cut_off": _(
        "Records from #%(first)s on are missing: a seal of %(when)s covered the chain up to "
        "#%(sealed)s, and it now ends at #%(last)s."
    ),
}


def problem_text(kind: str, params: dict[str, object]) -> str:
    return str(PROBLEMS[kind]) % params if kind in PROBLEMS else ""
