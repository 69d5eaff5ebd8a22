"""The thread pool that runs the screens' ``@work(thread=True)`` workers.

Textual runs a thread worker with ``loop.run_in_executor(None, ...)``, and the worker sets its
``active_worker`` context variable in the pool thread's own context. An idle pool thread therefore
kept the last worker it ran, and through the worker its screen with every widget, after the screen
had closed (tui_day found the closed print and login screens alive). Each job here runs in a copy
of the submitting context, as ``asyncio.to_thread`` does, so nothing stays behind in the thread.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class FreshContextPool(ThreadPoolExecutor):
    """A thread pool whose jobs each run in a copy of the context they were submitted from."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


def use_fresh_context_pool(loop: asyncio.AbstractEventLoop) -> FreshContextPool:
    """Make the loop's default executor (the one Textual's thread workers use) a FreshContextPool."""
    pool = FreshContextPool(thread_name_prefix="kiosk-worker")
    loop.set_default_executor(pool)
    return pool
