"""Print the resident's receipt (tanda terima perekaman, issue 14 §4) from the UI: rendered and
sent to the CUPS queue in a worker, the outcome shown as a notification in plain words.

The worker belongs to the app, not to the screen that asked: the review step closes as soon as
the record is queued, and the receipt prints on while the operator is back on the home screen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from textual.app import App

from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui import dedup_services
from kiosk.tui.screens.device_help import problem_words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceiptOutcome:
    """What came of one receipt: the CUPS job reference, or the error in the operator's words."""

    record_id: str
    job: str | None
    problem: str = ""

    def words(self) -> str:
        if self.job is not None:
            return translate("tui.receipt.printed", job=self.job)
        return translate("tui.receipt.failed", problem=self.problem)


def print_receipt_now(app: App[Any], record_id: str) -> None:
    """Start the print in a thread worker of the app; returns at once."""
    kiosk: Any = app
    app.run_worker(lambda: _print(kiosk, record_id), thread=True, group=f"receipt-{record_id}", exclusive=True,
                   name="receipt")
    app.notify(translate("tui.receipt.sending"))


def receipt_problem(exc: BaseException) -> str:
    """The error in words, the CUPS queue named as the operator knows it ("receipt printer")."""
    if isinstance(exc, KioskError) and "device" in exc.params:
        return translate(exc.code, **{**exc.params, "device": translate("tui.receipt.printer")})
    return problem_words(exc)


def _print(kiosk: Any, record_id: str) -> ReceiptOutcome:
    try:
        job = dedup_services.print_receipt_of(kiosk.store, kiosk.cfg, record_id)
        outcome = ReceiptOutcome(record_id, job)
        log.info("receipt printed", extra={"record_id": record_id, "job": job})
    except Exception as exc:  # noqa: BLE001 - shown in words; the technician's details go to the log
        log.warning("receipt for %s not printed: %r", record_id, exc)
        outcome = ReceiptOutcome(record_id, None, receipt_problem(exc))
    kiosk.call_from_thread(kiosk.notify, outcome.words(), severity="information" if outcome.job else "error",
                           timeout=8)
    return outcome
