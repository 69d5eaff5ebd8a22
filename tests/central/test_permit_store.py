"""One permit store and one card data function between the sync worker and the print gate:
a permit from the real central verifies and prints at the gate; permits of an older station
database move to the gate's ledger; reprint requests queued by the gate reach the central."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.central.carddata import card_from_store, issue_date
from kiosk.printer import ledger
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate
from kiosk.store import RecordState as S
from kiosk.store.schema import migrate
from kiosk.sync import worker as sync_worker
from kiosk.sync.worker import permits
from tests.central.conftest import enroll
from tests.conftest import resident


@pytest.fixture
def printer(tmp_path: Path):  # type: ignore[no-untyped-def]
    mock = EvolisMock(tmp_path / "evolis", cards=10, ribbon_left=100)
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5, print_timeout_s=2.0),
                              connection=usb_connection(mock))
    drv.open()
    yield mock, drv
    drv.close()


def test_permit_from_the_central_prints_at_the_gate_with_its_issue_date(make_station, central, printer) -> None:  # type: ignore[no-untyped-def]
    mock, drv = printer
    st = make_station()
    rid = enroll(st.store, resident(1))
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    [row] = ledger.permits_for(st.store, rid)  # stored where the gate reads it, by the approval
    assert row.status == "received" and row.permit is not None
    gate = PrintGate(st.store, central_key=central.registry.keys.signing_public, station_id="ST-01")
    prep = gate.prepare(rid)  # every check, with the same card data the central hashed
    assert prep.data["tanggal_terbit"] == issue_date(row.permit.issued_at)
    gate.print_record(rid, drv, actor="op")
    assert st.store.get(rid).state is S.PRINTED and len(mock.printed_cards()) == 1
    assert ledger.permits_for(st.store, rid)[0].status == "spent"
    assert [p.permit_id for p in permits(st.store, rid)] == [row.permit_id]  # the sync API reads the same rows


def test_printed_card_carries_the_card_data_the_permit_covers(make_station, central) -> None:  # type: ignore[no-untyped-def]
    from kiosk.printer.layout import render_card

    st = make_station()
    rid = enroll(st.store, resident(2))
    st.worker.run_once()
    [row] = ledger.permits_for(st.store, rid)
    assert row.permit is not None
    card = card_from_store(st.store, rid, issued_at=row.permit.issued_at)
    other_day = card_from_store(st.store, rid, issued_at="2020-01-02T00:00:00+00:00")
    # the date printed is part of the signed data: another date is another card
    assert not np.array_equal(render_card(card.data, photo=card.photo, signature=card.signature),
                              render_card(other_day.data, photo=card.photo, signature=card.signature))


def test_permits_of_an_older_station_database_move_to_the_print_ledger(tmp_path: Path) -> None:
    from kiosk.config import PolicyConfig
    from kiosk.store import RecordStore

    store = RecordStore(tmp_path / "station", policy=PolicyConfig(required_fingers=(1, 6)))
    rid = enroll(store, resident(3))
    conn = store.conn
    migrate(conn, "sync", sync_worker.SYNC_MIGRATIONS, target=1)  # the schema before the merge
    body = {"permit_id": "p-old", "record_id": rid, "station_id": "ST-01", "card_hash": "x" * 64,
            "issued_at": "2026-11-01T00:00:00+00:00", "expires_at": "2026-12-01T00:00:00+00:00",
            "signature": "", "version": 1}
    conn.execute("INSERT INTO sync_permits(permit_id, record_id, permit, source, received_at) VALUES (?,?,?,?,?)",
                 ("p-old", rid, json.dumps(body), "reprint", "2026-11-01T00:00:01+00:00"))
    sync_worker.ensure_schema(store)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name='sync_permits'").fetchone() is None
    [row] = ledger.permits_for(store, rid)
    assert (row.permit_id, row.status, row.received_at) == ("p-old", "received", "2026-11-01T00:00:01+00:00")
    assert conn.execute("SELECT source FROM print_permits").fetchone()[0] == "reprint"
    store.close()


def _queue_reprint(store, rid: str, permit_id: str) -> None:  # type: ignore[no-untyped-def]
    # what the gate writes when a card was fed and spoiled (see PrintGate._failed)
    ledger.ensure_schema(store)
    with store.transaction() as conn:
        conn.execute("UPDATE print_permits SET status='spoiled' WHERE permit_id=?", (permit_id,))
        conn.execute("INSERT INTO reprint_requests(record_id, permit_id, reason, created_at) VALUES (?,?,?,?)",
                     (rid, permit_id, "printer.jam", "2026-11-23T00:00:00+00:00"))


def test_sync_pass_answers_a_reprint_request_once_with_a_verified_permit(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(4))
    st.worker.run_once()
    [old] = ledger.permits_for(st.store, rid)
    _queue_reprint(st.store, rid, old.permit_id)
    assert st.worker.run_once()["reprints"] == 1
    rows = ledger.permits_for(st.store, rid)
    assert [(r.status, r.permit_id == old.permit_id) for r in rows] == [("spoiled", True), ("received", False)]
    [req] = ledger.reprint_requests(st.store)
    assert req["new_permit_id"] == rows[1].permit_id and req["sent_at"] and req["error"] is None
    assert st.worker.run_once()["reprints"] == 0  # answered: never asked again
    assert len(ledger.permits_for(st.store, rid)) == 2


def test_reprint_request_the_central_refuses_is_closed_with_its_code(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(5))
    st.worker.run_once()
    [old] = ledger.permits_for(st.store, rid)
    with st.store.transaction() as conn:  # a permit id the central never issued
        conn.execute("INSERT INTO print_permits(permit_id, record_id, body, received_at) VALUES (?,?,?,?)",
                     ("not-from-central", rid, "{}", "2026-11-23T00:00:00+00:00"))
    _queue_reprint(st.store, rid, "not-from-central")
    assert st.worker.run_once()["reprints"] == 0
    [req] = ledger.reprint_requests(st.store)
    assert req["error"] == "reprint.unknown_permit" and req["new_permit_id"] is None
    assert any(e.action == "reprint_refused" for e in st.store.audit(rid))
    assert ledger.reprint_requests(st.store, unsent_only=True) == []
    assert {r.permit_id for r in ledger.permits_for(st.store, rid)} == {old.permit_id, "not-from-central"}


def test_reprint_request_waits_while_the_central_is_unreachable(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(6))
    st.worker.run_once()
    [old] = ledger.permits_for(st.store, rid)
    _queue_reprint(st.store, rid, old.permit_id)
    central.faults.set(outage_s=60)  # every request answered 503
    assert st.worker.run_once()["reprints"] == 0
    assert len(ledger.reprint_requests(st.store, unsent_only=True)) == 1
    central.faults.set(outage_s=0)
    assert st.worker.run_once()["reprints"] == 1


def test_permit_table_is_the_gates_only(tmp_path: Path) -> None:
    from kiosk.config import PolicyConfig
    from kiosk.store import RecordStore

    store = RecordStore(tmp_path / "s", policy=PolicyConfig(required_fingers=()))
    sync_worker.ensure_schema(store)
    names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "print_permits" in names and not {n for n in names if "permit" in n} - {"print_permits"}
    store.close()
