"""What the upload-protocol property tests share (tests/central/test_upload_protocol.py,
tests/sync/test_upload_ranges.py): a central with one registered station, and a small sealed
packet from it."""

from __future__ import annotations

from pathlib import Path

from kiosk.central.keys import StationKeys
from kiosk.central.packet import CONTENT_FORMAT, seal
from kiosk.central.permit import canonical_json
from kiosk.central.registry import CentralRegistry


def upload_world(tmp: Path) -> tuple[CentralRegistry, StationKeys]:
    reg = CentralRegistry(tmp / "central", decision_delay_s=3600)
    reg.conn.execute("PRAGMA synchronous=OFF")  # these tests are about the protocol, not durability
    keys = StationKeys.init(tmp / "station")
    reg.register_station("ST-01", keys.public, "320101")
    return reg, keys


def small_packet(reg: CentralRegistry, keys: StationKeys, record_id: str) -> bytes:
    content = canonical_json({"format": CONTENT_FORMAT, "record_id": record_id, "station_id": "ST-01",
                              "identity": {"nik": "3201011705900001"}, "samples": [], "padding": "x" * 3000})
    return seal(content, record_id=record_id, station_id="ST-01", submission=1, station_key=keys.signing,
                central_key=reg.keys.sealing_public)
