"""Station operations: ``kiosk audit verify`` speed and offline export throughput.

- audit_verify: entries/s checked by verify_audit_log (chain + signed checkpoints) against the
  plain floor of the same work: reading the rows and one SHA-256 per row, nothing else.
- export: MB/s written by export_queued (packets + fsync + signed manifest + tracking rows)
  against a plain loop writing and fsyncing the same bytes to the same kind of folder.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import result
from kiosk.central.keys import StationKeys
from kiosk.config import PolicyConfig
from kiosk.identity import Identity
from kiosk.nik import make_nik
from kiosk.ops.audit import checkpoint_if_due, verify_audit_log
from kiosk.ops.export import export_queued
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordState, RecordStore

RECORDS = 400
PACKET = 256 * 1024  # a sealed packet: face + ten WSQ fingers + signature, roughly


def _station(tmp: Path) -> tuple[RecordStore, Any, list[str]]:
    store = RecordStore(tmp / "s", policy=PolicyConfig(required_fingers=(), require_face=False,
                                                      require_signature=False))
    ensure_ops_tables(store)
    key = StationKeys.init(tmp / "s").signing
    ids = []
    for i in range(RECORDS):
        nik = make_nik("320101", dt.date(1990, 1, 1), "M", i + 1)
        rid = store.create_draft(Identity(nik=nik, full_name="X", birth_place="BOGOR", birth_date=dt.date(1990, 1, 1),
                                          sex="M"), actor="bench").id
        store.transition(rid, RecordState.CAPTURED, actor="bench")
        store.transition(rid, RecordState.QUEUED, actor="bench")
        checkpoint_if_due(store, key, 100)
        ids.append(rid)
    return store, key, ids


def _plain_hash(path: Path) -> float:
    conn = sqlite3.connect(path)
    t = time.perf_counter()
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    for r in rows:
        hashlib.sha256(json.dumps(list(r[:9]), separators=(",", ":")).encode()).hexdigest()
    return len(rows) / (time.perf_counter() - t)


def bench_ops() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        store, key, ids = _station(tmp)
        t = time.perf_counter()
        report = verify_audit_log(store, key.public_key())
        verify_rate = report.entries / (time.perf_counter() - t)
        assert report.ok
        base_verify = _plain_hash(store.path)

        payload = os.urandom(PACKET)
        (tmp / "usb").mkdir()
        t = time.perf_counter()
        export_queued(store, tmp / "usb", seal_packet=lambda rid: payload, key=key, station_id="BENCH",
                      actor="bench")
        ours = RECORDS * PACKET / (time.perf_counter() - t) / 1e6
        (tmp / "plain").mkdir()
        t = time.perf_counter()
        for rid in ids:
            with open(tmp / "plain" / f"{rid}.pkt", "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
        plain = RECORDS * PACKET / (time.perf_counter() - t) / 1e6
        store.close()
    return [result("audit_verify", "entries_per_s", verify_rate, "1/s", base_verify),
            result("export", "MB_per_s", ours, "MB/s", plain)]


BENCHES = {"ops": bench_ops}
