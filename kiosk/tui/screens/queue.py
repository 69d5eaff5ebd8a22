"""Queue: records by state with a filter, each record's step in words, a detail view,
duplicates' answers, the supervisor's look at a local fingerprint match (Ctrl+L), sync status.

The rows (identities and steps, :mod:`kiosk.dedup.journey`) are read in a worker and posted
back as :class:`QueueRows`; the UI thread only fills the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.i18n import catalog, current_language, local_time, translate
from kiosk.store import RecordState
from kiosk.tui import services
from kiosk.tui.base import KioskModal, KioskScreen
from kiosk.tui.messages import NetworkReport
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.screens.home import network_lines, network_report

FILTERS: tuple[RecordState | None, ...] = (None, *RecordState)
#: states whose detail view shows the central's answer (where the resident is recorded, why deleted)
CENTRAL_SAYS = frozenset({RecordState.DUPLICATE, RecordState.DELETED})


@dataclass(frozen=True)
class QueueRow:
    record_id: str
    nik: str
    name: str
    state: RecordState
    #: catalog code and parameters of the record's step (kiosk.dedup.journey)
    step: tuple[str, dict[str, Any]]


@dataclass
class QueueRows(Message):
    rows: list[QueueRow]
    state: RecordState | None


def load_rows(store: Any, state: RecordState | None) -> list[QueueRow]:
    from kiosk.dedup.journey import steps

    records = store.list(state)
    where = steps(store, records)
    out = []
    for rec in records:
        try:
            ident = store.identity(rec.id)
            nik, name = ident.nik, ident.full_name or "-"
        except Exception:  # noqa: BLE001 - purged by retention: the stub keeps no identity
            nik, name = "-", "-"
        out.append(QueueRow(rec.id, nik, name, rec.state, where[rec.id]))
    return out


def decision_words(answer: dict[str, Any]) -> str:
    """The central's answer in words: which record the resident already has, why, deletion request."""
    if not answer.get("decision"):
        return translate("tui.queue.no_decision")
    parts = [translate("tui.queue.decision." + str(answer["decision"]))]
    dup = answer.get("duplicate_of")
    if isinstance(dup, dict):
        parts.append(translate("tui.queue.duplicate_of", record=str(dup.get("record_id", "?"))[:8],
                               station=str(dup.get("station_id", "?")), region=str(dup.get("region", "?"))))
    reason = answer.get("reason")
    if isinstance(reason, dict) and reason.get("code"):
        parts.append(translate(str(reason["code"]), **dict(reason.get("params") or {})))
    if answer.get("deletion"):
        parts.append(translate("tui.queue.deletion." + str(answer["deletion"])))
    return "; ".join(parts)


class QueueScreen(KioskScreen):
    KEYS = [
        ("enter", "detail", "tui.key.detail", True),
        ("f", "filter", "tui.key.filter"),
        ("escape", "close", "tui.key.close"),
        ("f5", "reload", "tui.key.refresh"),
        ("ctrl+l", "local_match", "dedup_flow.key.open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_index = 0
        self.network: NetworkReport | None = None
        self.rows: list[QueueRow] = []

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="queue-filter", classes="banner")
        yield DataTable(id="records", cursor_type="row", zebra_stripes=True)
        yield Static(id="sync-status", classes="hint")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#records", DataTable).focus()
        self.reload_rows()
        self.poll_network()
        # the sync worker moves records (queued -> submitted -> approved...) and uploads: follow it
        self.set_interval(2.0, self.action_reload)

    @work(thread=True, exclusive=True, group="queue-network")
    def poll_network(self) -> None:
        self.post_message(network_report(self.kiosk))

    @work(thread=True, exclusive=True, group="queue-rows")
    def reload_rows(self) -> None:
        state = FILTERS[self.filter_index]
        self.post_message(QueueRows(load_rows(self.kiosk.store, state), state))

    def on_queue_rows(self, msg: QueueRows) -> None:
        if msg.state is not FILTERS[self.filter_index]:
            return  # the filter changed meanwhile: its own rows are on their way
        self.rows = msg.rows
        self.refresh_texts()
        self.refresh_bindings()

    def on_network_report(self, msg: NetworkReport) -> None:
        self.network = msg
        self.refresh_texts()

    def refresh_texts(self) -> None:
        state = FILTERS[self.filter_index]
        self.query_one("#queue-filter", Static).update(translate(
            "tui.queue.filter", state=translate("tui.queue.all") if state is None else translate("state." + state.value)))
        table = self.query_one("#records", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_columns(translate("tui.queue.col_id"), translate("tui.field.nik"), translate("tui.field.full_name"),
                          translate("tui.queue.col_state"), translate("dedup_flow.modal.col_step"))
        for r in self.rows:
            code, params = r.step
            table.add_row(r.record_id[:8], r.nik, r.name, translate("state." + r.state.value),
                          translate(code, **params), key=r.record_id)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        net = self.network
        if net is None:
            text = translate("tui.home.asking")
        elif net.state is None:
            text = problem_words(net.problem) if net.problem else ""
        else:
            text = "\n".join(network_lines(net))
        self.query_one("#sync-status", Static).update(translate("tui.queue.sync", status=text))

    def action_filter(self) -> None:
        self.filter_index = (self.filter_index + 1) % len(FILTERS)
        self.rows = []
        self.refresh_texts()
        self.reload_rows()

    def action_reload(self) -> None:
        self.reload_rows()
        self.poll_network()

    def selected(self) -> QueueRow | None:
        table = self.query_one("#records", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((r for r in self.rows if r.record_id == key), None)

    def on_data_table_row_highlighted(self) -> None:
        self.refresh_bindings()  # Ctrl+L shows only on a held record

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "local_match":
            row = self.selected() if self.is_mounted else None
            return row is not None and row.state is RecordState.HELD
        return True

    def action_detail(self) -> None:
        row = self.selected()
        if row is not None:
            self.app.push_screen(RecordDetail(row.record_id))

    def action_local_match(self) -> None:
        from kiosk.tui.screens.local_match import LocalMatchModal

        row = self.selected()
        if row is not None and row.state is RecordState.HELD:
            self.app.push_screen(LocalMatchModal(row.record_id), lambda _verdict: self.reload_rows())

    def action_close(self) -> None:
        self.app.pop_screen()


def history_words(entry: Any) -> str:
    """One audit entry in the operator's words: states and actions from the catalog, never codes."""
    known = catalog(current_language())
    if entry.to_state:
        before = translate("state." + entry.from_state) if entry.from_state else translate("tui.audit.create")
        move = f"{before} → {translate('state.' + entry.to_state)}"
    elif f"tui.audit.{entry.action}" in known:
        params = dict(entry.params or {})
        if "kind" in params:
            params["kind"] = translate(f"tui.audit.kind.{params['kind']}")
        params.setdefault("position", "?")
        params.setdefault("nfiq2", "-")
        move = translate(f"tui.audit.{entry.action}", **params)
    else:
        move = translate("tui.audit.other", action=entry.action)
    reason = entry.reason or ""
    if reason and reason in known:
        reason = translate(reason)
    return f"{move} {reason}".rstrip()


class RecordDetail(KioskModal[None]):
    """One record: identity, samples, history; for a duplicate (or a record deleted at the
    central) the central's answer, and a duplicate's deletion request."""

    KEYS = [("escape", "close", "tui.key.close"), ("x", "delete_request", "tui.key.delete_request"),
            ("t", "receipt", "tui.key.receipt")]

    def __init__(self, record_id: str) -> None:
        super().__init__()
        self.record_id = record_id
        self.central = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            with VerticalScroll():
                yield Static(id="detail")
        yield KioskFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete_request":
            return self.kiosk.store.get(self.record_id).state is RecordState.DUPLICATE
        if action == "receipt":  # a receipt is for a finished recording (kiosk.receipt.content)
            from kiosk.receipt.content import NO_RECEIPT

            return self.kiosk.store.get(self.record_id).state not in NO_RECEIPT
        return True

    def on_mount(self) -> None:
        super().on_mount()
        if self.kiosk.store.get(self.record_id).state in CENTRAL_SAYS:
            self.fetch_decision()

    @work(thread=True, exclusive=True, group="detail")
    def fetch_decision(self) -> None:
        try:
            text = decision_words(services.central_decision(self.kiosk.store, self.record_id))
        except Exception as exc:
            text = problem_words(exc)
        self.app.call_from_thread(self.show_central, text)

    def show_central(self, text: str) -> None:
        self.central = text
        self.refresh_texts()

    def action_delete_request(self) -> None:
        from kiosk.tui.screens.deletion_request import DeletionRequestModal

        self.app.push_screen(DeletionRequestModal(self.record_id, earlier=self.central),
                             lambda filed: self.fetch_decision() if filed else None)

    def action_receipt(self) -> None:
        from kiosk.tui.screens.receipt_print import print_receipt_now

        print_receipt_now(self.app, self.record_id)

    def refresh_texts(self) -> None:
        store = self.kiosk.store
        rec = store.get(self.record_id)
        ident = store.identity(rec.id)
        lines = [f"[b]{ident.full_name or '-'}[/b]  {ident.nik}",
                 f"{translate('tui.queue.col_state')}: {translate('state.' + rec.state.value)}",
                 f"{translate('tui.queue.col_id')}: {rec.id}",
                 translate("tui.queue.samples", count=len(store.samples(rec.id)),
                           exceptions=len(store.exceptions(rec.id)))]
        if rec.state in CENTRAL_SAYS:
            lines.append(f"{translate('tui.queue.central')}: {self.central or translate('tui.home.asking')}")
        lines.append(f"[b]{translate('tui.queue.history')}[/b]")
        for e in store.audit(rec.id):
            lines.append(f"{local_time(e.ts)} {e.actor} {history_words(e)}")
        self.query_one("#detail", Static).update("\n".join(lines))

    def action_close(self) -> None:
        self.dismiss(None)
