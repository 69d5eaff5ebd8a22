"""The NIK and print screens are built once per session (kiosk.tui.kept) and aimed again on each
opening (issue 11 §3: P on home built the print screen each time, one of the day's slowest keys);
what an opening showed of a resident does not outlive it."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input

from kiosk.tui.kept import kept_name
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from kiosk.tui.screens.print import PrintScreen
from tests.conftest import resident
from tests.tui.test_flow import login, login_to_home, wait_for


async def open_print(pilot: Any, app: Any) -> PrintScreen:
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, PrintScreen) and app.screen.approved is not None)
    return app.screen


async def test_p_on_home_shows_the_same_print_screen_with_its_lists_read_again(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        first = await open_print(pilot, app)
        first.failures.append("SITI AMINAH: dicetak")  # what this opening said about a resident
        first.show_log()
        first.names["r-1"] = "SITI AMINAH"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        loads: list[str] = []
        load = first.load_approved
        first.load_approved = lambda: (loads.append("approved"), load())  # type: ignore[method-assign]
        second = await open_print(pilot, app)
        assert second is first  # shown again, not built again
        assert loads == ["approved"]  # the list is read again for this opening
        assert not any("SITI" in line for line in first.failures)
        assert "SITI" not in str(first.query_one("#print-log").content)
        assert "r-1" not in first.names
        assert app.screen.focused is first.query_one("#approved", DataTable)


async def test_print_keys_wait_for_this_openings_list(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        screen = await open_print(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        started: list[list[str]] = []
        screen.print_records = lambda ids: started.append(ids)  # type: ignore[method-assign]
        screen.arrive()  # as opening it again does: the last opening's list is not acted on
        screen.action_print_batch()
        screen.action_print_one()
        assert started == [] and screen.approved is None


async def test_n_on_home_shows_the_same_nik_screen_empty(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NikScreen))
        first = app.screen
        await pilot.press(*resident(7).nik)
        await wait_for(pilot, lambda: first.parsed is not None)
        assert str(first.query_one("#nik-region").content)  # the resident's region shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NikScreen))
        assert app.screen is first
        await pilot.pause()
        assert first.query_one("#nik", Input).value == ""
        assert first.parsed is None and first.asked is None and first.lookup is None
        assert str(first.query_one("#nik-region").content) == ""
        assert app.screen.focused is first.query_one("#nik", Input)


async def test_logout_lets_the_kept_pages_go(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        await open_print(pilot, app)
        await pilot.press("escape")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, NikScreen) and app.screen.is_mounted)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert not app.is_screen_installed(kept_name("print"))
        assert not app.is_screen_installed(kept_name("enroll"))


async def test_review_keys_are_checked_without_reading_the_store(make_app: Any, accounts: Any, devices: Any,
                                                                 monkeypatch: Any) -> None:
    """The review's footer keys depend on what the record lacks: read once per refresh of its texts,
    not on every binding refresh (each read the store on the event loop)."""
    from tests.tui.test_receipt_ui import to_review

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, app, devices)
        reads: list[str] = []
        missing = app.store.missing
        monkeypatch.setattr(app.store, "missing", lambda rid: (reads.append(rid), missing(rid))[1])
        for _ in range(3):
            app.screen.refresh_bindings()
            await pilot.pause()
        assert reads == []
        assert app.screen.check_action("submit_receipt", ()) is True  # a complete record


async def test_a_print_answer_arriving_while_the_app_exits_is_dropped(make_app: Any, accounts: Any) -> None:
    """At exit Textual closes the kept print screen's widgets before the screen: a print worker's
    answer arriving then was shown into widgets that were gone (NoMatches ended tui_day's day)."""
    from kiosk.tui.messages import PrintProgress
    from kiosk.tui.screens.print import ApprovedRecords

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        screen = await open_print(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert not screen.query("#print-progress")  # the app has exited: the kept screen's widgets are gone
    screen.on_print_progress(PrintProgress("r-1", 1, 1, stage="printing"))
    screen.on_approved_records(ApprovedRecords([], {}))


async def test_b_shows_the_batch_started_before_the_printer_answers(make_app: Any, accounts: Any) -> None:
    from textual.widgets import ProgressBar

    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        screen = await open_print(pilot, app)
        started: list[list[str]] = []
        screen.print_records = lambda ids: started.append(ids)  # type: ignore[method-assign]  # no answer yet
        screen.approved = ["r-1", "r-2"]
        await pilot.press("b")
        bar = screen.query_one("#print-progress", ProgressBar)
        assert started == [["r-1", "r-2"]]
        assert bar.display and bar.total == 2 and bar.progress == 0
