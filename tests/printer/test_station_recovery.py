"""Station.open_printer resolves records a crash left in ``printing`` before anything prints,
pinning the same central key as the sync worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.config import load_config
from kiosk.errors import KioskError
from kiosk import permits as station_permits
from kiosk.station import Station
from kiosk.store.queue import now_iso
from kiosk.store.states import RecordState
from tests.conftest import BASE_CONFIG
from tests.printer.conftest import STATION, approved_record, issue

PRINTER = """
[policy]
required_fingers = []
require_face = false
require_signature = false

[devices.printer]
driver = "evolis"
mock = "evolis"
timeout_s = 2.0
"""


def config(tmp_path: Path, central: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.replace('url = "local"', central) + PRINTER)
    return path


def pem(key) -> bytes:  # type: ignore[no-untyped-def]
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def stuck_in_printing(station: Station, rid: str, permit_id: str, counter_before: int) -> None:
    """What the gate leaves behind when the process dies after committing the print start."""
    def use(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute("UPDATE print_permits SET status='in_use', used_at=? WHERE permit_id=?", (now_iso(), permit_id))
        conn.execute("INSERT INTO prints(record_id, permit_id, printer, state, started_at, counter_before)"
                     " VALUES (?,?,?,?,?,?)", (rid, permit_id, "printer", "started", now_iso(), counter_before))

    station.store.transition(rid, RecordState.PRINTING, actor="op", expect=RecordState.APPROVED, extra=use)


def test_open_printer_recovers_a_print_interrupted_before_any_card_moved(tmp_path, central_key) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "central.pem").write_bytes(pem(central_key))
    cfg = load_config(config(tmp_path, 'url = "https://central.invalid"\npublic_key = "central.pem"'))
    assert cfg.station.id == STATION
    with Station(cfg) as station:
        rid = approved_record(station.store)
        permit = issue(central_key, station.store, rid)
        station_permits.store_permit(station.store, rid, permit)
        printer = station.open_printer()
        assert station.recovered == []
        counter = printer.supplies().total_printed
        assert counter is not None
        stuck_in_printing(station, rid, permit.permit_id, counter)
        station.devices.close()  # the "restart": the printer is opened anew
        station.open_printer()
        assert station.recovered == [(rid, "permit_reusable")]
        assert station.store.get(rid).state is RecordState.APPROVED
        assert station_permits.permit(station.store, permit.permit_id).status == "received"  # type: ignore[union-attr]
        station.print_gate().print_record(rid, station.open_printer(), actor="op")
        assert station.store.get(rid).state is RecordState.PRINTED


def test_local_central_key_is_the_one_the_local_central_signs_with(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central.keys import CentralKeys
    from kiosk.central.pinning import pinned_permit_key

    cfg = load_config(config(tmp_path, 'url = "local"'))
    with Station(cfg) as station, pytest.raises(KioskError) as info:
        station.open_printer()  # the local central never started: no key, printing locked
    assert info.value.code == "print.no_central_key"
    keys = CentralKeys.init(cfg.central.local.data_dir)  # what the local central creates at first start
    assert pem_of(pinned_permit_key(cfg)) == pem_of(keys.signing_public)


def pem_of(public) -> bytes:  # type: ignore[no-untyped-def]
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
