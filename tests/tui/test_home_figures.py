"""What the home, progress and print screens show follows the store (found driving the kiosk in
tmux): the home queue panel kept "antre kirim 1" after sync had approved the record, the print
screen said "no approved record waits" next to the approved record it listed, and counts were
written the English way ("94130", "0.0%") in Bahasa Indonesia."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from textual.widgets import Static

from kiosk.config import PolicyConfig
from kiosk.i18n import number, set_language, translate
from kiosk.store import RecordState
from kiosk.tui.screens.home import HomeScreen, target_line
from kiosk.tui.screens.print import PrintScreen
from kiosk.tui.screens.progress import ProgressScreen
from tests.printer.conftest import approved_record
from tests.tui.test_flow import login, wait_for


def test_numbers_are_written_as_each_language_writes_them() -> None:
    assert number(94130, language="id") == "94.130"
    assert number(97.66, 1, language="id") == "97,7"
    assert number(94130, language="en") == "94,130"
    assert number(97.66, 1, language="en") == "97.7"
    assert number(1234567, language="id") == "1.234.567"


def test_the_district_target_line_in_bahasa_indonesia_uses_its_separators() -> None:
    set_language("id")
    assert target_line(91930, 94130) == "Capaian kecamatan: 91.930 dari 94.130 (97,7%)"


def _plain(widget: Static) -> str:
    return str(widget.render())


async def test_home_queue_panel_follows_a_state_change_made_behind_it(make_app: Any, accounts: Any) -> None:
    app = make_app()
    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    rid = approved_record(store, 1)
    store.policy = app.cfg.policy
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        approved = translate("state.approved")
        await wait_for(pilot, lambda: approved in _plain(home.query_one("#queue", Static)), tries=400)
        # the sync worker (another thread, another connection) moves the record on
        done = threading.Event()

        def sync_side() -> None:
            store.transition(rid, RecordState.PRINTING, actor="sync")
            done.set()

        threading.Thread(target=sync_side).start()
        await wait_for(pilot, done.is_set, tries=400)
        await pilot.press("f5")
        printing = translate("state.printing")
        await wait_for(pilot, lambda: printing in _plain(home.query_one("#queue", Static)), tries=400)
        assert approved not in _plain(home.query_one("#queue", Static))


async def test_home_reads_the_queue_figures_off_the_event_loop(make_app: Any, accounts: Any) -> None:
    app = make_app()
    on_loop: list[bool] = []
    real_counts = app.store.counts

    def counting() -> dict[str, int]:
        on_loop.append(threading.current_thread() is threading.main_thread())
        return real_counts()

    app.store.counts = counting  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await wait_for(pilot, lambda: app.screen.queue is not None, tries=400)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen) and app.screen.figures is not None,
                       tries=400)
    assert on_loop and not any(on_loop), "store.counts() ran on the event loop"


async def test_home_says_in_words_when_the_queue_figures_cannot_be_read(make_app: Any, accounts: Any) -> None:
    """Seen in tmux: with the station database failing under it, home's queue panel said
    "sedang memeriksa..." for ever (the failed read was only logged)."""
    import sqlite3

    app = make_app()

    def failing() -> dict[str, int]:
        raise sqlite3.OperationalError("disk I/O error")

    app.store.counts = failing  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        words = translate("store.unreadable")
        await wait_for(pilot, lambda: words in _plain(home.query_one("#queue", Static)).replace("\n", " "),
                       tries=400)
        assert translate("tui.home.asking") not in _plain(home.query_one("#queue", Static))


async def test_print_screen_does_not_say_none_waiting_next_to_the_approved_record(make_app: Any,
                                                                                  accounts: Any) -> None:
    app = make_app()
    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    approved_record(store, 1)
    store.policy = app.cfg.policy
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        screen = PrintScreen()
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.query_one("#approved").row_count == 1, tries=400)
        await pilot.pause()
        assert translate("tui.print.none") not in _plain(screen.query_one("#preview-status", Static))


async def test_a_notification_shows_brackets_as_written(make_app: Any, accounts: Any) -> None:
    """The receipt's "no printer" notice read "(bagian  queue di config.toml)": "[receipt]" was
    taken for markup and vanished (tmux look). Every notification is shown as written."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        app.screen.notify(translate("tui.receipt.no_queue"), severity="error")
        await wait_for(pilot, lambda: bool(list(app._notifications)), tries=200)
        [note] = [n for n in app._notifications if "[receipt] queue" in n.message]
        assert note.markup is False, "a notification's brackets would be read as markup"


async def test_home_queue_figures_stand_in_one_column_whatever_the_state_names(make_app: Any,
                                                                                accounts: Any) -> None:
    """Seen in tmux: "ditahan untuk supervisor     1" stood six columns right of the other figures."""
    from kiosk.tui.messages import QueueReport

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        set_language("id")
        try:
            home.queue = QueueReport({"approved": 1, "held": 1, "queued": 12}, today=2)
            home.render_queue()
            rows = _plain(home.query_one("#queue", Static)).splitlines()[1:]
        finally:
            set_language("en")
        assert len(rows) == 3 and translate("state.held", "id") in "\n".join(rows)
        assert len({len(row.rstrip()) for row in rows}) == 1, rows  # the figures end in one column


def test_the_last_sync_is_shown_in_the_station_time_zone() -> None:
    """Home read "Sinkron terakhir: 2026-12-02 07:21:09", the UTC time, on a station in WIB."""
    from kiosk.i18n import current_language
    from kiosk.tui.messages import NetworkReport
    from kiosk.tui.screens.home import network_lines
    from kiosk.tui.services import NetworkState

    was = current_language()
    try:
        set_language("id")
        lines = network_lines(NetworkReport(NetworkState("online", "2026-12-02T07:21:09.229+00:00", 0)))
    finally:
        set_language(was)
    assert "Sinkron terakhir: 2026-12-02 14:21:09" in lines


def test_a_report_handled_while_home_has_no_panels_is_kept_not_raised() -> None:
    """A worker's report reached home while its panels were gone (a loaded suite run failed with
    NoMatches '#devices'): the report is kept for the next render, nothing raises."""
    from kiosk.tui.messages import DeviceReport, QueueReport

    class Kiosk:  # what the render reads of the app
        class devices:
            @staticmethod
            def names() -> list[str]:
                return ["fingerprint"]

        class cfg:
            class station:
                target = 0

    class Unbuilt(HomeScreen):  # never composed: it has no panels
        kiosk = Kiosk  # type: ignore[assignment]

    home = Unbuilt()
    home.on_device_report(DeviceReport("fingerprint", "fingerprint", None, "tui.device.driver_missing",
                                       {"module": "x"}))
    home.on_queue_report(QueueReport({"queued": 2}, 1))
    assert "fingerprint" in home.reports and home.queue is not None and home.queue.counts == {"queued": 2}
