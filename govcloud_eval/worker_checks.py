"""Checks a Celery worker runs before it accepts tasks.

Without HarfBuzz subsetting WeasyPrint quietly subsets fonts with fontTools, which takes about
twenty times longer for the CJK fonts of the reports: a worker in that state would render every
report, slowly, instead of failing loudly. So it refuses to start.

``govcloud_eval/celery.py`` imports this module so that the handler is connected.
"""

from __future__ import annotations

from typing import Any

from celery.signals import worker_init

from govcloud_eval.health import harfbuzz_subsetting_available

MESSAGE = (
    "Refusing to start: WeasyPrint cannot subset fonts with HarfBuzz (libharfbuzz-subset "
    ">= 4.1 is missing), so PDF reports would fall back to fontTools, about 20 times slower "
    "for Chinese fonts. Install libharfbuzz-subset0 (Debian/Ubuntu) and start the worker again."
)


class WorkerRefused(SystemExit):
    """Raised from ``worker_init``. A ``SystemExit``, because Celery logs and swallows the
    ``Exception``s that signal handlers raise; this one stops the worker with status 1."""


@worker_init.connect
def require_harfbuzz_subsetting(**kwargs: Any) -> None:
    if not harfbuzz_subsetting_available():
        raise WorkerRefused(MESSAGE)
