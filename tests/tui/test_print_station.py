"""The TUI prints through the station's one print path (Station.print) on the simulated station's
Evolis mock: refused with 0 blank cards booked, a supervisor books stock in a dialog, the card
prints and the book goes down, and an interrupted print is asked about by the resident's name
(issue 13 §2 and §4, issue 11 §5)."""

from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import Any

from kiosk import permits as station_permits
from kiosk.accounts import AccountStore, Role
from kiosk.central.keys import CentralKeys
from kiosk.config import Config, PolicyConfig
from kiosk.store import RecordState
from kiosk.tui.app import KioskApp
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.print import PrintScreen
from kiosk.tui.screens.print_modals import BookStockModal, TrayCheckModal
from tests.printer.conftest import approved_record, issue
from tests.printer.test_station_recovery import stuck_in_printing
from tests.tui.test_flow import login_to_home, wait_for
from tests.tui.test_simulated_station import station_config  # noqa: F401 - fixture


def approved_with_permit(app: KioskApp, keys: CentralKeys, serial: int) -> tuple[str, str]:
    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    rid = approved_record(store, serial)
    store.policy = app.cfg.policy
    permit = issue(keys.signing, store, rid, station=app.cfg.station.id)
    station_permits.store_permit(store, rid, permit)
    return rid, permit.permit_id


def log_text(app: Any) -> str:
    return "\n".join(app.screen.failures) if isinstance(app.screen, PrintScreen) else ""


async def test_print_screen_books_stock_prints_and_asks_about_the_tray(station_config: Config, tmp_path: Path) -> None:  # noqa: F811
    # a station whose first delivery is not booked yet (the shipped simulated config books one)
    cfg = dataclasses.replace(station_config, stock=dataclasses.replace(station_config.stock, simulated_delivery=0))
    keys = CentralKeys.init(cfg.central.local.data_dir)  # the key the local central signs permits with
    AccountStore(cfg.accounts).add("budi", Role.SUPERVISOR, "rahasia456")
    app = KioskApp(cfg, sync=False)
    rid, _ = approved_with_permit(app, keys, 1)
    async with app.run_test(size=(120, 40)) as pilot:
        await login_to_home(pilot, "budi", "rahasia456")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PrintScreen) and app.screen.stock is not None, tries=200)
        await pilot.press("p")
        await wait_for(pilot, lambda: "0 blank cards are booked" in log_text(app), tries=400)
        assert app.store.get(rid).state is RecordState.APPROVED
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, BookStockModal))
        await pilot.press("3", "enter")
        await wait_for(pilot, lambda: "3 cards booked" in log_text(app), tries=200)
        await pilot.press("p")
        await wait_for(pilot, lambda: "printed (job" in log_text(app), tries=400)
        assert "PENDUDUK 1" in log_text(app)  # the resident, not the record id
        assert app.store.get(rid).state is RecordState.PRINTED
        assert app.station.stock().levels().cards == 2

        # a print interrupted after the card left the hopper: the next visit asks about the tray
        rid2, permit2 = approved_with_permit(app, keys, 2)
        counter = app.station.open_printer().supplies().total_printed
        stuck_in_printing(app.station, rid2, permit2, counter - 1)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen), tries=200)
        await pilot.pause(0.2)
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, (PrintScreen, TrayCheckModal)), tries=200)
        await wait_for(pilot, lambda: isinstance(app.screen, TrayCheckModal), tries=600)
        question = str(app.screen.query_one("#question").render())
        assert "PENDUDUK 2" in question and "320101******0002" in question and rid2 not in question
        await pilot.press("y")  # a bare letter does not answer: the answer books a card
        await pilot.pause(0.2)
        assert isinstance(app.screen, TrayCheckModal)
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: "booked as printed" in log_text(app), tries=400)
        assert app.store.get(rid2).state is RecordState.PRINTED
        assert station_permits.permit(app.store, permit2).status == "spent"  # type: ignore[union-attr]
