"""Issue 11 §3: a "ready" station has loaded what an enrollment needs, and gives memory back after one.

tui_day found the first enrollment adding ~57 MB to a ready station (library pages, codec
tables, Pillow plugins, malloc arenas of the capture workers): the preload worker now runs the
pipeline's self-test (kiosk.ops.pipeline_check) before the station counts as ready, and the app
trims malloc's free pages in a worker after each submitted enrollment.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kiosk.ops import malloc
from kiosk.tui import services
from tests.tui.test_flow import enroll, login, wait_for


async def test_the_preload_worker_runs_the_pipeline_self_test_before_the_station_is_ready(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[str, bool]] = []
    app = make_app(preload_models=True)
    monkeypatch.setattr(services, "load_capture_models", lambda cfg: None)
    monkeypatch.setattr(services, "check_pipeline",
                        lambda cfg: ran.append((threading.current_thread().name, app.models_ready.is_set())) or ["ok"])
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.models_ready.is_set())
    assert len(ran) == 1
    thread, ready_before = ran[0]
    assert thread != threading.main_thread().name  # never on the event loop's thread
    assert not ready_before  # "ready" includes the self-test
    assert app.pipeline_checks == ["ok"]


async def test_malloc_is_trimmed_in_the_preload_worker_once_the_self_test_is_done(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    monkeypatch.setattr(services, "load_capture_models", lambda cfg: events.append("models"))
    monkeypatch.setattr(services, "check_pipeline", lambda cfg: events.append("self-test") or [])
    monkeypatch.setattr(malloc, "release_free_memory",
                        lambda libc=None: events.append(f"trim {threading.current_thread() is threading.main_thread()}"))
    app = make_app(preload_models=True)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.models_ready.is_set())
    assert events == ["models", "self-test", "trim False"]


async def test_the_self_test_adds_no_record_and_no_audit_row(make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    real = services.check_pipeline
    app = make_app(preload_models=True)

    def watched(cfg: Any) -> Any:
        from kiosk.store import RecordStore

        store = RecordStore(cfg.station.data_dir, policy=cfg.policy)  # the worker's own connection
        try:
            before = (len(store.list()), len(store.audit()))
            seen["results"] = real(cfg)
            seen["counts"] = before, (len(store.list()), len(store.audit()))
        finally:
            store.close()
        return seen["results"]

    monkeypatch.setattr(services, "check_pipeline", watched)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.models_ready.is_set(), tries=2400)
    assert [r.name for r in seen["results"] if not r.passed] == []
    before, after = seen["counts"]
    assert after == before


async def test_memory_is_trimmed_in_a_worker_after_an_enrollment_is_submitted(
        make_app: Any, accounts: Any, devices: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[str] = []
    monkeypatch.setattr(malloc, "release_free_memory", lambda libc=None: trims.append(threading.current_thread().name))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await enroll(pilot, app, devices, submit="")
        assert trims == []  # nothing before the record is queued
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(trims) == 1)
    assert trims[0] != threading.main_thread().name
