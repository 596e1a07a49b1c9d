"""Running pyHanko's coroutines from synchronous code (signing, validation): ``run_sync``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Runs the coroutine ``make()`` to completion and returns its result (or raises its error),
    also from a thread whose event loop is running (an async view, a Celery worker's pool, a
    test driving a browser), where ``asyncio.run`` would refuse: there it runs in a fresh loop
    on a helper thread. ``make`` is a factory so that the coroutine is created in the loop that
    awaits it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
