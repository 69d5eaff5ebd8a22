"""Print: approved records, card preview, print one or a batch with progress, stock, failures."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from kiosk.i18n import current_language, translate
from kiosk.store import RecordState
from kiosk.tui import services
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import PrintProgress, StockReport
from kiosk.tui.devices_poll import open_device
from kiosk.tui.pictures import decode_image, picture_widget
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.screens.home import stock_lines
from kiosk.tui.services import FeatureUnavailable


class PrintScreen(KioskScreen):
    KEYS = [
        ("p", "print_one", "tui.key.print_one"),
        ("b", "print_batch", "tui.key.print_batch"),
        ("v", "preview", "tui.key.preview"),
        ("escape", "close", "tui.key.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stock: StockReport | None = None
        self.preview_text = ""
        self.failures: list[str] = []
        #: approved records shown (id, NIK, name), read and decrypted in a worker, never per message
        self.approved: list[tuple[str, str, str]] | None = None
        self._shown: list[tuple[str, str, str]] | None = None
        self._lang = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="stock", classes="banner")
        with Horizontal(classes="capture"):
            with Vertical(classes="side"):
                yield DataTable(id="approved", cursor_type="row")
                yield ProgressBar(id="print-progress", show_eta=False)
                yield Static(id="print-log")
            with Vertical(classes="side"):
                yield picture_widget(id="card-preview", classes="kept")
                yield Static(id="preview-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#approved", DataTable).focus()
        self.query_one("#print-progress", ProgressBar).display = False  # shown once a print runs
        self.poll_stock()
        self.load_approved()

    @work(thread=True, exclusive=True, group="print-list")
    def load_approved(self) -> None:
        """The approved records with their NIK and name (each identity decrypted once per list)."""
        store = self.kiosk.store
        rows = []
        for rec in store.list(RecordState.APPROVED):
            ident = store.identity(rec.id)
            rows.append((rec.id, ident.nik, ident.full_name))
        self.app.call_from_thread(self.show_approved, rows)

    def show_approved(self, rows: list[tuple[str, str, str]]) -> None:
        self.approved = rows
        self.refresh_texts()

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
        if msg.supplies is None and self.stock is not None and self.stock.supplies is not None:
            self.failures.append(problem_words(msg.problem) if msg.problem else "")
        else:
            self.stock = msg
        self.refresh_texts()

    def selected(self) -> str | None:
        table = self.query_one("#approved", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def refresh_texts(self) -> None:
        self.query_one("#stock", Static).update("  ".join(stock_lines(self.stock)))
        table = self.query_one("#approved", DataTable)
        if self._shown is not self.approved or self._lang != current_language():  # the list or the language changed
            table.clear(columns=True)
            table.add_columns(translate("tui.field.nik"), translate("tui.field.full_name"))
            for rid, nik, name in self.approved or []:
                table.add_row(nik, name, key=rid)
            self._shown, self._lang = self.approved, current_language()
        if self.approved is not None and not table.row_count:
            self.preview_text = translate("tui.print.none")
        self.query_one("#preview-status", Static).update(self.preview_text)
        self.query_one("#print-log", Static).update("\n".join(self.failures[-5:]))

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
        self.refresh_texts()

    def action_preview(self) -> None:
        rid = self.selected()
        if rid:
            self.preview(rid)

    @work(thread=True, exclusive=True, group="print-job")
    def print_records(self, record_ids: list[str]) -> None:
        user = self.kiosk.user
        actor = user.name if user else "?"
        try:
            printer = self.printer()
            gate = services.print_gate(self.kiosk.cfg, self.kiosk.store)
            services.recover_prints(gate, printer, actor)
        except Exception as exc:
            self.post_message(PrintProgress(record_ids[0], 0, len(record_ids), error=exc))
            return
        for i, rid in enumerate(record_ids):
            def stage(done: int, total: int, what: str, rid: str = rid, i: int = i) -> None:
                self.post_message(PrintProgress(rid, i, len(record_ids), stage=what))

            try:
                job = services.print_record(gate, self.kiosk.store, printer, rid, actor, progress=stage)
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), job=job))
            except Exception as exc:  # the printer's or the gate's reason is shown; the batch goes on
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), error=exc))
        self.poll_stock()
        self.load_approved()

    def on_print_progress(self, msg: PrintProgress) -> None:
        bar = self.query_one("#print-progress", ProgressBar)
        bar.display = True
        bar.update(total=msg.total, progress=msg.done)
        if msg.error is not None:
            self.failures.append(f"[red]{msg.record_id[:8]}: {problem_words(msg.error)}[/red]")
        elif msg.job is not None:
            self.failures.append(f"[green]{msg.record_id[:8]}: {translate('tui.print.printed', job=msg.job)}[/green]")
        elif msg.stage:
            words = translate(f"print.stage.{msg.stage}")
            self.preview_text = translate("tui.print.stage", record=msg.record_id[:8],
                                          stage=msg.stage if words == f"print.stage.{msg.stage}" else words)
        self.refresh_texts()

    def action_print_one(self) -> None:
        rid = self.selected()
        if rid:
            self.print_records([rid])

    def action_print_batch(self) -> None:
        ids = [rid for rid, _, _ in self.approved or []]
        if ids:
            self.print_records(ids)

    def action_close(self) -> None:
        self.app.pop_screen()
