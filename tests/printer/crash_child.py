"""Child process for the kill -9 test: prints one record against a mock that hangs mid-job."""

from __future__ import annotations

import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.config import PolicyConfig
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate
from kiosk.store import RecordStore


def main(data_dir: str, mock_dir: str, record_id: str, fault: str) -> None:
    store = RecordStore(Path(data_dir), policy=PolicyConfig(required_fingers=(), require_face=False,
                                                            require_signature=False))
    mock = EvolisMock(Path(mock_dir), faults={fault})
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5, print_timeout_s=600.0),
                              connection=usb_connection(mock))
    drv.open()
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    PrintGate(store, central_key=key.public_key(), station_id="TEST-01").print_record(record_id, drv, actor="op")
    print("finished", flush=True)  # never reached: the mock hangs until we are killed


if __name__ == "__main__":
    main(*sys.argv[1:5])
