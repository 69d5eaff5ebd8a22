"""Enrollment step: the fingers. Two-hand diagram, current finger's image and NFIQ 2, exceptions.

The rules (attempts, keep-best, flagged repeats, exceptions) live in :class:`kiosk.enroll.FingerSlots`;
this screen shows them and sends intents. Capture, assessment, WSQ encoding, the store writes and
the wrong-finger check all run in workers; the event loop only updates the picture and the words.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from kiosk.capture.finger import decode_finger_image
from kiosk.enroll.fingers import ATTEMPT_ACTION, WRONG_FINGER_ACTION, FingerSlots, Mark
from kiosk.enroll.slaps import SlapRequest, slap_request, start_by_slap
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.messages import DeviceProblem, FingerCaptured, WrongFingerResult
from kiosk.tui.pictures import from_grey, hand_diagram, picture_widget
from kiosk.tui.screens.device_help import action_words, problem_words
from kiosk.tui.screens.enroll_slaps import SlapCapture
from kiosk.tui.wizard import WizardStep

EXCEPTION_REASONS = ("amputated", "bandaged", "scarred", "temporary")
#: the diagram's marks (kept as names for the tests and snapshots)
MARK_DONE, MARK_EXCEPTION, MARK_PENDING, MARK_UNAPPROVED, MARK_FLAGGED = (
    Mark.DONE, Mark.EXCEPTION, Mark.PENDING, Mark.UNAPPROVED, Mark.FLAGGED)
CAPTURE_TIMEOUT_S = 10.0


@dataclass
class FingersLoaded(Message):
    """What the draft already holds (a resumed draft): kept samples, exceptions, audit entries."""

    kept: list[tuple[int, float | None]]
    exceptions: list[tuple[int, str, str | None]]
    audit: list[Any]
    #: the station's scanner takes whole slaps (4-4-2): the step captures slap by slap
    by_slap: bool = False


@dataclass
class FingerPicture(Message):
    position: int
    pixels: Any  # numpy grey image, or None


@dataclass
class ExceptionRecorded(Message):
    position: int
    reason: str
    supervisor: str | None
    error: BaseException | None = None


def legend_lines(items: list[str], width: int) -> str:
    """The legend's items on as few lines as fit ``width``, never breaking inside an item."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 2 + len(item) <= width:
            lines[-1] += "  " + item
        else:
            lines.append(item)
    return "\n".join(lines)


class FingersScreen(SlapCapture, WizardStep):
    STEP = "fingers"
    KEYS = WizardStep.KEYS + [
        ("c", "capture", "tui.key.capture"),
        ("x", "exception", "tui.key.exception"),
        # ←→ and Z are named on the screen itself (80 columns hold no more footer keys)
        ("left", "previous_finger", ""),
        ("right", "next_finger", ""),
        ("z", "cancel_capture", ""),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.slots = FingerSlots(positions=(), attempts_per_finger=0, supervisor_exceptions=())
        self.loaded = False
        self.capturing = False
        self.cancel = threading.Event()
        self.problem: BaseException | None = None
        #: the last note as catalog codes (translated when shown, so F2 switches it too): (style, code, params)
        self.note: list[tuple[str, str, dict[str, Any]]] = []
        #: guidance of the last attempt's failed checks (catalog code, params)
        self.guidance: list[tuple[str, dict[str, Any]]] = []
        self.checking = False
        #: capture by slap (the scanner said so when the step opened it), and the slap being captured
        self.by_slap = False
        self.slap: SlapRequest | None = None

    # the slots' state under the names the tests and the snapshots read
    @property
    def positions(self) -> tuple[int, ...]:
        return self.slots.positions

    @property
    def current(self) -> int:
        return self.slots.current

    @current.setter
    def current(self, pos: int) -> None:
        self.slots.current = pos

    @property
    def scores(self) -> dict[int, float | None]:
        return self.slots.scores

    @property
    def flagged(self) -> set[int]:
        return self.slots.flagged

    @property
    def attempts(self) -> dict[int, int]:
        return self.slots.attempts

    def mark(self, pos: int) -> Mark:
        return self.slots.mark(pos)

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        with Horizontal(classes="capture"):
            with Vertical(classes="side"):
                yield Static(id="hands")
                yield Static(id="finger-status")
            yield picture_widget(id="finger-image", classes="live")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        self.slots = FingerSlots.for_policy(self.kiosk.cfg.policy)
        super().on_mount()
        self.load_draft()

    def on_unmount(self) -> None:
        self.cancel.set()

    # -- the draft (worker) -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="finger-store")
    def load_draft(self) -> None:
        store = self.kiosk.store
        kept = [(s.position, s.quality) for s in store.samples(self.record_id) if s.kind == "finger"]
        exceptions = [(e.position, e.reason, e.approved_by) for e in store.exceptions(self.record_id)]
        audit = [e for e in store.audit(self.record_id) if e.action in (ATTEMPT_ACTION, WRONG_FINGER_ACTION)]
        self.post_message(FingersLoaded(kept, exceptions, audit, self.scanner_takes_slaps()))

    def on_fingers_loaded(self, msg: FingersLoaded) -> None:
        self.slots.load(msg.kept, msg.exceptions, msg.audit)
        self.by_slap = msg.by_slap
        if self.by_slap:
            start_by_slap(self.slots)
        self.loaded = True
        self.show_saved_image()
        self.refresh_texts()

    def show_saved_image(self) -> None:
        if self.current in self.scores:
            self.load_picture(self.current)
        else:
            self.query_one("#finger-image").image = None

    @work(thread=True, exclusive=True, group="finger-picture")
    def load_picture(self, position: int) -> None:
        try:
            pixels = decode_finger_image(self.kiosk.store.sample_data(self.record_id, "finger", position))
        except Exception:  # a picture that cannot be shown is not a reason to stop the step
            pixels = None
        self.post_message(FingerPicture(position, pixels))

    def on_finger_picture(self, msg: FingerPicture) -> None:
        if msg.position == self.current:
            self.query_one("#finger-image").image = None if msg.pixels is None else from_grey(msg.pixels)

    # -- words ------------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        super().refresh_texts()
        if not self.loaded:
            return
        if not self.positions:
            set_text(self.query_one("#hands", Static), translate("tui.fingers.none_required"))
            return
        marks = {p: self.mark(p).value for p in self.positions}
        diagram = hand_diagram(marks, self.current, (translate("tui.fingers.left_hand"), translate("tui.fingers.right_hand")))
        items = [translate(f"tui.fingers.legend_{name}", mark=mark.value) for name, mark in (
            ("done", Mark.DONE), ("pending", Mark.PENDING), ("exception", Mark.EXCEPTION),
            ("unapproved", Mark.UNAPPROVED), ("flagged", Mark.FLAGGED))]
        legend = legend_lines(items, self.query_one("#hands", Static).content_size.width or 36)
        set_text(self.query_one("#hands", Static), diagram + "\n" + legend)
        pos = self.current
        lines = [translate("tui.slap.mode")] if self.by_slap else []
        lines.append(f"[b]{translate('tui.finger.' + str(pos))}[/b]")
        score = self.scores.get(pos)
        if pos in self.scores:
            lines.append(translate("tui.fingers.nfiq2", score="-" if score is None else f"{score:.0f}"))
        if self.slots.all_done() and not self.checking:
            step = translate("tui.step." + self.next_step())  # iris or signature: the station decides
            lines.append(f"[green]{translate('tui.fingers.all_done', step=step)}[/green]")
        else:
            lines.append(translate("tui.fingers.retries", left=self.slots.retries_left(pos)))
        lines += [f"[yellow]{translate(code, **params)}[/yellow]" for code, params in self.guidance]
        if self.checking:
            lines.append(translate("tui.fingers.checking"))
        if self.capturing and self.by_slap:
            lines.append(f"[yellow]{self.slap_place_line(self.slap)}[/yellow]")
            lines.append(translate("tui.fingers.cancel_hint"))
        elif self.capturing:
            lines.append(f"[yellow]{translate('tui.fingers.place', finger=translate('tui.finger.' + str(pos)))}[/yellow]")
            lines.append(translate("tui.fingers.cancel_hint"))
        else:
            lines.append(translate("tui.fingers.move_hint"))
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", action_words(self.problem, "C")]
        for style, code, params in self.note:
            words = translate(code, **{k: translate(v[1:]) if isinstance(v, str) and v.startswith("@") else v
                                       for k, v in params.items()})
            lines.append(f"[{style}]{words}[/{style}]" if style else words)
        set_text(self.query_one("#finger-status", Static), "\n".join(lines))

    # -- capture worker: capture, assess, keep-best, save, audit the attempt ------------------------
    @work(thread=True, exclusive=True, group="scanner")
    def capture(self, position: int, cancel: threading.Event, reopen: bool, old: float | None,
                flagged: bool, had: bool) -> None:
        try:
            scanner = device_of_kind(self.kiosk.devices, "fingerprint", "no_scanner")
            reopen_device(scanner) if reopen else open_device(scanner)
            image = scanner.capture(position, timeout_s=CAPTURE_TIMEOUT_S, cancel=cancel)
            cfg = self.kiosk.cfg
            attempt = services.assess_finger(services.finger_engine(cfg), image, position)
            keep = flagged or not had or old is None or attempt.nfiq2 >= old
            if keep:
                services.save_finger(self.kiosk.store, self.record_id, attempt, cfg, actor=self.actor)
            self.kiosk.store.log_action(self.actor, ATTEMPT_ACTION, record_id=self.record_id,
                                        params={"position": position, "nfiq2": float(attempt.nfiq2), "kept": keep,
                                                "passed": attempt.report.passed})
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("fingerprint", exc))
            return
        self.post_message(FingerCaptured(position, image, attempt, keep))

    def on_finger_captured(self, msg: FingerCaptured) -> None:
        self.capturing = False
        pos, attempt = msg.position, msg.attempt
        self.slots.take_attempt(pos, float(attempt.nfiq2), attempt.minutiae, kept=msg.kept,
                                passed=attempt.report.passed)
        self.note = [("", "tui.fingers.last", {"finger": f"@tui.finger.{pos}", "score": attempt.nfiq2})]
        if not msg.kept:
            self.note.append(("", "tui.fingers.kept_better", {}))
        passed_on = self.current != pos
        self.guidance = [] if passed_on and attempt.report.passed else list(attempt.report.guidance())
        self.query_one("#finger-image").image = from_grey(attempt.image)
        self.refresh_texts()

    # -- wrong-finger check (before leaving the step) ----------------------------------------------
    @work(thread=True, exclusive=True, group="finger-check")
    def check_wrong_fingers(self, have: dict[int, Any], missing: list[int]) -> None:
        try:
            engine = services.finger_engine(self.kiosk.cfg)
            have.update(services.stored_minutiae(self.kiosk.store, self.record_id, engine, missing))
            pairs = services.wrong_fingers(have, self.kiosk.cfg)
            if pairs:
                self.kiosk.store.log_action(self.actor, WRONG_FINGER_ACTION, record_id=self.record_id,
                                            params={"pairs": [[p.first, p.second, p.score] for p in pairs]})
        except Exception as exc:
            self.post_message(worker_failure("fingerprint", exc))
            return
        self.post_message(WrongFingerResult(pairs, have))

    def on_wrong_finger_result(self, msg: WrongFingerResult) -> None:
        self.checking = False
        self.slots.minutiae.update(msg.minutiae)
        if not msg.pairs:
            self.go_next()
            return
        self.slots.flag((pair.first, pair.second) for pair in msg.pairs)
        self.note = [("red", "tui.fingers.same_finger", {"first": f"@tui.finger.{pair.first}",
                                                         "second": f"@tui.finger.{pair.second}", "score": pair.score})
                     for pair in msg.pairs]
        self.show_saved_image()
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.capturing = self.checking = False
        self.problem = msg.error
        self.refresh_texts()

    # -- actions ----------------------------------------------------------------------------------
    def action_capture(self) -> None:
        if not self.loaded or not self.positions or self.capturing:
            return
        pos = self.current
        request = slap_request(self.slots) if self.by_slap else None
        if not self.slots.may_capture(pos) or (self.by_slap and request is None):
            self.notify(translate("tui.fingers.no_retries"), severity="warning")
            return
        reopen = self.problem is not None
        self.problem, self.capturing, self.guidance = None, True, []
        if pos not in self.flagged:
            self.note = []
        self.cancel = threading.Event()
        if request is not None:
            self.slap = request
            self.start_slap(request, self.cancel, reopen)
            self.refresh_texts()
            return
        self.capture(pos, self.cancel, reopen, self.scores.get(pos), pos in self.flagged, pos in self.scores)
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
        self.slots.move(step)
        self.problem, self.note = None, []
        self.show_saved_image()
        self.refresh_texts()

    def action_exception(self) -> None:
        from kiosk.tui.modals import ReasonModal

        if not self.loaded or not self.positions or self.capturing:
            return
        pos = self.current

        def done(reason: str | None) -> None:
            if not reason:
                return
            if not services.needs_supervisor(self.kiosk.cfg, reason):
                self.record_exception(pos, reason, None)
                return
            from kiosk.tui.modals import SupervisorModal

            self.app.push_screen(SupervisorModal(), lambda sup: self.record_exception(pos, reason, sup) if sup else None)

        self.app.push_screen(ReasonModal("tui.fingers.exception_title", "tui.fingers.reason", EXCEPTION_REASONS,
                                         finger="@tui.finger." + str(pos)), done)

    @work(thread=True, group="finger-store")
    def record_exception(self, pos: int, reason: str, supervisor: str | None) -> None:
        try:
            services.add_finger_exception(self.kiosk.store, self.record_id, self.kiosk.cfg, pos, reason,
                                          operator=self.actor, supervisor=supervisor)
        except Exception as exc:  # e.g. the supervisor is the operator
            self.post_message(ExceptionRecorded(pos, reason, supervisor, exc))
            return
        self.post_message(ExceptionRecorded(pos, reason, supervisor))

    def on_exception_recorded(self, msg: ExceptionRecorded) -> None:
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
            return
        self.slots.set_exception(msg.position, msg.reason, msg.supervisor)
        if self.by_slap:  # on to the next finger in 4-4-2 order
            start_by_slap(self.slots)
        self.show_saved_image()
        self.refresh_texts()

    def ready_to_leave(self) -> bool:
        if not self.loaded or self.capturing or self.checking:
            return False
        pending = self.slots.pending()
        if pending:
            self.notify(translate("tui.fingers.pending", fingers=", ".join(str(p) for p in pending)), severity="warning")
            return False
        return True

    def action_next(self) -> None:
        """Leave only after the wrong-finger check (bozorth3 over every pair) found no repeat."""
        if self.ready_to_leave():
            self.checking = True
            self.refresh_texts()
            have = dict(self.slots.minutiae)
            self.check_wrong_fingers(have, [p for p in self.scores if p not in have])

    def go_next(self) -> None:
        super().action_next()

    def action_back(self) -> None:
        self.cancel.set()
        super().action_back()

    def action_leave(self) -> None:
        self.cancel.set()
        super().action_leave()
