"""Enrollment step (stations with an iris device): both irises.

C captures both eyes in a worker thread (the SBI iris driver, kiosk/devices/sbi_iris.py); each
eye's device score is checked against ``[quality.iris]`` (kiosk/capture/iris.py) and the best
attempt per eye is kept; Ctrl+S stores the kept eyes (kind ``iris``) and moves on. After the
set attempts the best ones may be kept even below the threshold (their report says so). The
kept eye of each side is shown beside the other (the operator sees an open, sharp eye, as MOSIP's
registration client shows its iris captures); the pictures are made in the capture worker.
Reading the eyes already kept (a resumed draft) and storing them run in workers, never on the
event loop (issue 11 §3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from kiosk.capture.iris import EyeSlot, assess_iris, iris_sample
from kiosk.capture.storage import store_iris
from kiosk.capture.thresholds import quality_thresholds
from kiosk.devices.protocols import IrisImage
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.devices_poll import device_of_kind, open_device, worker_failure
from kiosk.tui.messages import DeviceProblem
from kiosk.tui.pictures import from_grey, picture_widget
from kiosk.tui.screens.device_help import action_for, problem_words
from kiosk.tui.wizard import WizardStep

log = logging.getLogger(__name__)


@dataclass
class IrisCaptured(Message):
    images: list[IrisImage]
    #: eye label -> the image as a picture for the screen (PIL), made in the worker
    pictures: dict[int, Any]


@dataclass
class IrisKept(Message):
    """The draft's stored eyes, read in a worker: True when both are there."""

    both: bool


@dataclass
class IrisStored(Message):
    """The kept eyes are in the record (or why not)."""

    error: BaseException | None = None


class IrisScreen(WizardStep):
    STEP = "iris"
    KEYS = WizardStep.KEYS + [("c", "capture", "tui.key.capture")]

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.problem: BaseException | None = None
        self.busy = False
        self.saved = False
        #: the kept eyes are being stored (Ctrl+S moves on when they are)
        self.storing = False
        self.slots: dict[int, EyeSlot] = {}

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
        th = quality_thresholds(self.kiosk.cfg).iris
        self.slots = {eye: EyeSlot(eye, th.attempts_per_eye) for eye in (1, 2)}
        self.refresh_texts()
        self.read_kept()

    @work(thread=True, exclusive=True, group="iris-store")
    def read_kept(self) -> None:
        try:
            kept = {s.position for s in self.kiosk.store.samples(self.record_id) if s.kind == "iris"}
        except Exception as exc:  # shown in words; the capture still works
            self.post_message(worker_failure("iris", exc))
            return
        self.post_message(IrisKept(kept == {1, 2}))

    def on_iris_kept(self, msg: IrisKept) -> None:
        if msg.both and not any(slot.attempts for slot in self.slots.values()):  # nothing captured meanwhile
            self.saved = True
            self.refresh_texts()

    def action_capture(self) -> None:
        if self.busy:
            return
        self.busy, self.problem = True, None
        self.refresh_texts()
        self.capture()

    @work(thread=True, exclusive=True, group="iris")
    def capture(self) -> None:
        try:
            scanner = device_of_kind(self.kiosk.devices, "iris", "no_iris")
            open_device(scanner)
            images = scanner.capture_irises(timeout_s=10.0)
            self.post_message(IrisCaptured(images, {image.eye: from_grey(image.pixels) for image in images}))
        except Exception as exc:  # shown in words; the draft is already saved
            self.post_message(worker_failure("iris", exc))

    def on_iris_captured(self, msg: IrisCaptured) -> None:
        self.busy = False
        th = quality_thresholds(self.kiosk.cfg).iris
        for image in msg.images:
            slot = self.slots[image.eye]
            if not slot.done:
                slot.add(image, assess_iris(image, th))
                if slot.best is not None and slot.best[0] is image and image.eye in msg.pictures:
                    self.query_one("#iris-right" if image.eye == 1 else "#iris-left").image = msg.pictures[image.eye]
        self.saved = False
        self.refresh_texts()

    def on_device_problem(self, msg: DeviceProblem) -> None:
        self.busy, self.problem = False, msg.error
        self.refresh_texts()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        lines = [f"[b]{translate('iris.title')}[/b]", translate("iris.hint")]
        if self.busy:
            lines.append(translate("iris.capturing"))
        if self.problem is not None:
            lines += [f"[red]{problem_words(self.problem)}[/red]", translate(action_for(self.problem))]
        for eye, slot in self.slots.items():
            name = translate("iris.right" if eye == 1 else "iris.left")
            best = slot.best
            if best is None:
                continue
            check = best[1].checks[0]
            score = check.params.get("score")
            if best[1].passed:
                lines.append(f"[green]{translate('iris.passed', eye=name, score=score)}[/green]")
            else:
                lines.append(f"[red]{translate('iris.failed', eye=name, score=score, minimum=check.params['minimum'])}"
                             f"[/red]  {translate('iris.attempts', n=len(slot.attempts or []), max=slot.max_attempts)}")
        if self.saved:
            lines.append(f"[green]{translate('iris.saved')}[/green]")
        elif not self.busy and all(slot.done for slot in self.slots.values()):
            # say what comes next: the operator must not guess that Ctrl+S stores the eyes
            lines.append(f"[green]{translate('iris.ready', step=translate('tui.step.' + self.next_step()))}[/green]")
        set_text(self.query_one("#iris-status", Static), "\n".join(lines))

    def ready_to_leave(self) -> bool:
        if self.saved:
            return True
        if self.storing:
            return False
        if not all(slot.done for slot in self.slots.values()):
            self.notify(translate("iris.hint"), severity="warning")
            return False
        th = quality_thresholds(self.kiosk.cfg).iris
        samples = []
        for slot in self.slots.values():
            image, report = slot.best  # type: ignore[misc]
            samples.append(iris_sample(image, report, th))
        self.storing = True
        self.store_eyes(samples, self.actor)
        return False  # moves on when the worker has stored them

    @work(thread=True, group="iris-save")  # never cancelled by another worker: a capture is not lost
    def store_eyes(self, samples: list[Any], actor: str) -> None:
        try:
            for sample in samples:
                store_iris(self.kiosk.store, self.record_id, sample, actor=actor)
        except Exception as exc:  # shown in words; the eyes stay captured for another Ctrl+S
            if not isinstance(exc, KioskError):
                log.exception("iris save failed")
            self.post_message(IrisStored(exc))
            return
        self.post_message(IrisStored())

    def on_iris_stored(self, msg: IrisStored) -> None:
        self.storing = False
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
            return
        self.saved = True
        self.refresh_texts()
        self.go(self.next_step())
