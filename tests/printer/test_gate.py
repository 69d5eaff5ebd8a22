"""The print gate refuses every permit that does not authorise exactly this card, here, now;
in each case nothing beyond the identify queries reached the printer mock."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device_mocks.evolis import EvolisMock
from kiosk.central.permit import PermitError
from kiosk.devices.errors import DeviceFault
from kiosk import permits as station_permits
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.printer.conftest import STATION, approved_record, issue

PRINT_COMMANDS = {"Pr", "Ss", "Sr", "Sv", "Db", "Se"}


def gate_for(store: RecordStore, key: Ed25519PrivateKey) -> PrintGate:
    return PrintGate(store, central_key=key.public_key(), station_id=STATION)


def assert_refused(store: RecordStore, key: Ed25519PrivateKey, printer: EvolisPrinterDriver, mock: EvolisMock,
                   rid: str, code: str) -> None:
    before = list(mock.commands)
    cards_before = len(mock.printed_cards())
    state_before = store.get(rid).state
    with pytest.raises((PrintRefused, PermitError)) as info:
        gate_for(store, key).print_record(rid, printer, actor="op")
    assert info.value.code == code
    assert mock.commands == before, "the printer received commands after a refusal"
    assert not PRINT_COMMANDS & set(mock.commands)
    assert len(mock.printed_cards()) == cards_before
    assert store.get(rid).state is state_before
    assert store.audit(rid)[-1].action == "print_refused"


def test_prints_with_a_valid_permit(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    outcome = gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert store.get(rid).state is RecordState.PRINTED
    assert station_permits.permit(store, permit.permit_id).status == "spent"
    assert len(mock.printed_cards()) == 1
    assert outcome.permit_id == permit.permit_id


def test_refuses_without_permit(store, central_key, printer, mock):
    rid = approved_record(store)
    assert_refused(store, central_key, printer, mock, rid, "print.no_permit")


def test_refuses_permit_for_another_record(store, central_key, printer, mock):
    rid, other = approved_record(store, 1), approved_record(store, 2)
    station_permits.store_permit(store, rid, issue(central_key, store, other))
    assert_refused(store, central_key, printer, mock, rid, "permit.record")


def test_refuses_permit_for_another_station(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid, station="OTHER-STATION"))
    assert_refused(store, central_key, printer, mock, rid, "permit.station")


def test_refuses_card_data_altered_after_approval(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    # tamper with the sealed identity directly in the database (no API allows it once approved)
    ident = store.identity(rid).to_dict()
    ident["full_name"] = "SOMEONE ELSE"
    blob = store.vault.seal(json.dumps(ident).encode(), f"identity:{rid}".encode())
    with store.transaction() as conn:
        conn.execute("UPDATE records SET identity=? WHERE id=?", (blob, rid))
    assert store.identity(rid).full_name == "SOMEONE ELSE"
    assert_refused(store, central_key, printer, mock, rid, "permit.card_data")


def test_refuses_altered_photo_after_approval(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    sealed = store.vault.seal(b"another face", f"sample:{rid}:face:0".encode())
    with store.transaction() as conn:
        conn.execute("UPDATE samples SET data=? WHERE record_id=? AND kind='face'", (sealed, rid))
    assert_refused(store, central_key, printer, mock, rid, "permit.card_data")


def test_refuses_expired_permit(store, central_key, printer, mock):
    rid = approved_record(store)
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    station_permits.store_permit(store, rid, issue(central_key, store, rid, now=old))
    assert_refused(store, central_key, printer, mock, rid, "permit.expired")


def test_refuses_reused_permit(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    mock.faults.add("jam")  # a card is fed and jams: the permit is consumed
    with pytest.raises(DeviceFault):
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    mock.faults.clear()
    mock.commands.clear()
    assert store.get(rid).state is RecordState.APPROVED
    assert station_permits.store_permit(store, rid, permit) is False  # re-delivery does not reset it
    assert_refused(store, central_key, printer, mock, rid, "print.permit_used")


def test_refuses_permit_signed_by_another_key(store, central_key, printer, mock):
    rid = approved_record(store)
    rogue = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    station_permits.store_permit(store, rid, issue(rogue, store, rid))
    assert_refused(store, central_key, printer, mock, rid, "permit.signature")


@pytest.mark.parametrize("state", [RecordState.SUBMITTED, RecordState.PRINTED])
def test_refuses_record_not_in_approved(store, central_key, printer, mock, state):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    if state is RecordState.PRINTED:
        gate_for(store, central_key).print_record(rid, printer, actor="op")
        mock.commands.clear()
        station_permits.store_permit(store, rid, issue(central_key, store, rid))  # even a fresh permit
        assert_refused(store, central_key, printer, mock, rid, "print.not_approved")
        assert len(mock.printed_cards()) == 1
    else:
        with store.transaction() as conn:  # a record still waiting for the central
            conn.execute("UPDATE records SET state='submitted' WHERE id=?", (rid,))
        assert_refused(store, central_key, printer, mock, rid, "print.not_approved")
