"""The print screen's dialogs: the output-tray question after an interrupted print, and booking
blank cards into stock (a supervisor). Each is a ``ModalScreen[T]`` answering through ``dismiss``;
the print screen does the booking in its workers (kiosk.printer.desk through Station)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

from kiosk.i18n import translate
from kiosk.tui.base import KioskModal
from kiosk.tui.chrome import KioskFooter


@dataclass
class TrayChecksFound(Message):
    """Interrupted prints waiting for the operator: (TrayCheck, Resident) pairs, oldest first."""

    checks: list[tuple[Any, Any]]


@dataclass
class TrayResolved(Message):
    record_id: str
    good: bool
    words: dict[str, str]
    problem: BaseException | None = None


@dataclass
class StockBooked(Message):
    count: int


class TrayCheckModal(KioskModal[bool | None]):
    """"Look in the output tray": True a good card (booked as printed), False bad or absent
    (destroyed, booked as spoiled, a new permit requested), None ask again later. The answers
    book a card, so they take a modifier key (a stray letter typed before the dialog opened
    must not answer it)."""

    KEYS = [("ctrl+y", "good", "tui.tray.good"), ("ctrl+n", "bad", "tui.tray.bad"),
            ("escape", "later", "tui.tray.later")]

    def __init__(self, words: dict[str, str]) -> None:
        super().__init__()
        self.words = words

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(id="title", classes="title")
            yield Static(id="question")
            yield Static(id="answers")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#title", Label).update(translate("tui.tray.title"))
        self.query_one("#question", Static).update(translate("tui.tray.question", **self.words))
        self.query_one("#answers", Static).update(translate("tui.tray.answers"))

    def action_good(self) -> None:
        self.dismiss(True)

    def action_bad(self) -> None:
        self.dismiss(False)

    def action_later(self) -> None:
        self.dismiss(None)


class BookStockModal(KioskModal[int | None]):
    """A supervisor books the blank cards received; returns their number (None: cancelled)."""

    KEYS = [("enter", "book", "tui.stock.book", True), ("escape", "cancel", "tui.stock.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(id="title", classes="title")
            yield Input(id="stock-count", type="integer", max_length=5)
            yield Static(id="stock-error", classes="error")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#title", Label).update(translate("tui.stock.title"))
        field = self.query_one("#stock-count", Input)
        field.placeholder = translate("tui.stock.count")
        field.focus()

    def action_book(self) -> None:
        text = self.query_one("#stock-count", Input).value.strip()
        count = int(text) if text.isdigit() else 0
        if count <= 0:
            self.query_one("#stock-error", Static).update(translate("stock.bad_count", count=text or "0"))
            return
        self.dismiss(count)

    def action_cancel(self) -> None:
        self.dismiss(None)
