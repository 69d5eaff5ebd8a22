"""The adapter to parts built elsewhere: unavailable in words when missing, wired when present."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from textual.widgets import Static

from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.services import FeatureUnavailable
from kiosk.tui.wizard import step_screen
from tests.tui.test_flow import NIK, login, wait_for


@pytest.mark.parametrize("call", [
    lambda: services.face_checks(np.zeros((4, 4, 3), np.uint8), {}),
    lambda: services.finger_nfiq2(np.zeros((4, 4), np.uint8), 500),
    lambda: services.signature_problems([], (100.0, 50.0)),
    lambda: services.network_state(None),
    lambda: services.print_record(None, "r", "a"),
    lambda: services.card_preview(None, "r"),
])
def test_missing_modules_are_reported_as_unavailable(call: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("kiosk.capture.face", "kiosk.capture.finger", "kiosk.capture.signature", "kiosk.sync",
                 "kiosk.printer.gate", "kiosk.printer.card"):
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules makes the import fail
    with pytest.raises(FeatureUnavailable) as e:
        call()
    assert translate("tui.feature." + e.value.params["feature"]) != "tui.feature." + e.value.params["feature"]


def test_a_broken_import_inside_a_present_module_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(name: str) -> None:
        raise ModuleNotFoundError("No module named 'scipy'", name="scipy")

    monkeypatch.setattr(services.importlib, "import_module", boom)
    with pytest.raises(ModuleNotFoundError):
        services.face_checks(np.zeros((4, 4, 3), np.uint8), {})


@dataclass
class Check:
    code: str
    passed: bool
    params: dict[str, Any]


class FaceModule(types.ModuleType):
    """Stands in for kiosk.capture.face: the first frames fail, then every check passes."""

    def __init__(self) -> None:
        super().__init__("kiosk.capture.face")
        self.calls = 0
        self.resident_ready = False  # the test decides when the resident sits right

    def analyze_frame(self, image: np.ndarray, thresholds: Any) -> list[Check]:
        self.calls += 1
        ok = self.resident_ready
        # any catalog code stands in for the capture module's own message codes
        return [Check("tui.fingers.place" if not ok else "tui.face.all_pass", ok, {"finger": "X"})]

    class AutoCapture:
        def __init__(self, thresholds: Any) -> None:
            self.streak = 0

        def feed(self, image: np.ndarray, checks: list[Any]) -> np.ndarray | None:
            self.streak = self.streak + 1 if all(c.passed for c in checks) else 0
            return image if self.streak >= 2 else None


async def test_face_checks_guide_the_operator_and_auto_capture_when_present(
        make_app: Any, accounts: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    module = FaceModule()
    monkeypatch.setitem(sys.modules, "kiosk.capture.face", module)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("face", record_id))
        await wait_for(pilot, lambda: getattr(app.screen, "checks", None) is not None)
        guide = str(app.screen.query_one("#face-guide", Static).render())
        assert translate("tui.fingers.place", finger="X") in guide  # the failing check, as an instruction
        assert not app.screen.captured
        module.resident_ready = True
        await wait_for(pilot, lambda: app.screen.captured)
        face = next(s for s in app.store.samples(record_id) if s.kind == "face")
        assert face.metadata["manual"] is False and face.metadata["failed"] == []
        assert module.calls >= 3
        assert "Photo saved" in str(app.screen.query_one("#face-saved", Static).render())
