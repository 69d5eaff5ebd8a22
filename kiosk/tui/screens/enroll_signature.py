"""Enrollment step 5: the signature. Live ink from the pad, clear and retry, accept."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from kiosk.devices.protocols import PenPoint
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, SignatureInk
from kiosk.tui.pictures import decode_image, picture_widget, render_ink
from kiosk.tui.screens.device_help import action_for, problem_words
from kiosk.tui.wizard import WizardStep


class SignatureScreen(WizardStep):
    STEP = "signature"
    KEYS = WizardStep.KEYS + [
        ("a", "accept", "tui.key.accept"),
        ("r", "clear", "tui.key.clear"),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.points: list[PenPoint] = []
        self.area: tuple[float, float] = (100.0, 50.0)
        self.problem: BaseException | None = None
        #: failed signature checks of the last accept (catalog code, params)
        self.issues: list[tuple[str, dict[str, Any]]] = []
        self.saved = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_steps()
        with Vertical(classes="capture-col"):
            yield picture_widget(id="ink", classes="ink")
            yield Static(id="sig-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.saved = any(s.kind == "signature" for s in self.kiosk.store.samples(self.record_id))
        if self.saved:
            self.query_one("#ink").image = decode_image(self.kiosk.store.sample_data(self.record_id, "signature"))
        self.refresh_texts()
        self.listen()

    @work(thread=True, exclusive=True, group="pad")
    def listen(self, clear: bool = False, reopen: bool = False) -> None:
        worker = get_current_worker()
        try:
            pad = device_of_kind(self.kiosk.devices, "signature", "no_pad")
            reopen_device(pad) if reopen else open_device(pad)
            area = pad.writing_area_mm()  # type: ignore[attr-defined]
            if clear:
                pad.clear()  # type: ignore[attr-defined]
            while not worker.is_cancelled:
                new = pad.read_points(timeout_s=0.1)  # type: ignore[attr-defined]
                if new:
                    self.post_message(SignatureInk(list(new), area))
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("signature", exc))

    def on_signature_ink(self, msg: SignatureInk) -> None:
        if self.saved:  # a kept signature is not added to: clear (R) starts a new one
            return
        self.points.extend(msg.points)
        self.area = msg.area_mm
        self.issues = []
        self.query_one("#ink").image = render_ink(self.points, self.area)
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.problem = msg.error
        self.refresh_texts()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        lines = []
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", translate(action_for(self.problem))]
        elif self.saved and not self.points:
            lines.append(f"[green]{translate('tui.signature.saved')}[/green]")
        elif not self.points:
            lines.append(translate("tui.signature.waiting"))
        else:
            lines.append(translate("tui.signature.points", count=len(self.points)))
        lines += [f"[red]{translate(code, **params)}[/red]" for code, params in self.issues]
        self.query_one("#sig-status", Static).update("\n".join(lines))

    def action_clear(self) -> None:
        self.points, self.issues, self.saved = [], [], False
        reopen = self.problem is not None
        self.problem = None
        self.query_one("#ink").image = None
        self.refresh_texts()
        self.listen(clear=True, reopen=reopen)

    def action_accept(self) -> None:
        """assess_signature, then the card-resolution PNG and the raw points into the record."""
        failed = [c for c in services.signature_checks(self.points, self.kiosk.cfg) if not c.passed]
        if failed:
            self.issues = [(c.code, dict(c.params)) for c in failed if c.code]
            self.refresh_texts()
            return
        try:
            sample = services.save_signature(self.kiosk.store, self.record_id, self.points, self.area, self.kiosk.cfg,
                                             actor=self.actor)
        except KioskError as exc:
            self.notify(problem_words(exc), severity="error")
            return
        self.saved = True
        self.notify(translate("tui.signature.saved"))
        self.points = []
        self.query_one("#ink").image = decode_image(sample.image)
        self.refresh_texts()

    def ready_to_leave(self) -> bool:
        if self.points:
            self.action_accept()
        if self.saved or not self.kiosk.cfg.policy.require_signature:
            return True
        self.notify(translate("tui.signature.needed"), severity="warning")
        return False
