"""Print: approved records, card preview, print one or a batch with progress, stock, failures.

Printing goes through the station's one print path (:meth:`kiosk.station.Station.print`: stock
check, permit gate, signed checkpoint) in a worker. An interrupted print whose card may be in the
output tray is asked about (:class:`TrayCheckModal`, naming the resident) before anything else
prints; a supervisor books blank cards from here (:class:`BookStockModal`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from textual import work
from textual._context import NoActiveAppError
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static

from kiosk.accounts import Role
from kiosk.i18n import current_language, translate
from kiosk.store import RecordState
from kiosk.tui import services
from kiosk.tui.base import KioskScreen, set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.messages import PrintProgress, StockReport
from kiosk.tui.devices_poll import open_device
from kiosk.tui.pictures import decode_image, picture_widget
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.screens.home import stock_lines
from kiosk.tui.screens.print_modals import (BookStockModal, StockBooked, TrayCheckModal, TrayChecksFound,
                                            TrayResolved)
from kiosk.tui.services import FeatureUnavailable

log = logging.getLogger(__name__)


@dataclass
class ApprovedRecords(Message):
    """The approved records in queue order, and the (NIK, name) of those the screen had not seen
    (each record's identity is decrypted once, in a worker)."""

    order: list[str]
    new: dict[str, tuple[str, str]]


@dataclass
class PrintBatchDone(Message):
    """The print worker went through every record of its batch."""



def tray_checks(station: Any, actor: str) -> list[Any]:
    """The prints whose card may be in the output tray; none when the printer cannot be opened.
    Nothing here keeps a traceback: it would hold the calling worker's frame and its screen."""
    try:
        station.open_printer(actor=actor)
        return list(station.print_desk().tray_checks())
    except Exception as exc:  # no printer / no central key: printing says so in words when asked
        # an expected state: the type and words, never the traceback (a record that keeps one keeps
        # every frame up the stack through f_back, the worker's and its closed screen included)
        log.info("tray check skipped: printer not available (%s: %s)", type(exc).__name__, str(exc)[:200])
        return []

class PrintScreen(KioskScreen):
    KEYS = [
        ("p", "print_one", "tui.key.print_one"),
        ("b", "print_batch", "tui.key.print_batch"),
        ("v", "preview", "tui.key.preview"),
        ("s", "book_stock", "tui.stock.key"),
        ("escape", "close", "tui.key.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stock: StockReport | None = None
        self.preview_text = ""
        self.failures: list[str] = []
        #: record id -> resident's name, from the rows the table shows (messages name the resident)
        self.names: dict[str, str] = {}
        #: record id -> (NIK, name), decrypted once per record by :meth:`load_approved`
        self.identities: dict[str, tuple[str, str]] = {}
        #: the approved records the table shows, in queue order; None until this opening's list is read
        self.approved: list[str] | None = None
        self.asking_tray = False
        #: shown again from the app's kept instance (kiosk.tui.kept): its lists are read again on resume
        self._arriving = False

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="stock", classes="banner")
        with Horizontal(classes="capture"):
            with Vertical(classes="side"):
                yield DataTable(id="approved", cursor_type="row")
                yield ProgressBar(id="print-progress", show_eta=False)
                yield Static(id="print-log")
            with Vertical(classes="side"):
                yield picture_widget(id="card-preview", classes="kept")
                yield Static(id="preview-status")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#approved", DataTable).focus()
        self.query_one("#print-progress", ProgressBar).display = False  # shown once a print runs
        self.load_approved()
        self.poll_stock()
        self.find_tray_checks()

    def closing_with_the_app(self) -> bool:
        """The app is exiting: Textual closes a kept screen's widgets before the screen itself, and a
        worker's answer arriving then finds no widget to show it in (kiosk.tui.kept)."""
        try:
            return not self.app.is_running
        except NoActiveAppError:  # the app has exited already
            return True

    def arrive(self) -> None:
        """The kept screen is about to be shown again (kiosk.tui.kept): it reads its lists on resume."""
        self._arriving = True
        self.approved = None  # no print key acts on the last opening's list

    def on_screen_resume(self) -> None:
        """Shown again: what the last opening said goes (its print lines, preview, progress); the
        table keeps its rows until the list is read again (a printed record's row leaves then, the
        rest are not rebuilt), and the identities of records no longer approved are dropped then."""
        if not self._arriving or not self.is_mounted:
            return
        self._arriving = False
        self.failures, self.preview_text, self.asking_tray, self.names = [], "", False, {}
        self.query_one("#card-preview").image = None
        self.query_one("#print-progress", ProgressBar).display = False
        self.translate_keys()  # F2 may have been pressed while the screen was kept aside
        if self._language != current_language():
            self.refresh_texts()
        else:
            self.show_status()
            self.show_log()
        self.query_one("#approved", DataTable).focus()
        self.load_approved()
        self.poll_stock()
        self.find_tray_checks()
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="print-approved")
    def load_approved(self) -> None:
        """List the approved records and decrypt the identities not in the cache yet (off the event
        loop: a decryption per record per progress message froze the screen during a batch)."""
        store = self.kiosk.store
        known = set(self.identities)  # read-only copy: the event loop owns the cache
        order = [rec.id for rec in store.list(RecordState.APPROVED)]
        new: dict[str, tuple[str, str]] = {}
        for rid in order:
            if rid not in known:
                try:
                    ident = store.identity(rid)
                    new[rid] = (ident.nik, ident.full_name)
                except Exception:  # one unreadable record must not hide the others
                    log.warning("approved record %s: identity not readable", rid, exc_info=True)
                    new[rid] = ("?", rid[:8])
        self.post_message(ApprovedRecords(order, new))

    def on_approved_records(self, msg: ApprovedRecords) -> None:
        if self.closing_with_the_app():
            return
        self.identities.update(msg.new)
        # residents no longer waiting (printed, or refused meanwhile) leave the screen's memory
        self.identities = {rid: self.identities[rid] for rid in msg.order if rid in self.identities}
        self.approved = list(self.identities)
        # names stay for the opening: the messages of a batch name records that left the list meanwhile
        self.names.update({rid: self.identities[rid][1] for rid in self.approved})
        self.show_rows()

    def actor(self) -> str:
        user = self.kiosk.user
        return user.name if user else "?"

    def printer(self) -> Any:
        """The station's card printer, opened (in a worker); FeatureUnavailable when none is configured."""
        printer = self.kiosk.devices.of_kind("printer")
        if printer is None:
            raise FeatureUnavailable(feature="no_printer")
        open_device(printer)
        return printer

    @work(thread=True, exclusive=True, group="print-stock")
    def poll_stock(self) -> None:
        try:
            printer = self.printer()
        except Exception as exc:  # the book's figures still count; the printer's problem is shown
            self.post_message(StockReport(None, exc))
            printer = None
        try:
            self.post_message(StockReport(services.stock_levels(self.kiosk.store, self.kiosk.cfg, printer)))
        except Exception as exc:
            self.post_message(StockReport(None, exc))

    def on_stock_report(self, msg: StockReport) -> None:
        if self.closing_with_the_app():
            return
        if msg.supplies is None and self.stock is not None and self.stock.supplies is not None:
            self.failures.append(problem_words(msg.problem) if msg.problem else "")
            self.show_log()
        else:
            self.stock = msg
            self.show_stock()

    def selected(self) -> str | None:
        table = self.query_one("#approved", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    #: the language the texts were last written in
    _language = ""

    def refresh_texts(self) -> None:
        """Every text in the current language (on mount and F2): the table's columns are re-made."""
        self._language = current_language()
        table = self.query_one("#approved", DataTable)
        table.clear(columns=True)
        table.add_column(translate("tui.field.nik"), key="nik")
        table.add_column(translate("tui.field.full_name"), key="name")
        self.show_rows()
        self.show_stock()
        self.show_status()
        self.show_log()

    # each part of the screen is re-drawn on its own, when its data changed: a batch's progress
    # messages (several per card) rebuilt the whole table each time (tui_day)
    def show_rows(self) -> None:
        """The table follows ``approved`` row by row (rows are keyed by record id): a printed record's
        row leaves, a newly approved one is added; the rest are not touched."""
        table = self.query_one("#approved", DataTable)
        if self.approved is None:  # not read yet: the rows shown stay until it is
            return
        wanted = self.approved
        shown = [str(row.value) for row in table.rows]
        for rid in shown:
            if rid not in wanted:
                table.remove_row(rid)
        kept = [rid for rid in shown if rid in wanted]
        if kept != [rid for rid in wanted if rid in kept]:  # the queue order changed: rows again, in order
            for rid in kept:
                table.remove_row(rid)
            kept = []
        for rid in wanted:
            if rid not in kept:
                nik, name = self.identities[rid]
                table.add_row(nik, name, key=rid)
        self.show_status()

    def show_stock(self) -> None:
        set_text(self.query_one("#stock", Static), "  ".join(stock_lines(self.stock)))

    def show_status(self) -> None:
        # "none waiting" follows the rows: the list loads in a worker, and a message written while
        # it was still empty must not stay next to the records that arrived
        status = self.preview_text if self.approved != [] else translate("tui.print.none")
        set_text(self.query_one("#preview-status", Static), status)

    def show_log(self) -> None:
        set_text(self.query_one("#print-log", Static), "\n".join(self.failures[-5:]))

    @work(thread=True, exclusive=True, group="print-preview")
    def preview(self, record_id: str) -> None:
        try:
            png = services.card_preview(self.kiosk.store, record_id)
            self.app.call_from_thread(self.show_preview, png, "")
        except Exception as exc:
            self.app.call_from_thread(self.show_preview, None, problem_words(exc))

    def show_preview(self, png: bytes | None, text: str) -> None:
        self.query_one("#card-preview").image = None if png is None else decode_image(png)
        self.preview_text = text
        self.show_status()

    def action_preview(self) -> None:
        rid = self.selected()
        if rid:
            self.preview(rid)

    # -- interrupted prints: the output tray ----------------------------------------------------
    @work(thread=True, exclusive=True, group="print-job")
    def find_tray_checks(self) -> None:
        """Open the printer (the station's start-up recovery runs) and list the prints whose card
        may be in the output tray."""
        checks = tray_checks(self.kiosk.station, self.actor())
        if checks:
            self.post_message(TrayChecksFound(checks))

    def on_tray_checks_found(self, msg: TrayChecksFound) -> None:
        if self.closing_with_the_app():
            return
        if self.asking_tray or not msg.checks:
            return
        check, who = msg.checks[0]
        self.asking_tray = True
        words = who.words()

        def answered(good: bool | None) -> None:
            self.asking_tray = False
            if good is None:
                self.failures.append(f"[yellow]{translate('print.tray_pending', **words)}[/yellow]")
                self.show_log()
                return
            self.resolve_tray(check.record_id, good, words)

        self.app.push_screen(TrayCheckModal(words), answered)

    @work(thread=True, exclusive=True, group="print-job")
    def resolve_tray(self, record_id: str, good: bool, words: dict[str, str]) -> None:
        try:
            self.kiosk.station.print_desk().resolve_tray(record_id, good=good, actor=self.actor())
        except Exception as exc:
            self.post_message(TrayResolved(record_id, good, words, exc))
            return
        self.post_message(TrayResolved(record_id, good, words))

    def on_tray_resolved(self, msg: TrayResolved) -> None:
        if self.closing_with_the_app():
            return
        if msg.problem is not None:
            self.failures.append(f"[red]{msg.words['name']}: {problem_words(msg.problem)}[/red]")
        else:
            key = "print.tray_good_booked" if msg.good else "print.tray_bad_booked"
            self.failures.append(f"[green]{translate(key, **msg.words)}[/green]")
        self.show_log()
        self.load_approved()
        self.poll_stock()
        self.find_tray_checks()  # the next one, if several prints were interrupted

    # -- stock ------------------------------------------------------------------------------------
    def action_book_stock(self) -> None:
        user = self.kiosk.user
        if user is None or user.role is not Role.SUPERVISOR:
            self.failures.append(f"[yellow]{translate('tui.stock.supervisor_only')}[/yellow]")
            self.show_log()
            return

        def booked(count: int | None) -> None:
            if count:
                self.book_cards(count)

        self.app.push_screen(BookStockModal(), booked)

    @work(thread=True, exclusive=True, group="print-stock-book")
    def book_cards(self, count: int) -> None:
        try:
            self.kiosk.station.stock().add_cards(count, actor=self.actor())
        except Exception as exc:
            self.post_message(StockReport(None, exc))
            return
        self.post_message(StockBooked(count))

    def on_stock_booked(self, msg: StockBooked) -> None:
        if self.closing_with_the_app():
            return
        self.failures.append(f"[green]{translate('tui.stock.booked', count=msg.count)}[/green]")
        self.show_log()
        self.poll_stock()

    # -- printing -----------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="print-job")
    def print_records(self, record_ids: list[str]) -> None:
        station = self.kiosk.station
        actor = self.actor()
        try:
            station.open_printer(actor=actor)  # the start-up recovery of prints a crash interrupted
            checks = station.print_desk().tray_checks()
        except Exception as exc:
            self.post_message(PrintProgress(record_ids[0], 0, len(record_ids), error=exc))
            return
        if checks:  # first the operator looks in the tray; nothing prints until then
            self.post_message(TrayChecksFound(checks))
            return
        for i, rid in enumerate(record_ids):
            def stage(done: int, total: int, what: str, rid: str = rid, i: int = i) -> None:
                self.post_message(PrintProgress(rid, i, len(record_ids), stage=what))

            try:
                job = station.print(rid, actor=actor, progress=stage).job
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), job=job))
            except Exception as exc:  # the printer's or the gate's reason is shown; the batch goes on
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), error=exc))
        self.post_message(PrintBatchDone())

    def on_print_batch_done(self, msg: PrintBatchDone) -> None:
        """The next workers start from the event loop (a worker started from a worker's thread kept
        its screen referenced after the screen was closed)."""
        if self.closing_with_the_app():
            return
        self.poll_stock()
        self.find_tray_checks()  # an interrupted job (no answer from the printer) is asked about now

    def on_print_progress(self, msg: PrintProgress) -> None:
        """One card's stage or result: the bar, then the line that changed (never the table: the
        printed record leaves it when the list is read again)."""
        if self.closing_with_the_app():
            return
        bar = self.query_one("#print-progress", ProgressBar)
        bar.display = True
        if (bar.total, bar.progress) != (msg.total, msg.done):
            bar.update(total=msg.total, progress=msg.done)
        who = self.names.get(msg.record_id, msg.record_id[:8])
        if msg.error is not None:
            self.failures.append(f"[red]{who}: {problem_words(msg.error)}[/red]")
            self.show_log()
            self.load_approved()
        elif msg.job is not None:
            self.failures.append(f"[green]{who}: {translate('tui.print.printed', job=msg.job)}[/green]")
            self.show_log()
            self.load_approved()  # the printed record leaves the list
        elif msg.stage:
            words = translate(f"print.stage.{msg.stage}")
            self.preview_text = translate("tui.print.stage", record=who,
                                          stage=msg.stage if words == f"print.stage.{msg.stage}" else words)
            self.show_status()

    def start_printing(self, record_ids: list[str]) -> None:
        """The key is answered at once: the progress bar shows the batch at 0 before the worker opens
        the printer (the first card's stage comes from the worker, a printer's answer later)."""
        bar = self.query_one("#print-progress", ProgressBar)
        bar.display = True
        bar.update(total=len(record_ids), progress=0)
        self.print_records(record_ids)

    def action_print_one(self) -> None:
        rid = self.selected() if self.approved else None  # not before this opening's list is read
        if rid:
            self.start_printing([rid])

    def action_print_batch(self) -> None:
        ids = list(self.approved or ())  # the records the table shows (read in a worker), in queue order
        if ids:
            self.start_printing(ids)

    def action_close(self) -> None:
        self.app.pop_screen()
