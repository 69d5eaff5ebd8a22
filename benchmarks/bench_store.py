"""Record store throughput: state transitions per second (each one fsync'd transaction)
against a plain sqlite3 UPDATE+INSERT loop with the same durability settings."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import result
from kiosk.config import PolicyConfig
from kiosk.identity import Identity
from kiosk.nik import make_nik
from kiosk.store import RecordState, RecordStore

N = 300


def _plain(path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, state TEXT)")
    conn.execute("CREATE TABLE a (seq INTEGER PRIMARY KEY, rid INTEGER, s TEXT)")
    conn.executemany("INSERT INTO r VALUES (?, 'draft')", [(i,) for i in range(N)])
    t = time.perf_counter()
    for i in range(N):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE r SET state='captured' WHERE id=?", (i,))
        conn.execute("INSERT INTO a(rid, s) VALUES (?, 'captured')", (i,))
        conn.execute("COMMIT")
    return N / (time.perf_counter() - t)


def bench_store_transitions() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        store = RecordStore(Path(tmp) / "s", policy=PolicyConfig(required_fingers=(), require_face=False,
                                                                 require_signature=False))
        ids = []
        for i in range(N):
            nik = make_nik("320101", dt.date(1990, 1, 1), "M", i + 1)
            ident = Identity(nik=nik, full_name="X", birth_place="Bogor", birth_date=dt.date(1990, 1, 1), sex="M")
            ids.append(store.create_draft(ident, actor="bench").id)
        t = time.perf_counter()
        for rid in ids:
            store.transition(rid, RecordState.CAPTURED, actor="bench")
        ours = N / (time.perf_counter() - t)
        base = _plain(Path(tmp) / "plain.db")
    return [result("store_transitions", "transitions_per_s", ours, "1/s", base)]


BENCHES = {"store_transitions": bench_store_transitions}
