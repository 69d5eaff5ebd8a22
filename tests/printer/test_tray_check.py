"""After an interrupted print the operator is asked, by the resident's name and masked NIK, to look
in the output tray (issue 13 §2): a good card is booked as printed, a bad one as spoiled with a
reprint request. On a terminal ``kiosk print`` asks; otherwise it leaves the check pending and
says how to answer."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

from kiosk import permits as station_permits
from kiosk.cli import printing
from kiosk.config import load_config
from kiosk.i18n import set_language
from kiosk.station import Station
from kiosk.store.states import RecordState
from tests.conftest import run_kiosk
from tests.printer.conftest import approved_record, issue
from tests.printer.test_station_recovery import config, pem, stuck_in_printing


def interrupted_station(tmp_path: Path, central_key) -> tuple[Path, str, str]:  # type: ignore[no-untyped-def]
    """A station whose print died after the printer's counter moved (a card came out)."""
    (tmp_path / "central.pem").write_bytes(pem(central_key))
    path = config(tmp_path, 'url = "https://central.invalid"\npublic_key = "central.pem"')
    with Station(load_config(path)) as st:
        rid = approved_record(st.store)
        permit = issue(central_key, st.store, rid)
        station_permits.store_permit(st.store, rid, permit)
        counter = st.open_printer().supplies().total_printed
        stuck_in_printing(st, rid, permit.permit_id, counter - 1)
    return path, rid, permit.permit_id


def test_without_a_terminal_the_check_stays_pending_with_a_line_naming_the_resident(tmp_path, central_key):  # type: ignore[no-untyped-def]
    path, rid, permit_id = interrupted_station(tmp_path, central_key)
    result = run_kiosk("--config", str(path), "--lang", "en", "print", "--approved")
    assert "PENDUDUK 1" in result.stderr and "320101******0001" in result.stderr
    assert "--tray good" in result.stderr  # what to do next
    assert rid not in result.stderr  # the resident, not the record's UUID
    as_json = json.loads(run_kiosk("--config", str(path), "print", "--approved", "--json").stdout)
    assert as_json["tray_checks"] == [{"record_id": rid, "name": "PENDUDUK 1", "nik": "320101******0001",
                                       "tray_check": "pending"}]
    good = run_kiosk("--config", str(path), "--lang", "en", "print", rid[:8], "--tray", "good")
    assert good.returncode == 0, good.stderr
    assert "booked as printed" in good.stdout
    store = load_config(path)
    with Station(store) as st:
        assert st.store.get(rid).state is RecordState.PRINTED
        assert station_permits.permit(st.store, permit_id).status == "spent"  # type: ignore[union-attr]


def test_on_a_terminal_the_operator_answers_and_a_bad_card_is_spoiled(tmp_path, central_key, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    path, rid, permit_id = interrupted_station(tmp_path, central_key)
    asked: list[str] = []

    def answer(question: str) -> str:
        asked.append(question)
        return "maybe" if len(asked) == 1 else "t"

    monkeypatch.setattr(builtins, "input", answer)
    set_language("id")
    with Station(load_config(path)) as st:
        st.open_printer()
        [row] = printing._tray_checks(st.print_desk(), interactive=True)
        assert row["tray_check"] == "spoiled_reprint_needed"
        assert "PENDUDUK 1" in asked[0] and "320101******0001" in asked[0] and "baki keluaran" in asked[0]
        assert len(asked) == 2  # an unclear answer is asked again
        assert st.store.get(rid).state is RecordState.APPROVED
        assert station_permits.permit(st.store, permit_id).status == "spoiled"  # type: ignore[union-attr]
        [req] = station_permits.reprint_requests(st.store)
        assert req["record_id"] == rid
    assert "Hancurkan kartu itu" in capsys.readouterr().err
