"""Enrollment step 3: the face. Live preview, failing checks as instructions, auto or manual capture.

The camera, the analysis, the store (the kept photo read back, the token crop saved) and the image
decoding all run in workers; the event loop only shows the frames and the words. Preview frames
are shown at most PREVIEW_FPS a second, and the words are re-set only when they change.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from kiosk.capture.face import FaceAnalysis
from kiosk.capture.face_capture import FaceCapture
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, FaceAutoCaptured, FaceFrame
from kiosk.tui.pictures import decode_image, from_bgr, picture_widget
from kiosk.tui.screens.device_help import action_words, problem_words
from kiosk.tui.services import QualityCheck
from kiosk.tui.wizard import WizardStep

log = logging.getLogger(__name__)

#: reasons an operator may give for keeping a photo that fails the checks
OVERRIDE_REASONS = ("medical", "disability", "religious_headwear", "equipment", "other")
#: preview frames per second sent to the screen (enough to aim; keeps the terminal light)
PREVIEW_FPS = 5.0


@dataclass
class FaceKept(Message):
    """The photo the record keeps, read back (a resumed draft) or just saved; or why saving failed."""

    picture: Any  # PIL image, or None when it cannot be shown
    error: BaseException | None = None


class FaceScreen(WizardStep):
    STEP = "face"
    KEYS = WizardStep.KEYS + [
        ("c", "capture", "tui.key.capture"),
        ("m", "manual", "tui.key.manual"),
        ("r", "retry", "tui.key.retry"),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.frame: np.ndarray | None = None
        self.checks: list[QualityCheck] | None = None
        self.analysis: FaceAnalysis | None = None
        self.problem: BaseException | None = None
        self.captured = False
        #: a save is running in its worker (a second capture waits for its answer)
        self.saving = False

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        with Horizontal(classes="capture"):
            yield picture_widget(id="face-live", classes="live")
            with Vertical(classes="side"):
                yield Static(id="face-guide")
                yield Static(id="face-saved", classes="ok")
                yield picture_widget(id="face-kept", classes="kept")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.load_kept()
        self.stream()

    # -- worker: the store ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="face-store")
    def load_kept(self) -> None:
        """The photo a resumed draft already holds."""
        store = self.kiosk.store
        if any(s.kind == "face" for s in store.samples(self.record_id)):
            self.post_message(FaceKept(decode_image(store.sample_data(self.record_id, "face"))))

    @work(thread=True, group="face-save")  # never cancelled by another worker: a photo is not lost
    def save_capture(self, capture: FaceCapture, reason: str) -> None:
        """Token crop + quality report into the record (a manual one audited with its reason)."""
        try:
            sample = services.save_face(self.kiosk.store, self.record_id, capture, self.kiosk.cfg, actor=self.actor,
                                        reason=reason)
        except Exception as exc:  # e.g. no face found in the frame: nothing to crop (said in words)
            self.post_message(FaceKept(None, exc))
            return
        self.post_message(FaceKept(decode_image(sample.data)))

    def on_face_kept(self, msg: FaceKept) -> None:
        self.saving = False
        if msg.error is not None:
            if not isinstance(msg.error, KioskError):
                log.error("face not saved", exc_info=msg.error)
            self.notify(problem_words(msg.error), severity="error")
            return
        self.captured = True
        self.query_one("#face-kept").image = msg.picture
        self.refresh_texts()

    # -- worker: camera frames + checks ------------------------------------------------------------
    @work(thread=True, exclusive=True, group="camera")
    def stream(self, reopen: bool = False) -> None:
        worker = get_current_worker()
        try:
            camera = device_of_kind(self.kiosk.devices, "camera", "no_camera")
            reopen_device(camera) if reopen else open_device(camera)
            auto = services.face_tracker(self.kiosk.cfg)
            seq = -1
            last_shown = 0.0
            while not worker.is_cancelled:
                frame = camera.latest(timeout_s=2.0, newer_than=seq)  # type: ignore[attr-defined]
                seq = frame.seq
                # every frame is analysed (auto-capture needs consecutive frames); the preview is thinned
                analysis, chosen = auto.feed(frame.image)
                if chosen is not None:
                    self.post_message(FaceAutoCaptured(chosen, services.checks_of(chosen.report)))
                now = time.monotonic()
                if now - last_shown >= 1.0 / PREVIEW_FPS:
                    last_shown = now
                    self.post_message(FaceFrame(frame.image, frame.seq, services.checks_of(analysis.report),
                                                analysis))
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("camera", exc))

    def on_face_frame(self, msg: FaceFrame) -> None:
        if self.problem is not None:
            self.refresh_bindings()  # the camera answers again: R leaves the footer
        self.frame, self.checks, self.problem = msg.image, msg.checks, None
        self.analysis = msg.analysis
        self.query_one("#face-live").image = from_bgr(msg.image)
        self.refresh_texts()

    def on_face_auto_captured(self, msg: FaceAutoCaptured) -> None:
        if not self.captured and not self.saving:
            self.save(msg.image, reason="")

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.problem = msg.error
        self.refresh_bindings()  # R (retry the camera) shows in the footer while there is a problem
        self.refresh_texts()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # R only means something after a camera problem (the words then name it); hidden
        # otherwise, it pushed "^q Tutup kiosk" off an 80-column footer
        if action == "retry":
            return self.problem is not None
        return True

    # -- texts -------------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        super().refresh_texts()
        lines: list[str] = []
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", action_words(self.problem, "R")]
        elif self.frame is None:
            lines.append(translate("tui.face.waiting"))
        elif self.checks is not None:
            failing = [c for c in self.checks if not c.passed]
            if failing:
                # one instruction per problem, in the order to fix them (same code twice is said once)
                codes: dict[str, QualityCheck] = {}
                for c in failing:
                    codes.setdefault(c.code, c)
                lines += [f"- {translate(c.code, **c.params)}" for c in codes.values() if c.code]
            elif not self.captured:
                lines.append(f"[green]{translate('tui.face.all_pass')}[/green]")
        set_text(self.query_one("#face-guide", Static), "\n".join(lines))
        set_text(self.query_one("#face-saved", Static), translate("tui.face.saved") if self.captured else "")

    # -- actions -----------------------------------------------------------------------------------
    def action_capture(self) -> None:
        if self.frame is None or self.analysis is None:
            self.notify(translate("tui.face.no_frame"), severity="warning")
            return
        if self.analysis.report.passed:
            self.save(FaceCapture(self.frame.copy(), self.analysis), reason="")
        else:
            self.action_manual()

    def action_manual(self) -> None:
        from kiosk.tui.modals import ReasonModal

        if self.frame is None or self.analysis is None:
            self.notify(translate("tui.face.no_frame"), severity="warning")
            return
        capture = services.manual_face(self.frame, self.analysis)

        def done(reason: str | None) -> None:
            if reason:
                self.save(capture, reason=reason)

        self.app.push_screen(ReasonModal("tui.face.override_title", "tui.face.reason", OVERRIDE_REASONS), done)

    def action_retry(self) -> None:
        self.problem = None
        self.refresh_bindings()
        self.refresh_texts()
        self.stream(reopen=True)

    def save(self, capture: FaceCapture, *, reason: str) -> None:
        """Save in the store's worker; the screen says so when the answer comes (:class:`FaceKept`)."""
        if self.saving:  # one photo at a time: the next capture waits for this one's answer
            return
        self.saving = True
        self.save_capture(capture, reason)

    def ready_to_leave(self) -> bool:
        if self.saving:  # the photo is on its way into the record: Ctrl+S again once it is
            self.notify(translate("tui.face.saving"), severity="warning")
            return False
        if self.captured or not self.kiosk.cfg.policy.require_face:
            return True
        self.notify(translate("tui.face.needed"), severity="warning")
        return False
