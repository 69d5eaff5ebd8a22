"""Station.print is the one print path (issue 13 §4): no card without a blank card booked, the book
goes down with each card, a signed checkpoint at every print, and the UI and the CLI read the same
stock figures (issue 11 §5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from kiosk import permits as station_permits
from kiosk.config import load_config
from kiosk.i18n import describe
from kiosk.ops.audit import checkpoints, verify_audit_log
from kiosk.central.keys import StationKeys
from kiosk.printer.desk import mask_nik
from kiosk.printer.stock import NoBlankCards
from kiosk.station import Station
from kiosk.store.states import RecordState
from tests.conftest import run_kiosk
from tests.printer.test_station_recovery import config, pem
from tests.printer.conftest import approved_record, issue


@pytest.fixture
def station(tmp_path: Path, central_key) -> Iterator[tuple[Station, Path]]:  # type: ignore[no-untyped-def]
    (tmp_path / "central.pem").write_bytes(pem(central_key))
    path = config(tmp_path, 'url = "https://central.invalid"\npublic_key = "central.pem"')
    with Station(load_config(path)) as st:
        yield st, path


def test_no_card_prints_with_zero_blank_cards_booked(station, central_key) -> None:  # type: ignore[no-untyped-def]
    st, _ = station
    rid = approved_record(st.store)
    station_permits.store_permit(st.store, rid, issue(central_key, st.store, rid))
    with pytest.raises(NoBlankCards) as info:
        st.print(rid, actor="op")
    assert "0 blank cards are booked" in describe(info.value, "en")
    assert "kiosk stock add" in describe(info.value, "en")  # and what to do about it
    assert st.store.get(rid).state is RecordState.APPROVED
    assert st.store.audit(rid)[-1].action == "print_refused"
    assert st.store.audit(rid)[-1].reason == "print.no_cards"


def test_printing_takes_a_card_off_the_book_and_signs_a_checkpoint(station, central_key) -> None:  # type: ignore[no-untyped-def]
    st, _ = station
    ids = [approved_record(st.store, n) for n in (1, 2)]
    for rid in ids:
        station_permits.store_permit(st.store, rid, issue(central_key, st.store, rid))
    st.stock().add_cards(2, actor="supervisor")
    for rid in ids:
        st.print(rid, actor="op")
        last = st.store.conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
        # the unsigned tail after a print is empty: the print's own outcome is signed
        assert checkpoints(st.store.conn)[-1].seq == last
    assert st.stock().levels().cards == 0 and st.stock().levels().printed == 2
    with pytest.raises(NoBlankCards):  # the book is empty again
        approved = approved_record(st.store, 3)
        station_permits.store_permit(st.store, approved, issue(central_key, st.store, approved))
        st.print(approved, actor="op")
    report = verify_audit_log(st.store, StationKeys.public_key_of(st.cfg.station.data_dir))
    assert report.ok, report.findings


def test_ui_and_cli_show_the_same_stock_figures(station, central_key) -> None:  # type: ignore[no-untyped-def]
    st, path = station
    st.stock().add_cards(5, actor="supervisor")
    printer = st.open_printer()
    ui = st.stock().levels(printer)  # what the UI shows: it holds the printer and asks it
    assert ui.ribbon_source == "printer" and ui.ribbon_panels is not None
    st.close()  # the CLI runs while nobody holds the printer
    cli = json.loads(run_kiosk("--config", str(path), "stock", "--json").stdout)
    assert (cli["cards"], cli["ribbon_panels"], cli["ribbon_source"]) == (5, ui.ribbon_panels, "printer")
    words = run_kiosk("--config", str(path), "--lang", "en", "stock").stdout
    assert "Blank cards booked: 5" in words and f"{ui.ribbon_panels} prints" in words
    assert "unknown" not in words


def test_masked_nik_keeps_region_and_last_digits() -> None:
    assert mask_nik("3201011705900001") == "320101******0001"
    assert mask_nik("123") == "***"


