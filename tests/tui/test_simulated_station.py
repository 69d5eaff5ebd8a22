"""Pilot walk of a complete enrollment on the simulated station: the repository's config.toml with
its device mocks (ZFM over a pty, OpenCV camera on a generated video, SBI iris emulator over HTTP,
HID pad over a pyusb backend) and the real capture checks, storage and sync worker (local central).

The station's own quality thresholds are used unchanged: the synthetic face video and
fingerprints pass them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import Config, load_config
from kiosk.i18n import set_language
from kiosk.store import RecordState
from kiosk.tui.app import KioskApp
from kiosk.tui.screens.enroll_face import FaceScreen
from kiosk.tui.screens.enroll_fingers import MARK_FLAGGED, FingersScreen
from kiosk.tui.screens.enroll_iris import IrisScreen
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.enroll_review import ReviewScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.queue import QueueScreen
from tests.conftest import resident
from tests.tui.test_flow import fill_form, form_saved, login, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def station_config(tmp_path: Path) -> Config:
    """A copy of the real config.toml in a temporary folder (its var/ data lands there)."""
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    text = (tmp_path / "config.toml").read_text()
    # English words for the assertions; the central decides at once
    text = text.replace('language = "id"', 'language = "en"').replace("decision_delay_s = 2.0", "decision_delay_s = 0.0")
    (tmp_path / "config.toml").write_text(text)
    set_language("en")
    yield load_config(tmp_path / "config.toml")
    set_language("id")


def zfm_emulator(app: KioskApp) -> Any:
    app.devices.get("fingerprint")
    return app.devices._built["fingerprint"].mock.emulator  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_simulated_station_enrolls_from_login_to_uploaded_record(station_config: Config) -> None:
    app = KioskApp(station_config)
    nik = resident(11).nik
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.demo is not None
        await login(pilot, *app.demo)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("n")
        assert isinstance(app.screen, NikScreen)
        await pilot.press(*nik, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        await fill_form(pilot, app)
        await pilot.press("ctrl+s")
        await form_saved(pilot, app)

        # face: the camera mock's video passes every check, auto-capture keeps the photo
        assert isinstance(app.screen, FaceScreen)
        await wait_for(pilot, lambda: app.screen.captured, tries=400)
        await pilot.press("ctrl+s")
        await pilot.pause()

        # fingers: the resident first puts the same finger twice (slots 1 and 2), then the rest
        assert isinstance(app.screen, FingersScreen)
        emulator = zfm_emulator(app)
        emulator.new_finger_each_image, emulator.finger = False, 77
        for position in app.screen.positions:
            if position == 3:
                emulator.new_finger_each_image = True
            before = app.screen.attempts.get(position, 0)
            await pilot.press("c")
            await wait_for(pilot, lambda: app.screen.attempts.get(position, 0) > before, tries=400)
            assert app.screen.scores[position] >= 35, app.screen.guidance  # NFIQ 2 of the kept attempt
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.flagged, tries=400)
        assert app.screen.flagged == {1, 2} and app.screen.mark(1) == MARK_FLAGGED
        assert "same finger" in str(app.screen.query_one("#finger-status").render())
        for position in (1, 2):  # recapture the flagged slots with the right fingers
            assert app.screen.current == position
            before = app.screen.attempts.get(position, 0)
            await pilot.press("c")
            await wait_for(pilot, lambda: app.screen.attempts.get(position, 0) > before, tries=400)
        await pilot.press("ctrl+s")

        # irises: the station's SBI iris emulator answers both eyes at once, signed as SBI 0.9.5 says
        await wait_for(pilot, lambda: isinstance(app.screen, IrisScreen), tries=400)
        await wait_for(pilot, lambda: app.screen.loaded, tries=400)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.slots.passed == {1: True, 2: True}, tries=400)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen), tries=400)

        # signature: the pad mock streams a signature; accept it once the ink passes the checks (the
        # stream is real time: on loaded cores 40 points could still be a signature too small to keep)
        from kiosk.tui.services import signature_checks

        def signed() -> bool:
            points = list(app.screen.points)
            return len(points) >= 40 and all(c.passed for c in signature_checks(points, app.cfg))

        await wait_for(pilot, signed, tries=400)
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: app.screen.saved)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)

        store = app.store
        kinds = sorted((s.kind, s.position) for s in store.samples(record_id))
        fingers = list(range(1, 11))
        assert kinds == sorted([("face", 0), ("signature", 0), ("signature_points", 0), ("iris", 1), ("iris", 2)]
                               + [("finger", p) for p in fingers] + [("finger_template", p) for p in fingers])
        face = next(s for s in store.samples(record_id) if s.kind == "face")
        assert face.format == "jpeg" and face.metadata["report"]["passed"] and not face.metadata["report"]["manual"]
        finger = next(s for s in store.samples(record_id) if s.kind == "finger")
        assert finger.format == "wsq" and finger.metadata["ppi"] == 500 and finger.quality is not None

        # the sync worker started with the app uploads it to the local central, which decides
        await wait_for(pilot, lambda: app.sync is not None, tries=400)
        await wait_for(pilot, lambda: store.get(record_id).state in (RecordState.APPROVED, RecordState.SUBMITTED),
                       tries=600)
        await pilot.press("u")
        assert isinstance(app.screen, QueueScreen)
        await wait_for(pilot, lambda: "Online" in str(app.screen.query_one("#sync-status").render()), tries=200)
    assert app.sync is None  # stopped on exit


@pytest.mark.slow
async def test_real_zfm_unplugged_is_explained_and_a_replug_recovers(station_config: Config) -> None:
    from kiosk.devices.errors import DeviceAbsent
    from kiosk.tui.screens.device_help import action_for
    from kiosk.tui.wizard import step_screen

    app = KioskApp(station_config, sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, *app.demo)  # type: ignore[misc]
        await pilot.press("n", *resident(12).nik, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        await pilot.press("c")
        await wait_for(pilot, lambda: 1 in app.screen.scores, tries=400)
        mock = app.devices._built["fingerprint"].mock  # type: ignore[attr-defined]
        mock.server.unplug()  # the USB-serial cable is pulled
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.problem is not None, tries=400)
        assert isinstance(app.screen.problem, DeviceAbsent), app.screen.problem
        status = str(app.screen.query_one("#finger-status").render())
        assert action_for(app.screen.problem) == "tui.action.replug" and "plug it in again" in status
        assert [s.position for s in app.store.samples(record_id) if s.kind == "finger"] == [1]  # draft kept
        mock.server.replug()
        await pilot.press("c")  # the screen reopens the scanner after an error
        await wait_for(pilot, lambda: 2 in app.screen.scores, tries=400)
        assert app.screen.problem is None
