"""Enrollment step 3: the face. Live preview, failing checks as instructions, auto or manual capture."""

from __future__ import annotations

import time
import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static
from textual.worker import get_current_worker

from kiosk.capture.face import FaceAnalysis, FaceCapture
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, FaceAutoCaptured, FaceFrame
from kiosk.tui.pictures import decode_image, from_bgr, picture_widget
from kiosk.tui.screens.device_help import action_words, problem_words
from kiosk.tui.services import QualityCheck
from kiosk.tui.wizard import WizardStep

#: reasons an operator may give for keeping a photo that fails the checks
OVERRIDE_REASONS = ("medical", "disability", "religious_headwear", "equipment", "other")
#: preview frames per second sent to the screen (enough to aim; keeps the terminal light)
PREVIEW_FPS = 5.0


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

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_steps()
        with Horizontal(classes="capture"):
            yield picture_widget(id="face-live", classes="live")
            with Vertical(classes="side"):
                yield Static(id="face-guide")
                yield Static(id="face-saved", classes="ok")
                yield picture_widget(id="face-kept", classes="kept")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.captured = any(s.kind == "face" for s in self.kiosk.store.samples(self.record_id))
        if self.captured:
            self.query_one("#face-kept").image = decode_image(self.kiosk.store.sample_data(self.record_id, "face"))
        self.refresh_texts()
        self.stream()

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
        self.frame, self.checks, self.problem = msg.image, msg.checks, None
        self.analysis = msg.analysis
        self.query_one("#face-live").image = from_bgr(msg.image)
        self.refresh_texts()

    def on_face_auto_captured(self, msg: FaceAutoCaptured) -> None:
        if not self.captured:
            self.save(msg.image, reason="")

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.problem = msg.error
        self.refresh_texts()

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
        self.query_one("#face-guide", Static).update("\n".join(lines))
        self.query_one("#face-saved", Static).update(translate("tui.face.saved") if self.captured else "")

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
        self.refresh_texts()
        self.stream(reopen=True)

    def save(self, capture: FaceCapture, *, reason: str) -> None:
        """Token crop + quality report into the record (a manual one audited with its reason)."""
        try:
            sample = services.save_face(self.kiosk.store, self.record_id, capture, self.kiosk.cfg, actor=self.actor,
                                        reason=reason)
        except KioskError as exc:  # e.g. no face found in the frame: nothing to crop
            self.notify(problem_words(exc), severity="error")
            return
        self.captured = True
        self.query_one("#face-kept").image = decode_image(sample.data)
        self.refresh_texts()

    def ready_to_leave(self) -> bool:
        if self.captured or not self.kiosk.cfg.policy.require_face:
            return True
        self.notify(translate("tui.face.needed"), severity="warning")
        return False
