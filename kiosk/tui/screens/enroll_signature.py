"""Enrollment step: the signature. Live ink from the pad, clear and retry, accept.

A signature starts with the pad's backlog dropped (``discard_pending``) and its ink is drawn
incrementally (:class:`~kiosk.tui.pictures.InkCanvas`) with a bounded amount of drawing per event
(:class:`~kiosk.enroll.signature.SignatureInk`), so the step answers keys whatever the pad sent.
Checking and saving run in a worker. Clearing and accepting take a modifier key (Ctrl+R, Ctrl+A):
a stray letter typed on the way does not throw away or keep a signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from kiosk.devices.protocols import PenPoint
from kiosk.enroll.signature import InkBatcher, SignatureInk
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, SignatureInk as InkMessage
from kiosk.tui.pictures import InkCanvas, decode_image, picture_widget
from kiosk.tui.screens.device_help import action_words, problem_words
from kiosk.tui.wizard import WizardStep


@dataclass
class SignatureChecked(Message):
    """The worker's answer to accept: the stored picture, or the failed checks, or an error."""

    image: bytes | None
    issues: list[tuple[str, dict[str, Any]]]
    error: BaseException | None = None
    then_next: bool = False


@dataclass
class SavedSignature(Message):
    image: bytes | None


class SignatureScreen(WizardStep):
    STEP = "signature"
    KEYS = WizardStep.KEYS + [
        ("ctrl+a", "accept", "tui.key.accept"),
        ("ctrl+r", "clear", "tui.key.clear"),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.ink = SignatureInk()
        self.canvas: InkCanvas | None = None
        self.problem: BaseException | None = None
        #: failed signature checks of the last accept (catalog code, params), shown until the next
        #: Ctrl+A or Ctrl+R
        self.issues: list[tuple[str, dict[str, Any]]] = []
        self.saved = False
        self.saving = False

    @property
    def points(self) -> list[PenPoint]:
        return self.ink.points

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        with Vertical(classes="capture-col"):
            yield picture_widget(id="ink", classes="ink")
            yield Static(id="sig-status")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.load_saved()
        self.listen()

    @work(thread=True, exclusive=True, group="signature-store")
    def load_saved(self) -> None:
        store = self.kiosk.store
        if any(s.kind == "signature" for s in store.samples(self.record_id)):
            self.post_message(SavedSignature(store.sample_data(self.record_id, "signature")))

    def on_saved_signature(self, msg: SavedSignature) -> None:
        if self.ink.points:  # the resident is already signing again
            return
        self.saved = True
        self.query_one("#ink").image = decode_image(msg.image) if msg.image else None
        self.refresh_texts()

    @work(thread=True, exclusive=True, group="pad")
    def listen(self, clear: bool = False, reopen: bool = False) -> None:
        worker = get_current_worker()
        try:
            pad = device_of_kind(self.kiosk.devices, "signature", "no_pad")
            reopen_device(pad) if reopen else open_device(pad)
            area = pad.writing_area_mm()  # type: ignore[attr-defined]
            # a signature starts here: whatever the pen did before (a backlog of minutes) is not part of it
            pad.clear() if clear else pad.discard_pending()  # type: ignore[attr-defined]
            batcher = InkBatcher()  # the screen redraws at most INK_UPDATES_PER_S a second
            while not worker.is_cancelled:
                batch = batcher.add(pad.read_points(timeout_s=0.1))  # type: ignore[attr-defined]
                if batch and not worker.is_cancelled:
                    self.post_message(InkMessage(batch, area))
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("signature", exc))

    def on_signature_ink(self, msg: InkMessage) -> None:
        if self.saved or self.saving:  # a kept signature is not added to: clear (Ctrl+R) starts a new one
            return
        if self.canvas is None or self.canvas.area_mm != msg.area_mm:
            self.canvas = InkCanvas(msg.area_mm)
            self.ink.drawn = 0
        self.ink.add(msg.points, msg.area_mm)
        # the last refusal's reasons stay until the operator acts (Ctrl+R or Ctrl+A): the pen's next
        # report (a lifted pen, a hover) would otherwise wipe them before anyone read them
        self.draw_ink()

    def draw_ink(self) -> None:
        """Draw the next points (a bounded number); come back for the rest after other events."""
        if self.canvas is None or not self.ink.behind:
            return
        prev, points = self.ink.to_draw()
        self.canvas.draw(prev, points)
        self.query_one("#ink").image = self.canvas.snapshot()
        self.refresh_texts()
        if self.ink.behind:
            self.call_later(self.draw_ink)

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.problem = msg.error
        self.refresh_texts()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        lines = []
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", action_words(self.problem, "Ctrl+R")]
        elif self.saved and not self.points:
            lines.append(f"[green]{translate('tui.signature.saved')}[/green] " + translate("tui.signature.saved_next"))
        elif not self.points:
            lines.append(translate("tui.signature.waiting"))
        else:
            lines.append(translate("tui.signature.points", count=len(self.points)))
            lines.append(translate("tui.signature.saving") if self.saving else translate("tui.signature.accept_hint"))
        if self.ink.full:
            lines.append(f"[yellow]{translate('tui.signature.too_long')}[/yellow]")
        lines += [f"[red]{translate(code, **params)}[/red]" for code, params in self.issues]
        set_text(self.query_one("#sig-status", Static), "\n".join(lines))

    def action_clear(self) -> None:
        if self.saving:
            return
        self.ink.clear()
        self.canvas = None
        self.issues, self.saved = [], False
        reopen = self.problem is not None
        self.problem = None
        self.query_one("#ink").image = None
        self.refresh_texts()
        self.listen(clear=True, reopen=reopen)

    def action_accept(self, then_next: bool = False) -> None:
        """Check, then the card-resolution PNG and the raw points into the record (in a worker)."""
        if self.saving or not self.points:
            if not self.points and not self.saved:
                self.issues = [("tui.signature.empty", {})]
                self.refresh_texts()
            return
        self.saving, self.issues = True, []
        self.refresh_texts()  # the operator sees the key taken while the worker checks and saves
        self.check_and_save(list(self.points), self.ink.area_mm, then_next)

    @work(thread=True, exclusive=True, group="signature-store")
    def check_and_save(self, points: list[PenPoint], area: tuple[float, float], then_next: bool) -> None:
        cfg = self.kiosk.cfg
        try:
            failed = [c for c in services.signature_checks(points, cfg) if not c.passed]
            if failed:
                self.post_message(SignatureChecked(None, [(c.code, dict(c.params)) for c in failed if c.code]))
                return
            sample = services.save_signature(self.kiosk.store, self.record_id, points, area, cfg, actor=self.actor)
        except Exception as exc:  # a KioskError in words; anything else is logged by worker_failure
            self.post_message(SignatureChecked(None, [], error=exc))
            return
        self.post_message(SignatureChecked(sample.image, [], then_next=then_next))

    def on_signature_checked(self, msg: SignatureChecked) -> None:
        self.saving = False
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
            self.refresh_texts()  # the "saving" line goes
            return
        if msg.image is None:
            self.issues = msg.issues
            self.refresh_texts()
            return
        self.saved = True
        self.notify(translate("tui.signature.saved"))
        self.ink.clear()
        self.canvas = None
        self.query_one("#ink").image = decode_image(msg.image)
        self.refresh_texts()
        if msg.then_next:
            self.action_next()

    def ready_to_leave(self) -> bool:
        if self.saving:
            return False
        if self.points:
            self.action_accept(then_next=True)
            return False
        if self.saved or not self.kiosk.cfg.policy.require_signature:
            return True
        self.notify(translate("tui.signature.needed"), severity="warning")
        return False
