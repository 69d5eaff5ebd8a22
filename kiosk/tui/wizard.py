"""The enrollment wizard's steps and moves between them.

The record is created (as a draft) as soon as its NIK is accepted; each step saves what it
captured and the store remembers the step (``RecordStore.set_step``), so a crash or a closed
terminal loses nothing and the draft resumes where it stopped. Going back never deletes samples.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.enroll.steps import enrollment_steps
from kiosk.tui import kept
from kiosk.i18n import translate
from kiosk.tui.base import KioskScreen, set_text

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp

#: steps after the NIK on a station without an iris camera (kiosk.enroll.enrollment_steps decides)
STEPS: tuple[str, ...] = enrollment_steps(())

#: the screen of each step (module, class), imported when the step opens
STEP_SCREENS: dict[str, tuple[str, str]] = {
    "form": ("kiosk.tui.screens.enroll_form", "FormScreen"),
    "face": ("kiosk.tui.screens.enroll_face", "FaceScreen"),
    "fingers": ("kiosk.tui.screens.enroll_fingers", "FingersScreen"),
    "iris": ("kiosk.tui.screens.enroll_iris", "IrisScreen"),
    "signature": ("kiosk.tui.screens.enroll_signature", "SignatureScreen"),
    "review": ("kiosk.tui.screens.enroll_review", "ReviewScreen"),
}


def step_screen(step: str, record_id: str, **known: Any) -> "WizardStep":
    """The step's screen for the record; ``known``: what the caller already holds of the record
    (the form takes ``identity``), so the screen need not read it from the store."""
    import importlib

    module, name = STEP_SCREENS[step]
    screen: type[WizardStep] = getattr(importlib.import_module(module), name)
    return screen(record_id, **known)


#: steps whose screen is built once per session and shown again for each record: the form's 13 rows
#: (6 selects with their option lists) cost 10-20x more to mount than to show again (tui_day, the
#: NIK step's Enter was the slowest key of the day)
KEPT_STEPS: tuple[str, ...] = ("form",)


def kept_name(step: str) -> str:
    return kept.kept_name(step)


def open_step(app: "KioskApp", step: str, record_id: str, **known: Any) -> "WizardStep":
    """The screen to show for ``step`` of the record: the app's kept instance, aimed at the record,
    for the steps in KEPT_STEPS (kiosk.tui.kept); a new screen otherwise. ``known``: see step_screen."""
    if step not in KEPT_STEPS:
        return step_screen(step, record_id, **known)
    return kept.kept_or_new(app, step, lambda: step_screen(step, record_id, **known),
                            lambda s: s.arrive(record_id, **known), WizardStep)


def station_steps(app: "KioskApp") -> tuple[str, ...]:
    """This station's steps: the kinds of its configured devices decide (an iris camera adds a step).
    The kinds come from the drivers' classes named in the config: no device is opened or started."""
    cached = getattr(app, "_enroll_steps", None)
    if cached is None:
        from kiosk.composition import device_kinds

        cached = enrollment_steps(device_kinds(app.cfg))
        app._enroll_steps = cached  # type: ignore[attr-defined]
    return cached


def resume(app: "KioskApp", draft: Any, identity: Any = None) -> None:
    """Open a draft (a store Record, read in a worker) at the step where it was left; the form
    takes the draft's identity when the caller read it."""
    step = draft.step if draft.step in station_steps(app) else "form"
    known = {"identity": identity} if step == "form" and identity is not None else {}
    app.push_screen(open_step(app, step, draft.id, **known))


class StepBook:
    """Books the wizard's current step in the store off the event loop (a write transaction each
    step). Steps follow each other faster than a loaded disk writes: the newest step wins."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._issued = 0
        self._written = 0

    def ticket(self) -> int:
        """On the event loop, when a step opens: its place in the order of steps."""
        self._issued += 1
        return self._issued

    def write(self, ticket: int, record_id: str, step: str) -> None:
        """In a worker: the step, unless a later step was written already."""
        with self._lock:
            if ticket > self._written:
                self.store.set_step(record_id, step)
                self._written = ticket


class WizardStep(KioskScreen):
    """One step of the wizard: knows its record, shows where the operator is, moves on and back."""

    STEP: ClassVar[str] = ""
    KEYS = [
        ("ctrl+s", "next", "tui.key.next"),
        ("escape", "back", "tui.key.back"),
        ("f4", "leave", "tui.key.leave"),
    ]

    def __init__(self, record_id: str) -> None:
        super().__init__()
        self.record_id = record_id

    def arrive(self, record_id: str, **known: Any) -> None:
        """A kept screen (KEPT_STEPS) is about to be shown again for ``record_id``: it shows the
        record when it resumes (:meth:`on_arrival`). ``known``: see step_screen."""
        self.record_id = record_id
        self._arriving = True

    _arriving = False

    def on_screen_resume(self) -> None:
        if self._arriving and self.is_mounted:
            self._arriving = False
            self.translate_keys()  # F2 may have been pressed while the screen was kept aside
            self.on_arrival()
            if self.STEP in self.steps:
                self.book_step(self.kiosk.step_book.ticket())
            self.refresh_bindings()

    def on_arrival(self) -> None:
        """Show the record ``self.record_id`` again in a kept screen (override in KEPT_STEPS screens)."""
        self.refresh_texts()

    def compose_steps(self) -> ComposeResult:
        yield Static(id="steps", classes="steps")

    @property
    def steps(self) -> tuple[str, ...]:
        return station_steps(self.kiosk)

    def refresh_texts(self) -> None:
        steps = self.steps
        names = [translate("tui.step." + s) for s in ("nik", *steps)]
        here = steps.index(self.STEP) + 1 if self.STEP in steps else 0
        parts = [f"[reverse] {n} [/reverse]" if i == here else n for i, n in enumerate(names)]
        set_text(self.query_one("#steps", Static), " > ".join(parts))

    def on_mount(self) -> None:
        super().on_mount()
        if self.STEP in self.steps:
            self.book_step(self.kiosk.step_book.ticket())

    @work(thread=True, group="wizard-step")
    def book_step(self, ticket: int) -> None:
        self.kiosk.step_book.write(ticket, self.record_id, self.STEP)

    def go(self, step: str) -> None:
        self.app.switch_screen(open_step(self.kiosk, step, self.record_id))

    def action_back(self) -> None:
        steps = self.steps
        i = steps.index(self.STEP)
        if i == 0:
            self.action_leave()
        else:
            self.go(steps[i - 1])

    def next_step(self) -> str:
        steps = self.steps
        return steps[steps.index(self.STEP) + 1]

    def action_next(self) -> None:
        if self.ready_to_leave():
            self.go(self.next_step())

    def ready_to_leave(self) -> bool:
        """Save this step; False (with the reason shown) when the operator must fix something."""
        return True

    def action_leave(self) -> None:
        """Back to home; the draft stays and is offered for resumption."""
        self.notify(translate("tui.wizard.draft_kept"))
        self.app.pop_screen()

    @property
    def actor(self) -> str:
        user = self.kiosk.user
        return user.name if user else "?"
