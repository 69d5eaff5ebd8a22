"""The iris wizard step: shown only on stations with an iris device; each eye checked against
[quality.iris]; the kept eyes stored as ``iris`` samples."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from device_mocks.irises import synthetic_iris
from kiosk.config import load_config
from kiosk.devices.protocols import IrisImage, IrisScanner
from kiosk.i18n import set_language
from kiosk.tui.app import KioskApp
from kiosk.tui.screens.enroll_iris import IrisScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.wizard import station_steps
from tests.conftest import resident
from tests.tui.conftest import FIXED_TODAY, TUI_CONFIG, Clock
from tests.tui.fakes import _FakeBase, fake_devices
from tests.tui.test_flow import wait_for

IRIS_TABLES = """
[devices.iris]
driver = "sbi-iris"

[quality.iris]
min_device_quality = 60.0
attempts_per_eye = 2
"""


class FakeIris(_FakeBase, IrisScanner):
    """Answers scripted device scores per capture: [(right, left), ...]."""

    def __init__(self, scores: list[tuple[float, float]]) -> None:
        super().__init__("iris", None)
        self.scores = list(scores)
        self.captures = 0

    def capture_irises(self, eyes: tuple[int, ...] = (1, 2), *, exceptions: tuple[int, ...] = (),
                       timeout_s: float = 10.0, cancel: threading.Event | None = None) -> list[IrisImage]:
        right, left = self.scores[min(self.captures, len(self.scores) - 1)]
        self.captures += 1
        return [IrisImage(np.ascontiguousarray(synthetic_iris(5, eye, 160, 120)), eye, device_quality=q,
                          record=b"IIR\x00fake")
                for eye, q in ((1, right), (2, left)) if eye in eyes]


#: the iris station's capture policy: both eyes; a lost eye needs a supervisor, a bandaged one not
IRIS_POLICY = 'required_irises = [1, 2]\nsupervisor_iris_exceptions = ["lost", "prosthesis"]\n'


def _app(tmp_path: Path, extra: str, iris: FakeIris | None) -> KioskApp:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text(TUI_CONFIG.replace("[policy]\n", "[policy]\n" + IRIS_POLICY) + extra)
    set_language("en")
    cfg = load_config(path)
    devices = fake_devices()
    if iris is not None:
        devices.devices["iris"] = iris
    clock = Clock()
    return KioskApp(cfg, devices=devices, sync=False, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY)


@contextlib.asynccontextmanager
async def iris_station(tmp_path: Path, iris: FakeIris, size: tuple[int, int] = (100, 30)) -> AsyncIterator[
        tuple[KioskApp, Any]]:
    """The app of an iris station (English), running under Pilot; the language is put back after."""
    app = _app(tmp_path, IRIS_TABLES, iris)
    try:
        async with app.run_test(size=size) as pilot:
            yield app, pilot
    finally:
        set_language("id")


def test_the_iris_step_is_there_only_with_an_iris_device(tmp_path: Path) -> None:
    try:
        with_iris = _app(tmp_path / "a", IRIS_TABLES, FakeIris([(90, 90)]))
        without = _app(tmp_path / "b", "", None)
        assert station_steps(with_iris) == ("form", "face", "fingers", "iris", "signature", "review")
        assert "iris" not in station_steps(without)
    finally:
        set_language("id")


async def test_a_poor_eye_is_captured_again_and_both_eyes_are_stored(tmp_path: Path) -> None:
    iris = FakeIris([(90, 40), (88, 75)])
    async with iris_station(tmp_path, iris) as (app, pilot):
        rec = app.store.create_draft(resident(3), actor="siti")
        app.push_screen(IrisScreen(rec.id))
        await wait_for(pilot, lambda: isinstance(app.screen, IrisScreen))
        screen: Any = app.screen
        await wait_for(pilot, lambda: screen.loaded)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.slots.attempts.get(2) and not screen.busy)
        assert screen.slots.passed == {1: True, 2: False}
        await pilot.press("ctrl+s")  # refused: the left eye is below the threshold, attempts remain
        assert isinstance(app.screen, IrisScreen)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.slots.attempts.get(2) == 2 and not screen.busy)
        assert screen.slots.passed[2] and screen.slots.attempts[1] == 1  # the settled right eye was not taken again
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen))
    stored = {s.position: s for s in app.store.samples(rec.id) if s.kind == "iris"}
    assert set(stored) == {1, 2} and stored[2].quality == 75 and stored[2].format == "iso19794-6"


async def test_with_both_eyes_done_the_step_says_ctrl_s_and_names_the_next_step(tmp_path: Path) -> None:
    from textual.widgets import Static

    async with iris_station(tmp_path, FakeIris([(90, 91)])) as (app, pilot):
        rec = app.store.create_draft(resident(4), actor="siti")
        app.push_screen(IrisScreen(rec.id))
        await wait_for(pilot, lambda: isinstance(app.screen, IrisScreen) and app.screen.query("#iris-status"))
        screen: Any = app.screen
        status = screen.query_one("#iris-status", Static)
        assert "Ctrl+S" not in str(status.render())  # nothing captured yet: only "press C"
        await wait_for(pilot, lambda: screen.loaded)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.slots.all_done() and not screen.busy)
        text = " ".join(str(status.render()).split())
        assert "press Ctrl+S to go on to the Signature step" in text
        # the kept eyes are shown, each on its side
        assert screen.query_one("#iris-right").image is not None
        assert screen.query_one("#iris-left").image is not None


async def test_the_review_lists_both_irises_with_their_device_scores(tmp_path: Path) -> None:
    from textual.widgets import Static

    from kiosk.capture.iris import assess_iris, iris_sample
    from kiosk.capture.storage import store_iris
    from kiosk.capture.thresholds import quality_thresholds
    from kiosk.tui.screens.enroll_review import ReviewScreen

    async with iris_station(tmp_path, FakeIris([(90, 91)]), (100, 40)) as (app, pilot):
        rec = app.store.create_draft(resident(5), actor="siti")
        th = quality_thresholds(app.cfg).iris
        for image in FakeIris([(83, 71)]).capture_irises():
            store_iris(app.store, rec.id, iris_sample(image, assess_iris(image, th), th), actor="siti")
        app.push_screen(ReviewScreen(rec.id))
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.query("#review"))
        await pilot.pause()
        text = str(app.screen.query_one("#review", Static).render())
        assert "Right iris: device score 83" in text and "Left iris: device score 71" in text


async def test_on_an_iris_station_the_finished_fingers_point_to_the_iris_step(tmp_path: Path) -> None:
    from textual.widgets import Static

    from kiosk.tui.screens.enroll_fingers import FingersScreen

    async with iris_station(tmp_path, FakeIris([(90, 91)])) as (app, pilot):
        rec = app.store.create_draft(resident(6), actor="siti")
        app.push_screen(FingersScreen(rec.id))
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        for _ in range(len(app.screen.positions)):
            before = len(app.screen.scores)
            await pilot.press("c")
            await wait_for(pilot, lambda: len(app.screen.scores) > before, tries=200)
        text = " ".join(str(app.screen.query_one("#finger-status", Static).render()).split())
        assert "go on to the Irises step" in text
