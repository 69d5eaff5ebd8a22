"""Progress of long commands (export, ``simulate enroll``, print batches) on the terminal.

A bar from rich (installed with Textual) on stderr when stderr is a terminal; nothing at all
otherwise, so scripts, pipes, ``--json`` and the journal get only the result.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class CommandProgress:
    """``with CommandProgress(words, total) as p: ... p.update(done)``; quiet unless on a TTY."""

    def __init__(self, description: str, total: int, *, enabled: bool | None = None) -> None:
        self.description = description
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "CommandProgress":
        if self.enabled and self.total > 0:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def update(self, done: int, *_: Any) -> None:
        """``done`` items of ``total`` are finished (extra arguments of callbacks are ignored)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
