"""Enrollment step 4: the fingers. Two-hand diagram, current finger's image and NFIQ 2, exceptions."""

from __future__ import annotations

import threading

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

from kiosk.accounts import Role
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, FingerCaptured
from kiosk.tui.pictures import decode_image, encode_png, from_grey, hand_diagram, picture_widget
from kiosk.tui.screens.device_help import action_for, problem_words
from kiosk.tui.services import FeatureUnavailable
from kiosk.tui.wizard import WizardStep

EXCEPTION_REASONS = ("amputated", "bandaged", "scarred", "temporary")
MARK_DONE, MARK_EXCEPTION, MARK_PENDING, MARK_UNAPPROVED = "✓", "✗", "·", "?"
CAPTURE_TIMEOUT_S = 10.0


class FingersScreen(WizardStep):
    STEP = "fingers"
    KEYS = WizardStep.KEYS + [
        ("c", "capture", "tui.key.capture"),
        ("x", "exception", "tui.key.exception"),
        ("left", "previous_finger", "tui.key.finger", False, "←→"),
        ("right", "next_finger", ""),
        ("z", "cancel_capture", "tui.key.cancel_capture"),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.positions: tuple[int, ...] = ()
        self.current = 0
        self.attempts: dict[int, int] = {}
        self.scores: dict[int, float | None] = {}
        self.capturing = False
        self.cancel = threading.Event()
        self.problem: BaseException | None = None
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_steps()
        with Horizontal(classes="capture"):
            with Vertical(classes="side"):
                yield Static(id="hands")
                yield Static(id="finger-status")
            yield picture_widget(id="finger-image", classes="live")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.positions = tuple(self.kiosk.cfg.policy.required_fingers)
        for s in self.kiosk.store.samples(self.record_id):
            if s.kind == "finger":
                self.attempts[s.position] = int(s.metadata.get("attempts", 1))
                self.scores[s.position] = s.quality
        pending = [p for p in self.positions if self.mark(p) == MARK_PENDING]
        self.current = pending[0] if pending else (self.positions[0] if self.positions else 0)
        super().on_mount()
        self.show_saved_image()

    def on_unmount(self) -> None:
        self.cancel.set()

    # -- state ------------------------------------------------------------------------------------
    def mark(self, pos: int) -> str:
        if pos in self.scores:
            return MARK_DONE
        exc = {e.position: e for e in self.kiosk.store.exceptions(self.record_id)}.get(pos)
        if exc is None:
            return MARK_PENDING
        if exc.reason in self.kiosk.cfg.policy.supervisor_exceptions and not exc.approved_by:
            return MARK_UNAPPROVED
        return MARK_EXCEPTION

    def retries_left(self, pos: int) -> int:
        return max(0, self.kiosk.cfg.policy.attempts_per_finger - self.attempts.get(pos, 0))

    def show_saved_image(self) -> None:
        if self.current in self.scores:
            self.query_one("#finger-image").image = decode_image(
                self.kiosk.store.sample_data(self.record_id, "finger", self.current))
        else:
            self.query_one("#finger-image").image = None

    def refresh_texts(self) -> None:
        super().refresh_texts()
        if not self.positions:
            self.query_one("#hands", Static).update(translate("tui.fingers.none_required"))
            return
        marks = {p: self.mark(p) for p in self.positions}
        diagram = hand_diagram(marks, self.current, (translate("tui.fingers.left_hand"), translate("tui.fingers.right_hand")))
        legend = translate("tui.fingers.legend", done=MARK_DONE, pending=MARK_PENDING, exception=MARK_EXCEPTION,
                           unapproved=MARK_UNAPPROVED)
        self.query_one("#hands", Static).update(diagram + "\n" + legend)
        pos = self.current
        lines = [f"[b]{translate('tui.finger.' + str(pos))}[/b]"]
        score = self.scores.get(pos)
        if pos in self.scores:
            lines.append(translate("tui.fingers.nfiq2", score="-" if score is None else f"{score:.0f}")
                         if score is not None else translate("tui.fingers.nfiq2_unavailable"))
        lines.append(translate("tui.fingers.retries", left=self.retries_left(pos)))
        if self.capturing:
            lines.append(f"[yellow]{translate('tui.fingers.place', finger=translate('tui.finger.' + str(pos)))}[/yellow]")
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", translate(action_for(self.problem))]
        if self.note:
            lines.append(self.note)
        self.query_one("#finger-status", Static).update("\n".join(lines))

    # -- capture worker ---------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="scanner")
    def capture(self, position: int, cancel: threading.Event, reopen: bool) -> None:
        try:
            scanner = device_of_kind(self.kiosk.devices, "fingerprint", "no_scanner")
            reopen_device(scanner) if reopen else open_device(scanner)
            image = scanner.capture(position, timeout_s=CAPTURE_TIMEOUT_S, cancel=cancel)
            try:
                score: float | None = services.finger_nfiq2(image.pixels, image.ppi)
            except FeatureUnavailable:
                score = None
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("fingerprint", exc))
            return
        self.post_message(FingerCaptured(position, image, score))

    def on_finger_captured(self, msg: FingerCaptured) -> None:
        self.capturing = False
        pos = msg.position
        self.attempts[pos] = self.attempts.get(pos, 0) + 1
        old = self.scores.get(pos) if pos in self.scores else None
        keep = pos not in self.scores or msg.nfiq2 is None or old is None or msg.nfiq2 >= old
        if keep:  # the best attempt is kept
            self.kiosk.store.put_sample(
                self.record_id, kind="finger", position=pos, data=encode_png(msg.image.pixels), format="image/png",
                quality=msg.nfiq2, actor=self.actor,
                metadata={"ppi": msg.image.ppi, "device_quality": msg.image.device_quality,
                          "attempts": self.attempts[pos], "nfiq2": "unavailable" if msg.nfiq2 is None else msg.nfiq2})
            self.scores[pos] = msg.nfiq2
        self.note = "" if keep else translate("tui.fingers.kept_better")
        self.query_one("#finger-image").image = from_grey(msg.image.pixels)
        minimum = float(dict(self.kiosk.cfg.quality.get("finger", {})).get("min_nfiq2", 0))
        good = msg.nfiq2 is None or msg.nfiq2 >= minimum
        if pos == self.current and (good or self.retries_left(pos) == 0):
            pending = [p for p in self.positions if self.mark(p) == MARK_PENDING]
            if pending:
                self.current = pending[0]
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.capturing = False
        self.problem = msg.error
        self.refresh_texts()

    # -- actions ----------------------------------------------------------------------------------
    def action_capture(self) -> None:
        if not self.positions or self.capturing:
            return
        if self.retries_left(self.current) == 0:
            self.notify(translate("tui.fingers.no_retries"), severity="warning")
            return
        reopen = self.problem is not None
        self.problem, self.note, self.capturing = None, "", True
        self.cancel = threading.Event()
        self.capture(self.current, self.cancel, reopen)
        self.refresh_texts()

    def action_cancel_capture(self) -> None:
        self.cancel.set()

    def action_previous_finger(self) -> None:
        self.move(-1)

    def action_next_finger(self) -> None:
        self.move(1)

    def move(self, step: int) -> None:
        if not self.positions or self.capturing:
            return
        i = (self.positions.index(self.current) + step) % len(self.positions)
        self.current = self.positions[i]
        self.problem, self.note = None, ""
        self.show_saved_image()
        self.refresh_texts()

    def action_exception(self) -> None:
        from kiosk.tui.modals import ReasonModal

        if not self.positions or self.capturing:
            return
        pos = self.current

        def done(reason: str | None) -> None:
            if not reason:
                return
            user = self.kiosk.user
            approved = user.name if user and user.role is Role.SUPERVISOR else None
            self.kiosk.store.add_exception(self.record_id, pos, reason, actor=self.actor, approved_by=approved)
            self.scores.pop(pos, None)
            pending = [p for p in self.positions if self.mark(p) == MARK_PENDING]
            if pending:
                self.current = pending[0]
            self.show_saved_image()
            self.refresh_texts()

        self.app.push_screen(ReasonModal("tui.fingers.exception_title", "tui.fingers.reason", EXCEPTION_REASONS,
                                         finger=translate("tui.finger." + str(pos))), done)

    def ready_to_leave(self) -> bool:
        if self.capturing:
            return False
        pending = [p for p in self.positions if self.mark(p) == MARK_PENDING]
        if pending:
            self.notify(translate("tui.fingers.pending", fingers=", ".join(str(p) for p in pending)), severity="warning")
            return False
        return True

    def action_back(self) -> None:
        self.cancel.set()
        super().action_back()

    def action_leave(self) -> None:
        self.cancel.set()
        super().action_leave()
