"""The fingers step on a slap scanner (issue 12): on a station whose [devices.fingerprint] is the
SBI slap scanner mock (device_mocks/sbi.py, started by the composition root as on
docs/station-sbi-iris.example.toml), the step captures by slap in 4-4-2 order with exceptions left
out, books each finger through the slots (attempts, keep-best), retries failed fingers by
capturing their slap again, and shows a result per finger."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from kiosk.composition import build_device
from kiosk.config import load_config
from kiosk.devices.registry import BuiltDevice
from kiosk.enroll.fingers import ATTEMPT_ACTION
from kiosk.i18n import set_language
from kiosk.tui import services
from kiosk.tui.app import KioskApp
from kiosk.tui.screens.enroll_fingers import FingersScreen
from tests.conftest import resident
from tests.tui.conftest import FIXED_TODAY, TUI_CONFIG, Clock
from tests.tui.fakes import fake_devices
from tests.tui.test_flow import wait_for

SBI_SLAP = """
[devices.fingerprint]
driver = "sbi"
mock = "sbi"
trusted_cert = "unused-the-mock-pins-its-own.pem"
port = 0
env = "Staging"
spec_version = "0.9.5"
capture_mode = "auto"
"""


def _config(tmp_path: Path, *, attempts: int, min_nfiq2: int | None = None) -> Any:
    text = TUI_CONFIG.replace("required_fingers = [1, 2]", "required_fingers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")
    text = text.replace("attempts_per_finger = 2", f"attempts_per_finger = {attempts}") + SBI_SLAP
    if min_nfiq2 is not None:
        text += f"\n[quality.finger]\nmin_nfiq2 = {min_nfiq2}\n"
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


@pytest.fixture
def slap_station(tmp_path: Path) -> Iterator[tuple[Any, BuiltDevice]]:
    yield from _station(tmp_path, attempts=3)


@pytest.fixture
def strict_station(tmp_path: Path) -> Iterator[tuple[Any, BuiltDevice]]:
    # no synthetic finger reaches NFIQ 2 100: every finger fails its checks
    yield from _station(tmp_path, attempts=2, min_nfiq2=100)


def _station(tmp_path: Path, **kw: Any) -> Iterator[tuple[Any, BuiltDevice]]:
    cfg = _config(tmp_path, **kw)
    built = build_device(cfg, cfg.device("fingerprint"), workdir=tmp_path / "mocks")
    try:
        yield cfg, built
    finally:
        if built.driver.is_open:
            built.driver.close()
        assert built.mock is not None
        built.mock.close()


def _app(cfg: Any, built: BuiltDevice) -> KioskApp:
    set_language("en")
    devices = fake_devices()
    del devices.devices["scanner"]
    devices.devices["fingerprint"] = built.driver
    clock = Clock()
    return KioskApp(cfg, devices=devices, sync=False, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY)


def _slaps_asked(built: BuiltDevice) -> list[tuple[int, list[str]]]:
    """(deviceSubId, exceptions) of every RCAPTURE the scanner received."""
    out = []
    for verb, _, body in built.mock.service.requests:  # type: ignore[union-attr]
        if verb == "RCAPTURE" and body:
            bio = body["bio"][0]
            out.append((int(bio["deviceSubId"]), list(bio.get("exception") or [])))
    return out


def _status(screen: Any) -> str:
    return str(screen.query_one("#finger-status").render())


async def test_a_slap_scanner_captures_4_4_2_with_exceptions_and_shows_each_finger(
        slap_station: tuple[Any, BuiltDevice]) -> None:
    cfg, built = slap_station
    app = _app(cfg, built)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            rec = app.store.create_draft(resident(4), actor="siti")
            services.add_finger_exception(app.store, rec.id, cfg, 8, "bandaged", operator="siti", supervisor=None)
            screen = FingersScreen(rec.id)
            app.push_screen(screen)
            await wait_for(pilot, lambda: screen.loaded, tries=400)
            assert screen.by_slap and screen.current == 7  # the left four come first
            assert "Slap scanner" in _status(screen)
            for slap, fingers in ((1, (7, 9, 10)), (2, (2, 3, 4, 5)), (3, (6, 1))):
                await pilot.press("c")
                await wait_for(pilot, lambda: not screen.capturing and all(p in screen.scores for p in fingers),
                               tries=1200)
                status = _status(screen)
                for pos in fingers:  # one result line per finger of the slap
                    assert f"{app_finger(pos)}: NFIQ 2 {screen.scores[pos]:.0f}" in status, status
            assert screen.slots.all_done() and 8 not in screen.scores
        asked = _slaps_asked(built)
        assert [s for s, _ in asked] == [1, 2, 3]
        assert asked[0][1] == ["Left MiddleFinger"] and asked[1][1] == [] and asked[2][1] == []
        stored = {s.position for s in app.store.samples(rec.id) if s.kind == "finger"}
        assert stored == {1, 2, 3, 4, 5, 6, 7, 9, 10}
        attempts = [e.params for e in app.store.audit(rec.id) if e.action == ATTEMPT_ACTION]
        assert sorted(p["position"] for p in attempts) == [1, 2, 3, 4, 5, 6, 7, 9, 10]
    finally:
        set_language("id")


def app_finger(pos: int) -> str:
    from kiosk.i18n import translate

    return translate(f"tui.finger.{pos}")


async def test_failed_fingers_are_retried_by_their_slap_and_the_best_is_kept(
        strict_station: tuple[Any, BuiltDevice]) -> None:
    cfg, built = strict_station
    app = _app(cfg, built)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            rec = app.store.create_draft(resident(5), actor="siti")
            screen = FingersScreen(rec.id)
            app.push_screen(screen)
            await wait_for(pilot, lambda: screen.loaded, tries=400)
            await pilot.press("c")
            await wait_for(pilot, lambda: not screen.capturing and screen.attempts.get(7) == 1, tries=1200)
            assert screen.current == 7 and screen.slots.failed == {7, 8, 9, 10}
            assert "press C to capture again" in _status(screen)
            first = dict(screen.scores)
            await pilot.press("c")  # the failed fingers: the same slap again
            await wait_for(pilot, lambda: not screen.capturing and screen.attempts.get(7) == 2, tries=1200)
            assert all(screen.attempts[p] == 2 for p in (7, 8, 9, 10))
            assert all(screen.scores[p] >= first[p] for p in (7, 8, 9, 10))  # keep-best
            assert screen.current == 2  # out of attempts: on to the right four
            await pilot.press("c")
            await wait_for(pilot, lambda: not screen.capturing and screen.attempts.get(2) == 1, tries=1200)
        assert [s for s, _ in _slaps_asked(built)] == [1, 1, 2]
    finally:
        set_language("id")
