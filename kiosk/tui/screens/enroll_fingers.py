"""Enrollment step 4: the fingers. Two-hand diagram, current finger's image and NFIQ 2, exceptions."""

from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, Static

from kiosk.capture.finger import decode_finger_image
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, FingerCaptured, WrongFingerResult
from kiosk.tui.pictures import from_grey, hand_diagram, picture_widget
from kiosk.tui.screens.device_help import action_for, problem_words
from kiosk.tui.wizard import WizardStep

EXCEPTION_REASONS = ("amputated", "bandaged", "scarred", "temporary")
MARK_DONE, MARK_EXCEPTION, MARK_PENDING, MARK_UNAPPROVED, MARK_FLAGGED = "✓", "✗", "·", "?", "!"
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
        #: guidance of the last attempt's failed checks (catalog code, params)
        self.guidance: list[tuple[str, dict[str, Any]]] = []
        #: minutiae of the kept attempt per finger (for the wrong-finger check before leaving)
        self.minutiae: dict[int, Any] = {}
        #: slots the wrong-finger check found holding the same finger: recapture one of them
        self.flagged: set[int] = set()
        self.checking = False

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
                self.attempts[s.position] = 1  # a resumed draft: the kept attempt counts as one
                self.scores[s.position] = s.quality
        nxt = self.next_to_capture()
        self.current = nxt if nxt is not None else (self.positions[0] if self.positions else 0)
        super().on_mount()
        self.show_saved_image()

    def on_unmount(self) -> None:
        self.cancel.set()

    # -- state ------------------------------------------------------------------------------------
    def mark(self, pos: int) -> str:
        if pos in self.flagged:
            return MARK_FLAGGED
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
            pixels = decode_finger_image(self.kiosk.store.sample_data(self.record_id, "finger", self.current))
            self.query_one("#finger-image").image = from_grey(pixels)
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
                           unapproved=MARK_UNAPPROVED, flagged=MARK_FLAGGED)
        self.query_one("#hands", Static).update(diagram + "\n" + legend)
        pos = self.current
        lines = [f"[b]{translate('tui.finger.' + str(pos))}[/b]"]
        score = self.scores.get(pos)
        if pos in self.scores:
            lines.append(translate("tui.fingers.nfiq2", score="-" if score is None else f"{score:.0f}"))
        lines.append(translate("tui.fingers.retries", left=self.retries_left(pos)))
        lines += [f"[yellow]{translate(code, **params)}[/yellow]" for code, params in self.guidance]
        if self.checking:
            lines.append(translate("tui.fingers.checking"))
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
            attempt = services.assess_finger(services.finger_engine(self.kiosk.cfg), image, position)
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("fingerprint", exc))
            return
        self.post_message(FingerCaptured(position, image, attempt))

    def on_finger_captured(self, msg: FingerCaptured) -> None:
        self.capturing = False
        pos, attempt = msg.position, msg.attempt
        self.attempts[pos] = self.attempts.get(pos, 0) + 1
        old = self.scores.get(pos)
        # the best attempt is kept; a slot flagged as a repeated finger takes the new one whatever its score
        keep = pos in self.flagged or pos not in self.scores or old is None or attempt.nfiq2 >= old
        if keep:
            services.save_finger(self.kiosk.store, self.record_id, attempt, self.kiosk.cfg, actor=self.actor)
            self.scores[pos] = float(attempt.nfiq2)
            self.minutiae[pos] = attempt.minutiae
            self.flagged.discard(pos)
        self.note = translate("tui.fingers.last", finger=translate(f"tui.finger.{pos}"), score=attempt.nfiq2)
        if not keep:
            self.note += " " + translate("tui.fingers.kept_better")
        self.guidance = [(code, params) for code, params in attempt.report.guidance()]
        self.query_one("#finger-image").image = from_grey(attempt.image)
        if pos == self.current and (attempt.report.passed or self.retries_left(pos) == 0):
            self.guidance = [] if attempt.report.passed else self.guidance
            nxt = self.next_to_capture()
            if nxt is not None:
                self.current = nxt
        self.refresh_texts()

    def next_to_capture(self) -> int | None:
        for p in self.positions:
            if self.mark(p) in (MARK_PENDING, MARK_FLAGGED):
                return p
        return None

    # -- wrong-finger check (before leaving the step) ----------------------------------------------
    @work(thread=True, exclusive=True, group="finger-check")
    def check_wrong_fingers(self) -> None:
        try:
            engine = services.finger_engine(self.kiosk.cfg)
            have = dict(self.minutiae)
            missing = [p for p in self.scores if p not in have]
            have.update(services.stored_minutiae(self.kiosk.store, self.record_id, engine, missing))
            pairs = services.wrong_fingers(have, self.kiosk.cfg)
        except Exception as exc:
            self.post_message(worker_failure("fingerprint", exc))
            return
        self.post_message(WrongFingerResult(pairs, have))

    def on_wrong_finger_result(self, msg: WrongFingerResult) -> None:
        self.checking = False
        self.minutiae.update(msg.minutiae)
        if not msg.pairs:
            self.go(self.next_step())
            return
        notes = []
        for pair in msg.pairs:
            self.flagged.update((pair.first, pair.second))
            # the operator gets fresh attempts for the flagged slots
            self.attempts[pair.first] = self.attempts[pair.second] = 0
            notes.append(translate("tui.fingers.same_finger", first=translate(f"tui.finger.{pair.first}"),
                                   second=translate(f"tui.finger.{pair.second}"), score=pair.score))
        self.kiosk.store.log_action(self.actor, "wrong_finger", record_id=self.record_id,
                                    params={"pairs": [[p.first, p.second, p.score] for p in msg.pairs]})
        self.current = min(self.flagged)
        self.note = "[red]" + "\n".join(notes) + "[/red]"
        self.show_saved_image()
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.capturing = self.checking = False
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
        self.problem, self.capturing, self.guidance = None, True, []
        if self.current not in self.flagged:
            self.note = ""
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

        def record(reason: str, supervisor: str | None) -> None:
            try:
                services.add_finger_exception(self.kiosk.store, self.record_id, self.kiosk.cfg, pos, reason,
                                              operator=self.actor, supervisor=supervisor)
            except KioskError as exc:  # e.g. the supervisor is the operator
                self.notify(problem_words(exc), severity="error")
                return
            self.scores.pop(pos, None)
            self.minutiae.pop(pos, None)
            self.flagged.discard(pos)
            nxt = self.next_to_capture()
            if nxt is not None:
                self.current = nxt
            self.show_saved_image()
            self.refresh_texts()

        def done(reason: str | None) -> None:
            if not reason:
                return
            if not services.needs_supervisor(self.kiosk.cfg, reason):
                record(reason, None)
                return
            from kiosk.tui.modals import SupervisorModal

            self.app.push_screen(SupervisorModal(), lambda sup: record(reason, sup) if sup else None)

        self.app.push_screen(ReasonModal("tui.fingers.exception_title", "tui.fingers.reason", EXCEPTION_REASONS,
                                         finger=translate("tui.finger." + str(pos))), done)

    def ready_to_leave(self) -> bool:
        if self.capturing or self.checking:
            return False
        pending = [p for p in self.positions if self.mark(p) in (MARK_PENDING, MARK_FLAGGED)]
        if pending:
            self.notify(translate("tui.fingers.pending", fingers=", ".join(str(p) for p in pending)), severity="warning")
            return False
        return True

    def action_next(self) -> None:
        """Leave only after the wrong-finger check (bozorth3 over every pair) found no repeat."""
        if self.ready_to_leave():
            self.checking = True
            self.refresh_texts()
            self.check_wrong_fingers()

    def action_back(self) -> None:
        self.cancel.set()
        super().action_back()

    def action_leave(self) -> None:
        self.cancel.set()
        super().action_leave()
