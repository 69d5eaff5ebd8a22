"""Diagnostics (technician): each device's open / info / self-test / test capture / exchange log,
the port list (configured ports and the machine's serial ports), the central's reachability, and
the exported diagnostics bundle. The procedure and the words are :mod:`kiosk.diagnostics`, the
same ``kiosk diag`` uses; this screen only runs them in workers and shows the result."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from kiosk.devices.errors import DeviceError
from kiosk.diagnostics.bundle import write_bundle
from kiosk.diagnostics.ports import configured_ports
from kiosk.diagnostics.runner import capture_summary
from kiosk.diagnostics.words import check_words, detail_words, technical_line, where
from kiosk.i18n import number, translate
from kiosk.tui import services
from kiosk.tui.base import KioskScreen
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_report, open_device, reopen_device
from kiosk.tui.messages import DeviceReport, DiagnosticResult
from kiosk.tui.screens.device_help import DEVICE_KINDS, device_label, problem_words


class DiagnosticsScreen(KioskScreen):
    # The device keys are listed under the device table (tui.diag.hint, always shown): in the
    # footer too, "^q Tutup kiosk" fell off an 80-column terminal.
    KEYS = [
        ("o", "run('open')", ""),
        ("i", "run('info')", ""),
        ("t", "run('self_test')", ""),
        ("c", "run('capture')", ""),
        ("l", "run('log')", ""),
        ("s", "rescan", "tui.key.diag_rescan"),
        ("n", "central", "tui.key.diag_central"),
        ("e", "export", "tui.key.diag_export"),
        ("escape", "close", "tui.key.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, DeviceReport] = {}
        self.output = ""

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        with Horizontal(classes="capture"):
            with Vertical(id="diag-left"):
                yield DataTable(id="diag-devices", cursor_type="row")
                yield Static(id="diag-keys")
            with VerticalScroll(id="diag-out-box"):
                yield Static(id="diag-out")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#diag-devices", DataTable).focus()
        self.poll()

    @work(thread=True, exclusive=True, group="diag-poll")
    def poll(self) -> None:
        for name in self.kiosk.devices.names():
            self.post_message(device_report(self.kiosk.devices, name))

    def on_device_report(self, msg: DeviceReport) -> None:
        self.reports[msg.name] = msg
        if msg.kind:
            DEVICE_KINDS.setdefault(msg.name, msg.kind)
        self.refresh_texts()

    def selected(self) -> str | None:
        table = self.query_one("#diag-devices", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def refresh_texts(self) -> None:
        table = self.query_one("#diag-devices", DataTable)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_columns(translate("tui.diag.device"), translate("tui.diag.state"))
        for name in self.kiosk.devices.names():
            rep = self.reports.get(name)
            if rep is None:
                state = translate("tui.home.asking")
            elif rep.status is not None:
                state = translate("tui.device.state." + rep.status.state.value)
            else:
                state = translate(rep.problem or "error.generic", **rep.params)
            table.add_row(device_label(name), state[:40], key=name)
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#diag-keys", Static).update(translate("tui.diag.hint"))
        self.query_one("#diag-out", Static).update(self.output or (
            translate("tui.home.no_devices") if not self.kiosk.devices.names() else translate("tui.diag.results")))

    @staticmethod
    def _named(name: str) -> str:
        """The device in the operator's language, with the name config.toml gives it (the
        technician edits that table)."""
        label = device_label(name)
        return label if label == name or label.endswith(f"({name})") else f"{label} ({name})"

    # -- device actions ---------------------------------------------------------------------------
    def action_run(self, action: str) -> None:
        name = self.selected()
        if name is None:
            self.notify(translate("tui.home.no_devices"), severity="warning")
            return
        self.output = translate("tui.diag.running", device=self._named(name))
        self.refresh_texts()
        self.run_device(name, action)

    @work(thread=True, exclusive=True, group="diag-device")
    def run_device(self, name: str, action: str) -> None:
        try:
            dev = self.kiosk.devices.get(name)
            if action == "open":
                reopen_device(dev)
                self.post_message(DiagnosticResult(name, action, status=dev.status()))
                return
            open_device(dev)
            if action == "info":
                self.post_message(DiagnosticResult(name, action, info=dev.info(), status=dev.status()))
            elif action == "self_test":
                self.post_message(DiagnosticResult(name, action, self_test=dev.self_test()))
            elif action == "log":
                self.post_message(DiagnosticResult(name, action, text=dev.last_exchange()))
            elif action == "capture":
                self.post_message(DiagnosticResult(name, action, text=test_capture(dev, self.kiosk.cfg)))
        except (DeviceError, ImportError, services.FeatureUnavailable) as exc:
            self.post_message(DiagnosticResult(name, action, error=exc))
        except Exception as exc:  # a driver bug is shown, not fatal
            self.post_message(DiagnosticResult(name, action, error=exc))

    def on_diagnostic_result(self, msg: DiagnosticResult) -> None:
        lines = [f"[b]{escape(self._named(msg.name))}: {translate('tui.diag.action.' + msg.action)}[/b]"]
        if msg.error is not None:
            lines.append(f"[red]{escape(problem_words(msg.error))}[/red]")
            lines.append(escape(translate("diag.technical", line=self._technical(msg.name, msg.error))))
        if msg.status is not None:
            lines.append(f"{translate('tui.diag.state')}: {translate('tui.device.state.' + msg.status.state.value)}")
        if msg.info is not None:
            i = msg.info
            lines += [f"{translate('tui.diag.vendor')}: {i.vendor}", f"{translate('tui.diag.model')}: {i.model}",
                      f"{translate('tui.diag.serial')}: {i.serial}", f"{translate('tui.diag.firmware')}: {i.firmware}"]
        if msg.self_test is not None:
            lines.append(translate("tui.diag.passed") if msg.self_test.passed else f"[red]{translate('tui.diag.failed')}[/red]")
            lines += [escape(f"{'✓' if ok else '✗'} {check_words(code)}: {detail_words(detail)}")
                      for code, ok, detail in msg.self_test.checks]
        if msg.text:
            lines.append(escape(msg.text))
        elif msg.action == "log" and msg.error is None:
            lines.append(translate("tui.diag.log_empty"))
        self.output = "\n".join(lines)
        self.refresh_texts()

    def _technical(self, name: str, error: BaseException) -> str:
        try:
            params = self.kiosk.devices.get(name).params
        except Exception:  # the driver could not even be built: the error itself says why
            params = None
        return technical_line(error, device=name, params=params)

    @work(thread=True, exclusive=True, group="diag-other")
    def action_rescan(self) -> None:
        from kiosk.devices.discovery import serial_ports

        pairs = []
        for name in self.kiosk.devices.names():
            try:
                pairs.append((name, self.kiosk.devices.get(name).params))
            except Exception:  # a device whose driver cannot be built has no port to show
                continue
        lines = [f"[b]{translate('diag.ports.configured')}[/b]"]
        for p in configured_ports(pairs):
            if not p.exists:
                lines.append(escape(translate("diag.ports.missing", device=p.device, port=p.port, os_error=p.os_error)))
            elif p.resolves_to:
                lines.append(escape(translate("diag.ports.resolves", device=p.device, port=p.port, target=p.resolves_to)))
            else:
                lines.append(escape(translate("diag.ports.exists", device=p.device, port=p.port)))
        lines += [f"[b]{translate('diag.ports.system')}[/b]"]
        system = serial_ports()
        lines += [escape(f"{s.device} {s.known or s.description} {s.vid}:{s.pid}".rstrip(" :")) for s in system]
        if not system:
            lines.append(translate("tui.diag.no_ports"))
        for name, params in pairs:
            lines.append(escape(f"{name}: {translate('diag.where', where=where(params))}"))
        self.app.call_from_thread(self.show, "\n".join(lines))

    @work(thread=True, exclusive=True, group="diag-other")
    def action_central(self) -> None:
        try:
            check = services.check_central(self.kiosk.sync, self.kiosk.store)
            first = (translate("tui.diag.central_ok_in", ms=number(check.round_trip_ms)) if check.answered
                     else translate("tui.diag.central_down"))
            text = "\n".join([first, *check.status_lines])
        except Exception as exc:
            text = problem_words(exc)
        self.app.call_from_thread(self.show, escape(text))

    @work(thread=True, exclusive=True, group="diag-other")
    def action_export(self) -> None:
        path = write_bundle(self.kiosk.cfg, self.kiosk.devices, self.kiosk.store)
        self.app.call_from_thread(self.show, escape(translate("tui.diag.exported", path=str(path))))

    def show(self, text: str) -> None:
        self.output = text
        self.refresh_texts()

    def action_close(self) -> None:
        self.app.pop_screen()


def test_capture(dev: Any, cfg: Any) -> str:
    """One test capture as ``kiosk diag`` does it, with the quality result in words."""
    if dev.kind == "fingerprint":
        img = dev.capture(0, timeout_s=10.0)
        attempt = services.assess_finger(services.finger_engine(cfg), img, 2)
        h, w = img.pixels.shape[:2]
        lines = [translate("diag.capture.finger", width=w, height=h, ppi=img.ppi),
                 translate("tui.fingers.nfiq2", score=attempt.nfiq2)]
        return "\n".join(lines + [translate(code, **params) for code, params in attempt.report.guidance()])
    summary = detail_words(capture_summary(dev, 2.0))
    if dev.kind == "camera":
        checks = services.face_checks(dev.latest(timeout_s=2.0).image, cfg)
        return "\n".join([summary] + [f"{'✓' if c.passed else '✗'} {translate(c.code, **c.params)}" for c in checks])
    return summary
