"""Print: approved records, card preview, print one or a batch with progress, stock, failures."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from kiosk.i18n import translate
from kiosk.store import RecordState
from kiosk.tui import services
from kiosk.tui.base import KioskScreen
from kiosk.tui.messages import PrintProgress, StockReport
from kiosk.tui.pictures import from_bgr, picture_widget
from kiosk.tui.screens.device_help import problem_words


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

    @work(thread=True, exclusive=True, group="print-stock")
    def poll_stock(self) -> None:
        try:
            printer = self.kiosk.devices.of_kind("printer")
            self.post_message(StockReport(printer.supplies() if printer else None))  # type: ignore[attr-defined]
        except Exception as exc:
            self.post_message(StockReport(None, exc))

    def on_stock_report(self, msg: StockReport) -> None:
        self.stock = msg
        self.refresh_texts()

    def selected(self) -> str | None:
        table = self.query_one("#approved", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def refresh_texts(self) -> None:
        stock = self.stock
        if stock is None:
            text = translate("tui.home.asking")
        elif stock.supplies is None:
            text = problem_words(stock.problem) if stock.problem else translate("tui.home.no_printer")
        else:
            s = stock.supplies
            text = translate("tui.home.stock", cards="?" if s.cards_in_hopper is None else s.cards_in_hopper,
                             ribbon="?" if s.ribbon_panels_left is None else s.ribbon_panels_left)
            if s.cards_in_hopper is not None and s.cards_in_hopper < self.kiosk.cfg.stock.low_cards:
                text += "  [yellow]" + translate("tui.stock.low_cards") + "[/yellow]"
            if s.ribbon_panels_left is not None and s.ribbon_panels_left < self.kiosk.cfg.stock.low_ribbon_panels:
                text += "  [yellow]" + translate("tui.stock.low_ribbon") + "[/yellow]"
        self.query_one("#stock", Static).update(text)
        table = self.query_one("#approved", DataTable)
        table.clear(columns=True)
        table.add_columns(translate("tui.field.nik"), translate("tui.field.full_name"))
        store = self.kiosk.store
        for rec in store.list(RecordState.APPROVED):
            ident = store.identity(rec.id)
            table.add_row(ident.nik, ident.full_name, key=rec.id)
        if not table.row_count:
            self.preview_text = translate("tui.print.none")
        self.query_one("#preview-status", Static).update(self.preview_text)
        self.query_one("#print-log", Static).update("\n".join(self.failures[-5:]))

    @work(thread=True, exclusive=True, group="print-preview")
    def preview(self, record_id: str) -> None:
        try:
            image = services.card_preview(self.kiosk.station, record_id)
            self.app.call_from_thread(self.show_preview, image, "")
        except Exception as exc:
            self.app.call_from_thread(self.show_preview, None, problem_words(exc))

    def show_preview(self, image: object, text: str) -> None:
        self.query_one("#card-preview").image = None if image is None else from_bgr(image[:, :, ::-1])  # type: ignore[index]
        self.preview_text = text
        self.refresh_texts()

    def action_preview(self) -> None:
        rid = self.selected()
        if rid:
            self.preview(rid)

    @work(thread=True, exclusive=True, group="print-job")
    def print_records(self, record_ids: list[str]) -> None:
        user = self.kiosk.user
        for i, rid in enumerate(record_ids):
            try:
                job = services.print_record(self.kiosk.station, rid, user.name if user else "?")
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), job=job))
            except Exception as exc:
                self.post_message(PrintProgress(rid, i + 1, len(record_ids), error=exc))

    def on_print_progress(self, msg: PrintProgress) -> None:
        bar = self.query_one("#print-progress", ProgressBar)
        bar.display = True
        bar.update(total=msg.total, progress=msg.done)
        if msg.error is not None:
            self.failures.append(f"{msg.record_id[:8]}: {problem_words(msg.error)}")
        self.refresh_texts()

    def action_print_one(self) -> None:
        rid = self.selected()
        if rid:
            self.print_records([rid])

    def action_print_batch(self) -> None:
        ids = [r.id for r in self.kiosk.store.list(RecordState.APPROVED)]
        if ids:
            self.print_records(ids)

    def action_close(self) -> None:
        self.app.pop_screen()
