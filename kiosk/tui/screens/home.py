"""Home: station health at a glance: devices, network, queue, today's work, stock, progress."""

from __future__ import annotations

import logging
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Grid
from textual.css.query import NoMatches
from textual.widgets import Static

from kiosk.devices.base import DeviceState
from kiosk.i18n import local_time, number, station_zone, translate
from kiosk.store import RecordState
from kiosk.tui import services
from kiosk.tui.base import KioskScreen, set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_report
from kiosk.tui.messages import DeviceReport, DraftsFound, NetworkReport, QueueReport, StockReport
from kiosk.tui.screens.device_help import DEVICE_KINDS, device_label, problem_words, with_device_label

log = logging.getLogger(__name__)

#: home key -> screen name (ROLE_SCREENS decides which are shown)
SCREEN_OF_ACTION = {"enroll": "enroll", "resume": "enroll", "queue": "queue", "print": "print",
                    "progress": "progress", "diagnostics": "diagnostics"}
DONE_STATES = (RecordState.QUEUED, RecordState.SUBMITTED, RecordState.APPROVED, RecordState.PRINTING,
               RecordState.PRINTED)


def state_words(state: DeviceState | str) -> str:
    return translate(f"tui.device.state.{state}")


def network_report(app: Any) -> NetworkReport:
    """The station's network and sync state (worker side), or why it is unknown."""
    try:
        state = services.network_state(app.store, app.sync)
    except Exception as exc:
        return NetworkReport(None, exc)
    return NetworkReport(state, app.sync_problem if app.sync is None else None)


def recorded_total(counts: dict[str, int]) -> int:
    """Residents recorded: every record past capture that the central has not refused."""
    return sum(counts.get(s.value, 0) for s in DONE_STATES)


def target_line(done: int, target: int) -> str:
    """The district's progress against its target, numbers written as the operator reads them."""
    if not target:
        return translate("tui.progress.no_target", done=number(done))
    return translate("tui.home.target", done=number(done), target=number(target),
                     pct=number(100 * done / target, 1))


def queue_report(store: Any, today: str) -> QueueReport:
    """Records per state and today's recordings (worker side: SQLite stays off the event loop)."""
    return QueueReport(store.counts(), dict(store.enrolled_per_day(1, station_zone())).get(today, 0))


def network_lines(rep: NetworkReport) -> list[str]:
    """Network state, last sync, bytes waiting; why sync is not running when it is not."""
    assert rep.state is not None
    st = rep.state
    lines = [translate("tui.net." + st.state)]
    lines.append(translate("tui.home.last_sync", when=local_time(st.last_sync) or translate("tui.home.never")))
    lines.append(translate("tui.home.pending", kib=number(st.pending_bytes / 1024)))
    if st.upload_progress is not None:
        done, total = st.upload_progress
        lines.append(translate("tui.net.uploading", done=done, total=total, kib=number(st.bytes_sent / 1024)))
    if rep.problem is not None:
        lines.append(f"[red]{problem_words(rep.problem)}[/red]")
    return lines


def stock_lines(stock: StockReport | None) -> list[str]:
    """Cards booked and ribbon (kiosk.printer.stock levels, the read model ``kiosk stock`` shows)
    with the low-stock warnings."""
    if stock is None:
        return [translate("tui.home.asking")]
    if stock.supplies is None:
        return [problem_words(stock.problem) if stock.problem else translate("tui.home.no_printer")]
    lv = stock.supplies
    lines = [translate("tui.home.stock", cards=number(lv.cards),
                       ribbon="?" if lv.ribbon_panels is None else number(lv.ribbon_panels))]
    lines += [f"[yellow]{translate(code, **params)}[/yellow]" for code, params in lv.warnings]
    return lines


class HomeScreen(KioskScreen):
    KEYS = [
        ("n", "enroll", "tui.key.enroll"),
        ("r", "resume", "tui.key.resume"),
        ("u", "queue", "tui.key.queue"),
        ("p", "print", "tui.key.print"),
        ("g", "progress", "tui.key.progress"),
        ("d", "diagnostics", "tui.key.diagnostics"),
        ("f5", "poll", ""),  # the panels refresh every 5 s by themselves: F5 is not worth footer room
        ("f10", "app.logout", "tui.key.logout"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, DeviceReport] = {}
        self.network: NetworkReport | None = None
        self.stock: StockReport | None = None
        self.queue: QueueReport | None = None
        #: why the last read of the figures failed (None: it did not)
        self.queue_problem: BaseException | None = None
        #: the drafts left open have been looked for once (the offer after login, in a worker)
        self.drafts_checked = False

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="who", classes="banner")
        with Grid(id="home-grid"):
            yield Static(id="devices", classes="panel")
            yield Static(id="queue", classes="panel")
            yield Static(id="network", classes="panel")
            yield Static(id="today", classes="panel")
        yield KioskFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        screen = SCREEN_OF_ACTION.get(action)
        return screen is None or self.kiosk.may_open(screen)

    def on_mount(self) -> None:
        super().on_mount()
        self.action_poll()
        self.set_interval(5.0, self.action_poll)
        if self.kiosk.may_open("enroll"):
            self.find_drafts(auto=True)
        else:
            self.drafts_checked = True

    def on_screen_resume(self) -> None:
        self.refresh_texts()
        self.poll_queue()  # back from an enrollment or the print screen: the counts moved
        self.kiosk.collect_when_idle("home")  # nobody waits on a key here: a due garbage collection

    # -- workers ----------------------------------------------------------------------------------
    def action_poll(self) -> None:
        self.poll_devices()
        self.poll_network()
        self.poll_queue()

    @work(thread=True, exclusive=True, group="home-devices")
    def poll_devices(self) -> None:
        devices = self.kiosk.devices
        for name in devices.names():
            self.post_message(device_report(devices, name, open_first=True))
        printer = None
        try:
            printer = devices.of_kind("printer")
        except Exception as exc:  # driver missing: the device panel already says so
            self.post_message(StockReport(None, exc))
            return
        try:
            levels = services.stock_levels(self.kiosk.store, self.kiosk.cfg, printer)  # type: ignore[arg-type]
            self.post_message(StockReport(levels, None if printer is not None else None))
        except Exception as exc:
            self.post_message(StockReport(None, exc))

    @work(thread=True, exclusive=True, group="home-network")
    def poll_network(self) -> None:
        self.post_message(network_report(self.kiosk))

    @work(thread=True, exclusive=True, group="home-queue")
    def poll_queue(self) -> None:
        """The queue and today's figures: sync moves records between states behind this screen."""
        try:
            self.post_message(queue_report(self.kiosk.store, self.kiosk.today().isoformat()))
        except Exception as exc:  # the panel keeps its last figures and says why; details in the log
            log.warning("queue figures not readable", exc_info=True)
            self.post_message(QueueReport({}, 0, exc))

    def on_queue_report(self, msg: QueueReport) -> None:
        self.queue_problem = msg.problem
        if msg.problem is None:
            self.queue = msg
        self.render_queue()
        self.render_today()

    def on_device_report(self, msg: DeviceReport) -> None:
        self.reports[msg.name] = msg
        self.render_devices()

    def on_network_report(self, msg: NetworkReport) -> None:
        self.network = msg
        self.render_network()

    def on_stock_report(self, msg: StockReport) -> None:
        self.stock = msg
        self.render_today()

    # -- rendering --------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        user = self.kiosk.user
        if user is not None:
            set_text(self.query_one("#who", Static), translate(
                "tui.home.who", name=user.name, role=translate("accounts.role." + user.role.value),
                station=self.kiosk.cfg.station.id))
        self.render_devices()
        self.render_network()
        self.render_queue()
        self.render_today()

    def show_panel(self, selector: str, text: str) -> None:
        """Put ``text`` in a panel, if the screen holds it: a worker's report can be handled while
        the screen is torn down (logout, exit) and its panels are gone; the report is kept and a
        mounted screen shows it on its next render (seen once as NoMatches in a loaded test run)."""
        try:
            panel = self.query_one(selector, Static)
        except NoMatches:
            return
        set_text(panel, text, layout=False)

    # the four panels are cells of #home-grid (kiosk.tcss: a 2x2 grid, .panel height 100%): their size
    # does not follow their text, so a new figure (every 5 s poll, every F2) repaints only the panel
    def render_devices(self) -> None:
        lines = [f"[b]{translate('tui.home.devices')}[/b]"]
        names = self.kiosk.devices.names()
        if not names:
            lines.append(translate("tui.home.no_devices"))
        for name in names:
            rep = self.reports.get(name)
            if rep is not None and rep.kind:
                DEVICE_KINDS.setdefault(name, rep.kind)
            label = device_label(name)
            if rep is None:
                lines.append(f"{label}: {translate('tui.home.asking')}")
            elif rep.status is not None:
                line = f"{label}: {state_words(rep.status.state)}"
                if rep.status.reason:
                    line += f" - {translate(rep.status.reason, **with_device_label(dict(rep.status.params)))}"
                lines.append(line)
            else:
                lines.append(f"{label}: [red]{translate(rep.problem or 'error.generic', **with_device_label(dict(rep.params)))}[/red]")
        self.show_panel("#devices", "\n".join(lines))

    def render_network(self) -> None:
        lines = [f"[b]{translate('tui.home.network')}[/b]"]
        rep = self.network
        if rep is None:
            lines.append(translate("tui.home.asking"))
        elif rep.state is None:
            lines.append(problem_words(rep.problem) if rep.problem else translate("tui.home.asking"))
        else:
            lines += network_lines(rep)
        self.show_panel("#network", "\n".join(lines))

    def render_queue(self) -> None:
        lines = [f"[b]{translate('tui.home.queue')}[/b]"]
        if self.queue is None and self.queue_problem is None:
            lines.append(translate("tui.home.asking"))
        elif self.queue is not None:
            counts = self.queue.counts
            shown = [s for s in RecordState if counts.get(s.value)] or [RecordState.DRAFT, RecordState.QUEUED]
            labels = {state: translate("state." + state.value) for state in shown}
            width = max(14, *(len(label) + 1 for label in labels.values()))  # one column for every state's figure
            for state in shown:
                lines.append(f"{labels[state]:<{width}}{number(counts.get(state.value, 0)):>6}")
        if self.queue_problem is not None:
            lines.append(f"[red]{problem_words(self.queue_problem)}[/red]")
        self.show_panel("#queue", "\n".join(lines))

    def render_today(self) -> None:
        lines = [f"[b]{translate('tui.home.today')}[/b]"]
        if self.queue is None:
            if self.queue_problem is None:  # (a failed read is told once, in the queue panel)
                lines.append(translate("tui.home.asking"))
        else:
            counts = self.queue.counts
            total = recorded_total(counts)
            lines.append(translate("tui.home.today_count", count=number(self.queue.today)))
            if self.kiosk.cfg.station.target:
                lines.append(target_line(total, self.kiosk.cfg.station.target))
        lines += stock_lines(self.stock)
        self.show_panel("#today", "\n".join(lines))

    # -- actions ----------------------------------------------------------------------------------
    def action_enroll(self) -> None:
        self.kiosk.open_screen("enroll")

    def action_resume(self) -> None:
        self.find_drafts(auto=False)

    @work(thread=True, exclusive=True, group="home-drafts")
    def find_drafts(self, auto: bool) -> None:
        """The drafts left open and their residents (decrypted), off the event loop; ``auto``: the
        offer made after login (no key asked for it)."""
        store = self.kiosk.store
        try:
            drafts = store.list(RecordState.DRAFT)
            identities = {rec.id: store.identity(rec.id) for rec in drafts}
        except Exception:  # no offer; the R key asks again, the technician finds why in the log
            log.warning("drafts not readable", exc_info=True)
            drafts, identities = [], {}
        self.post_message(DraftsFound(drafts, identities, auto))

    def on_drafts_found(self, msg: DraftsFound) -> None:
        from kiosk.tui.modals import ResumeDraftModal

        self.drafts_checked = True
        if not msg.drafts:
            if not msg.auto:
                self.notify(translate("tui.resume.none"))
            return
        if msg.auto and self.app.screen is not self:  # the operator moved on: R offers them later
            return
        drafts = {rec.id: rec for rec in msg.drafts}

        def chosen(record_id: str | None) -> None:
            if record_id:
                from kiosk.tui.wizard import resume

                resume(self.kiosk, drafts[record_id], msg.identities.get(record_id))

        modal = ResumeDraftModal(msg.drafts, msg.identities)
        modal.auto_opened = msg.auto  # offered after login: keys typed for the login do not act on it
        self.app.push_screen(modal, chosen)

    def action_queue(self) -> None:
        self.kiosk.open_screen("queue")

    def action_print(self) -> None:
        self.kiosk.open_screen("print")

    def action_progress(self) -> None:
        self.kiosk.open_screen("progress")

    def action_diagnostics(self) -> None:
        self.kiosk.open_screen("diagnostics")


