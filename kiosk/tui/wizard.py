"""The enrollment wizard's steps and moves between them.

The record is created (as a draft) as soon as its NIK is accepted; each step saves what it
captured and the store remembers the step (``RecordStore.set_step``), so a crash or a closed
terminal loses nothing and the draft resumes where it stopped. Going back never deletes samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.i18n import translate
from kiosk.tui.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp

#: steps after the NIK (the draft exists from here on), in order
STEPS: tuple[str, ...] = ("form", "face", "fingers", "iris", "signature", "review")


def station_steps(app: "KioskApp") -> tuple[str, ...]:
    """The steps of this station: "iris" only where the config has an iris device."""
    from kiosk.composition import driver_class

    has_iris = any(driver_class(d.driver).kind == "iris" for d in app.cfg.devices)
    return STEPS if has_iris else tuple(s for s in STEPS if s != "iris")


def step_screen(step: str, record_id: str) -> "WizardStep":
    from kiosk.tui.screens.enroll_face import FaceScreen
    from kiosk.tui.screens.enroll_fingers import FingersScreen
    from kiosk.tui.screens.enroll_form import FormScreen
    from kiosk.tui.screens.enroll_iris import IrisScreen
    from kiosk.tui.screens.enroll_review import ReviewScreen
    from kiosk.tui.screens.enroll_signature import SignatureScreen

    screens: dict[str, type[WizardStep]] = {"form": FormScreen, "face": FaceScreen, "fingers": FingersScreen,
                                            "iris": IrisScreen, "signature": SignatureScreen, "review": ReviewScreen}
    return screens[step](record_id)


def resume(app: "KioskApp", record_id: str) -> None:
    """Open a draft at the step where it was left."""
    rec = app.store.get(record_id)
    step = rec.step if rec.step in STEPS else "form"
    app.push_screen(step_screen(step, record_id))


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

    def compose_steps(self) -> ComposeResult:
        yield Static(id="steps", classes="steps")

    def refresh_texts(self) -> None:
        steps = station_steps(self.kiosk)
        names = [translate("tui.step." + s) for s in ("nik", *steps)]
        here = steps.index(self.STEP) + 1 if self.STEP in steps else 0
        parts = [f"[reverse] {n} [/reverse]" if i == here else n for i, n in enumerate(names)]
        self.query_one("#steps", Static).update(" > ".join(parts))

    def on_mount(self) -> None:
        super().on_mount()
        if self.STEP in STEPS:
            self.kiosk.store.set_step(self.record_id, self.STEP)

    def go(self, step: str) -> None:
        self.app.switch_screen(step_screen(step, self.record_id))

    def action_back(self) -> None:
        steps = station_steps(self.kiosk)
        i = steps.index(self.STEP)
        if i == 0:
            self.action_leave()
        else:
            self.go(steps[i - 1])

    def next_step(self) -> str:
        steps = station_steps(self.kiosk)
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
