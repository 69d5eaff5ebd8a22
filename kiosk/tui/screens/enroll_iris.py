"""Enrollment step (stations with an iris device): both irises, or an eye's exception.

The rules (attempts per eye, keep-best, which eyes are settled, the exception policy) live in
:class:`kiosk.enroll.irises.EyeSlots`; this screen shows them and sends intents. C captures the
eyes still wanted in a worker (the SBI iris driver, kiosk/devices/sbi_iris.py), which checks each
eye against ``[quality.iris]``, stores it when it beats the kept one and audits the attempt, so a
resumed draft keeps its attempts. X records that an eye cannot be captured (a reason from a closed
list; the reasons ``[policy] supervisor_iris_exceptions`` names need a supervisor). Ctrl+S moves on
once every required eye is settled. The kept eye of each side is shown beside the other (the
operator sees an open, sharp eye, as MOSIP's registration client shows its iris captures); the
pictures are made in the capture worker.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from kiosk.capture.thresholds import quality_thresholds
from kiosk.enroll.fingers import Mark
from kiosk.enroll.irises import EYE_WORDS, IRIS_ATTEMPT_ACTION, EyeSlots, IrisAttempt, IrisExceptionReason
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_of_kind, open_device, worker_failure
from kiosk.tui.messages import DeviceProblem
from kiosk.tui.pictures import from_grey, picture_widget
from kiosk.tui.screens.device_help import action_for, problem_words
from kiosk.tui.wizard import WizardStep

IRIS_EXCEPTION_REASONS = tuple(r.value for r in IrisExceptionReason)


@dataclass
class IrisLoaded(Message):
    """What the draft already holds (a resumed draft): kept eyes, exceptions, attempt rows."""

    kept: list[tuple[int, float | None, bool]]
    exceptions: list[tuple[int, str, str | None]]
    audit: list[Any]


@dataclass
class IrisCaptured(Message):
    """One capture's eyes, judged, stored when kept and audited by the worker."""

    attempts: list[IrisAttempt]
    #: eye label -> the kept image as a picture for the screen (PIL), made in the worker
    pictures: dict[int, Any]


@dataclass
class IrisExceptionRecorded(Message):
    eye: int
    reason: str
    supervisor: str | None
    error: BaseException | None = None


def eye_name(eye: int) -> str:
    return translate(f"iris.{EYE_WORDS[eye]}")


class IrisScreen(WizardStep):
    STEP = "iris"
    KEYS = WizardStep.KEYS + [("c", "capture", "tui.key.capture"), ("x", "exception", "tui.key.exception")]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.problem: BaseException | None = None
        self.busy = False
        self.loaded = False
        self.slots = EyeSlots(attempts_per_eye=0, supervisor_exceptions=())

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        with Vertical(classes="capture-col"):
            yield Static(id="iris-status")
            with Horizontal(classes="eyes"):
                yield picture_widget(id="iris-right", classes="eye")
                yield picture_widget(id="iris-left", classes="eye")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.slots = EyeSlots.for_policy(self.kiosk.cfg.policy, quality_thresholds(self.kiosk.cfg).iris.attempts_per_eye)
        self.refresh_texts()
        self.load_draft()

    # -- the draft (worker) -----------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="iris-store")
    def load_draft(self) -> None:
        store = self.kiosk.store
        try:
            kept = [(s.position, s.quality, bool((s.metadata.get("report") or {}).get("passed")))
                    for s in store.samples(self.record_id) if s.kind == "iris"]
            exceptions = [(e.eye, e.reason, e.approved_by) for e in store.iris_exceptions(self.record_id)]
            audit = [e for e in store.audit(self.record_id) if e.action == IRIS_ATTEMPT_ACTION]
        except Exception as exc:  # shown in words; the capture still works
            self.post_message(worker_failure("iris", exc))
            return
        self.post_message(IrisLoaded(kept, exceptions, audit))

    def on_iris_loaded(self, msg: IrisLoaded) -> None:
        self.slots.load(msg.kept, msg.exceptions, msg.audit)
        self.loaded = True
        self.refresh_texts()

    # -- capture ------------------------------------------------------------------------------------
    def action_capture(self) -> None:
        if self.busy or not self.loaded:
            return
        if not self.slots.wanted():
            self.notify(translate("iris.nothing_to_capture"), severity="warning")
            return
        self.busy, self.problem = True, None
        self.refresh_texts()
        self.capture(copy.deepcopy(self.slots))

    @work(thread=True, exclusive=True, group="iris")
    def capture(self, slots: EyeSlots) -> None:
        try:
            scanner = device_of_kind(self.kiosk.devices, "iris", "no_iris")
            open_device(scanner)
            images = scanner.capture_irises(slots.wanted(), exceptions=tuple(sorted(slots.exceptions)),
                                            timeout_s=10.0)
            done = services.iris_attempts(self.kiosk.store, self.record_id, images, slots, self.kiosk.cfg,
                                          actor=self.actor)
            kept = {a.eye for a, _ in done if a.kept}
            pictures = {image.eye: from_grey(image.pixels) for image in images if image.eye in kept}
        except Exception as exc:  # shown in words; what was stored before stays in the draft
            self.post_message(worker_failure("iris", exc))
            return
        self.post_message(IrisCaptured([a for a, _ in done], pictures))

    def on_iris_captured(self, msg: IrisCaptured) -> None:
        self.busy = False
        for attempt in msg.attempts:
            self.slots.take(attempt)
        for eye, picture in msg.pictures.items():
            self.query_one(f"#iris-{EYE_WORDS[eye]}").image = picture
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.busy, self.problem = False, msg.error
        self.refresh_texts()

    # -- exceptions ---------------------------------------------------------------------------------
    def action_exception(self) -> None:
        from kiosk.tui.modals import ReasonModal, SupervisorModal

        if self.busy or not self.loaded:
            return

        def reason_chosen(eye: int, reason: str | None) -> None:
            if not reason:
                return
            if not services.needs_iris_supervisor(self.kiosk.cfg, reason):
                self.record_exception(eye, reason, None)
                return
            self.app.push_screen(SupervisorModal(), lambda sup: self.record_exception(eye, reason, sup) if sup else None)

        def eye_chosen(side: str | None) -> None:
            if not side:
                return
            eye = next(e for e, word in EYE_WORDS.items() if word == side)
            self.app.push_screen(ReasonModal("iris.exception_title", "iris.reason", IRIS_EXCEPTION_REASONS,
                                             eye=f"@iris.{side}"), lambda reason: reason_chosen(eye, reason))

        self.app.push_screen(ReasonModal("iris.exception_eye", "iris", tuple(EYE_WORDS.values())), eye_chosen)

    @work(thread=True, group="iris-store")
    def record_exception(self, eye: int, reason: str, supervisor: str | None) -> None:
        try:
            services.add_iris_exception(self.kiosk.store, self.record_id, self.kiosk.cfg, eye, reason,
                                        operator=self.actor, supervisor=supervisor)
        except Exception as exc:  # e.g. the supervisor is the operator
            self.post_message(IrisExceptionRecorded(eye, reason, supervisor, exc))
            return
        self.post_message(IrisExceptionRecorded(eye, reason, supervisor))

    def on_iris_exception_recorded(self, msg: IrisExceptionRecorded) -> None:
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
            return
        self.slots.set_exception(msg.eye, msg.reason, msg.supervisor)
        self.query_one(f"#iris-{EYE_WORDS[msg.eye]}").image = None
        self.refresh_texts()

    # -- words ------------------------------------------------------------------------------------
    def eye_line(self, eye: int, minimum: float) -> str | None:
        slots = self.slots
        name = eye_name(eye)
        exc = slots.exceptions.get(eye)
        if exc is not None:
            line = translate("iris.exception_line", eye=name, reason=translate("iris.reason." + exc.reason))
            if slots.mark(eye) is Mark.UNAPPROVED:
                return f"[yellow]{line} {translate('iris.exception_unapproved')}[/yellow]"
            return line
        if eye not in slots.scores:
            return None
        score = slots.scores[eye]
        shown = "-" if score is None else f"{score:.0f}"
        if slots.passed.get(eye):
            return f"[green]{translate('iris.passed', eye=name, score=shown)}[/green]"
        return (f"[red]{translate('iris.failed', eye=name, score=shown, minimum=f'{minimum:.0f}')}[/red]  "
                f"{translate('iris.attempts', n=slots.attempts.get(eye, 0), max=slots.attempts_per_eye)}")

    def refresh_texts(self) -> None:
        super().refresh_texts()
        lines = [f"[b]{translate('iris.title')}[/b]", translate("iris.hint"), translate("iris.exception_hint")]
        if self.busy:
            lines.append(translate("iris.capturing"))
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", translate(action_for(self.problem))]
        minimum = quality_thresholds(self.kiosk.cfg).iris.min_device_quality
        lines += [line for eye in EYE_WORDS if (line := self.eye_line(eye, minimum))]
        if self.loaded and not self.busy and self.slots.captured() and self.slots.all_done():
            # say what comes next: the operator must not guess that Ctrl+S moves on
            lines.append(f"[green]{translate('iris.ready', step=translate('tui.step.' + self.next_step()))}[/green]")
        set_text(self.query_one("#iris-status", Static), "\n".join(lines))

    def ready_to_leave(self) -> bool:
        if not self.loaded or self.busy:
            return False
        pending = self.slots.pending()
        if pending:
            self.notify(translate("iris.pending", eyes=", ".join(eye_name(e) for e in pending)), severity="warning")
            return False
        return True
