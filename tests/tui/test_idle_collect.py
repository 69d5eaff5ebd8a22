"""kiosk.tui.idle_collect: full garbage collections leave key handlers for moments nobody waits on
(issue 11 §3: tui_day's slowest keys were full collections of 100-560 ms)."""

from __future__ import annotations

import gc
from typing import Any, Iterator

import pytest

from kiosk.tui import idle_collect
from kiosk.tui.idle_collect import IdleCollector
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.print import PrintScreen
from tests.tui.test_flow import login, login_to_home, wait_for


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def policy() -> Iterator[IdleCollector]:
    """An installed collector; CPython's thresholds and an unfrozen heap again afterwards."""
    before = gc.get_threshold()
    collector = idle_collect.install()
    yield collector
    idle_collect.uninstall()
    gc.unfreeze()
    assert gc.get_threshold() == before


def full_collections_during(work: Any) -> int:
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    gc.callbacks.append(note)
    try:
        work()
    finally:
        gc.callbacks.remove(note)
    return len(seen)


def test_no_automatic_full_collection_once_installed_and_one_falls_due(policy: IdleCollector) -> None:
    gc.collect()
    assert not policy.due()
    young, middle, full = gc.get_threshold()
    assert full == idle_collect.FULL_SAFETY

    def allocate() -> None:  # enough container objects for 20 generation-1 collections (CPython: 2 full ones)
        keep = []
        for _ in range(20 * middle * young):
            keep.append(Cycle())
            if len(keep) > 1000:
                keep.clear()

    assert full_collections_during(allocate) == 0
    assert policy.due()


def test_the_first_idle_collections_free_cycles_and_freeze_the_survivors_later_ones_do_not(
        policy: IdleCollector) -> None:
    garbage = Cycle()
    garbage_id = id(garbage)
    del garbage
    freed = []
    for _ in range(idle_collect.SETTLE_COLLECTIONS):
        kept = Cycle()
        freed.append(policy.collect("test").freed)
        assert all(o is not kept for o in gc.get_objects())  # survivors frozen: later collections skip them
    assert freed[0] >= 2  # the cycle and its __dict__
    assert not any(id(o) == garbage_id and type(o) is Cycle for o in gc.get_objects())
    later = Cycle()
    policy.collect("test")
    assert any(o is later for o in gc.get_objects())  # once settled, a collection freezes nothing
    assert [c.reason for c in policy.history] == ["test"] * (idle_collect.SETTLE_COLLECTIONS + 1)


def test_deep_collection_frees_a_cycle_that_died_while_frozen(policy: IdleCollector) -> None:
    class Marked(Cycle):
        pass

    obj = Marked()
    policy.collect("test")  # obj is frozen now
    del obj
    assert not any(type(o) is Marked for o in gc.get_objects())  # frozen: invisible to collections
    policy.deep("logout")
    gc.unfreeze()
    assert not any(type(o) is Marked for o in gc.get_objects())


def messages_being_handled() -> list[str]:
    """The Textual messages whose dispatch is on the call stack now (outermost first)."""
    import sys

    names = []
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "_dispatch_message" and "message" in frame.f_locals:
            names.append(type(frame.f_locals["message"]).__name__)
        frame = frame.f_back
    return names[::-1]


class SpyCollector(IdleCollector):
    """Records in which Textual messages each collection ran."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[tuple[str, str]] = []
        self.is_due = True

    def due(self) -> bool:
        return self.is_due

    def collect(self, reason: str) -> Any:
        self.runs.append((reason, "/".join(messages_being_handled())))
        self.is_due = False
        return None

    def deep(self, reason: str) -> Any:
        self.runs.append((reason, "deep"))
        return None


async def test_home_shown_again_collects_after_its_refresh_not_in_the_key_handler(make_app: Any,
                                                                               accounts: Any) -> None:
    app = make_app()
    spy = SpyCollector()
    app.collector = spy
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PrintScreen))
        in_key: list[str] = []
        close = app.screen.action_close

        def closing() -> None:  # the Escape's handler: the key's dispatch is on the stack here
            in_key.extend(messages_being_handled())
            close()

        app.screen.action_close = closing
        spy.runs.clear()
        spy.is_due = True
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and spy.runs)
        assert "Key" in in_key
        assert [reason for reason, _ in spy.runs] == ["home"]
        assert "Key" not in spy.runs[0][1]  # run by the callback posted after the refresh
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PrintScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.pause()
        assert len(spy.runs) == 1  # nothing due: nothing collected


async def test_quiet_station_collects_when_due_and_logout_collects_deep(make_app: Any, accounts: Any,
                                                                       clock: Any) -> None:
    app = make_app()
    spy = SpyCollector()
    app.collector = spy
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "budi", "rahasia456")
        spy.runs.clear()
        spy.is_due = True
        app.last_activity = clock.t
        app.check_idle_logout()
        assert spy.runs == []  # a key just now: not idle
        clock.t += idle_collect.QUIET_S
        app.check_idle_logout()
        assert [r[0] for r in spy.runs] == ["quiet"]
        app.action_logout()
        await wait_for(pilot, lambda: ("logout", "deep") in spy.runs)


async def test_a_collection_that_ran_gives_the_freed_pages_back_one_not_due_does_not(make_app: Any, accounts: Any,
                                                                                     clock: Any) -> None:
    """The trim after an enrollment could run before the collection had freed its screens; the
    pages are given back after each collection that ran."""

    class Ran(SpyCollector):
        def collect(self, reason: str) -> Any:
            super().collect(reason)
            return object()  # a collection ran

    app = make_app()
    app.collector = Ran()
    released: list[int] = []
    app.release_memory = lambda: released.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "budi", "rahasia456")
        await pilot.pause()
        app.collector.is_due = False
        released.clear()  # home's first showing may have collected already
        app.last_activity = clock.t - idle_collect.QUIET_S
        app.check_idle_logout()
        assert released == []  # nothing was due: nothing collected, nothing to give back
        app.collector.is_due = True
        app.check_idle_logout()
        assert released == [1]
