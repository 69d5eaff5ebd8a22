"""Fixtures for the printer tests: an approved record with samples, a central key, the Evolis mock."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.central.permit import PrintPermit
from kiosk.central.carddata import card_data_from_store
from kiosk.central.permit import card_data_hash
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.conftest import resident

STATION = "TEST-01"


def photo_bytes(seed: int = 1) -> bytes:
    img = Image.new("RGB", (240, 320), (110 + seed % 50, 90, 70))
    ImageDraw.Draw(img).ellipse((60, 60, 180, 220), fill=(210, 170, 140))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def signature_bytes(seed: int = 1) -> bytes:
    img = Image.new("L", (400, 150), 255)
    ImageDraw.Draw(img).line([(10, 100), (90 + seed, 20), (200, 120), (380, 30)], fill=0, width=5)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def approved_record(store: RecordStore, serial: int = 1) -> str:
    rec = store.create_draft(resident(serial), actor="op")
    store.put_sample(rec.id, kind="face", data=photo_bytes(serial), format="image/jpeg", actor="op")
    store.put_sample(rec.id, kind="signature", data=signature_bytes(serial), format="image/png", actor="op")
    for state in (RecordState.CAPTURED, RecordState.QUEUED, RecordState.SUBMITTED, RecordState.APPROVED):
        store.transition(rec.id, state, actor="op")
    return rec.id


def card_hash_now(store: RecordStore, record_id: str, issued_at: str) -> str:
    """What the central hashes for this record's card under a permit issued at ``issued_at``."""
    return card_data_hash(card_data_from_store(store, record_id, issued_at=issued_at))


def issue(key: Ed25519PrivateKey, store: RecordStore, record_id: str, *, station: str = STATION,
          for_record: str | None = None, card_hash: str | None = None, now: dt.datetime | None = None,
          **kw: Any) -> PrintPermit:
    """A permit as the central issues it (same card data function, same issue date rule)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return PrintPermit.issue(key, permit_id=str(uuid.uuid4()), record_id=for_record or record_id, station_id=station,
                             card_hash=card_hash or card_hash_now(store, record_id, now.isoformat()), now=now, **kw)


@pytest.fixture
def central_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def mock(tmp_path: Path) -> EvolisMock:
    return EvolisMock(tmp_path / "evolis", cards=20, ribbon_left=150)


@pytest.fixture(params=["usb", "pty"])
def wire_printer(request: pytest.FixtureRequest, mock: EvolisMock) -> Iterator[EvolisPrinterDriver]:
    """The same driver over either wire of the mock: pyusb backend, or a pty (serial connection)."""
    from device_mocks.evolis import PtyServer

    if request.param == "usb":
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=1.0),
                                  connection=usb_connection(mock))
        server = None
    else:
        server = PtyServer(mock)
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(connection="serial", port=server.path,
                                                                        timeout_s=0.5, print_timeout_s=2.0))
    drv.open()
    yield drv
    drv.close()
    if server is not None:
        server.close()


@pytest.fixture
def printer(mock: EvolisMock) -> Iterator[EvolisPrinterDriver]:
    params = EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=1.0)
    drv = EvolisPrinterDriver("printer", params, connection=usb_connection(mock))
    drv.open()
    yield drv
    drv.close()
