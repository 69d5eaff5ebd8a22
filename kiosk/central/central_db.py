"""The central registry's database: its tables (migrations), one connection guarded by one
lock, and the transaction every operation runs in (:class:`RegistryTx`); the error a request
the central refuses raises (:class:`CentralError`). Shared by the registry's two halves:
uploads and ingest (:mod:`kiosk.central.uploads`) and decisions, dedup, deletions, reprints
(:mod:`kiosk.central.registry`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from typing import Any, Protocol

from kiosk.central.abis import dedup
from kiosk.errors import KioskError

CENTRAL_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE stations (
        station_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        region TEXT NOT NULL DEFAULT '',
        registered_at TEXT NOT NULL
    );
    CREATE TABLE uploads (
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        station_id TEXT NOT NULL,
        length INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        offset INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        completed_at TEXT,
        PRIMARY KEY (record_id, submission)
    );
    CREATE TABLE upload_chunks (
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (record_id, submission, offset)
    );
    CREATE TABLE records (
        record_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        nik TEXT NOT NULL,
        region TEXT NOT NULL,
        identity TEXT NOT NULL,
        photo_sha256 TEXT NOT NULL,
        signature_sha256 TEXT,
        packet BLOB NOT NULL,
        status TEXT NOT NULL,
        received_at TEXT NOT NULL,
        decide_after REAL NOT NULL
    );
    CREATE INDEX records_status ON records(status, decide_after);
    CREATE TABLE persons (
        nik TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        station_id TEXT NOT NULL,
        region TEXT NOT NULL
    );
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        decision TEXT NOT NULL,
        body TEXT NOT NULL,
        decided_at TEXT NOT NULL
    );
    CREATE INDEX decisions_station ON decisions(station_id, seq);
    CREATE TABLE permits (
        permit_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        station_id TEXT NOT NULL,
        body TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT 'approval',
        issued_at TEXT NOT NULL
    );
    CREATE TABLE deletions (
        request_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        target_record TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        answer_after REAL NOT NULL,
        answered_at TEXT,
        UNIQUE (record_id, submission)
    );
    CREATE TABLE refusals (
        id INTEGER PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        code TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    # issue 13: a reprint request carries the station's request id and a retry gets the first
    # answer (never a second permit); each station's audit checkpoints are kept here, so cutting
    # the newest entries at the station shows against the central's copy
    """
    CREATE TABLE reprint_requests (
        request_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        permit_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    ALTER TABLE deletions ADD COLUMN station_request_id TEXT;
    CREATE TABLE audit_checkpoints (
        station_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        entries INTEGER NOT NULL,
        prev INTEGER NOT NULL,
        signed_at TEXT NOT NULL,
        signature TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (station_id, seq)
    )
    """,
    dedup.ADJUDICATION_SCHEMA,
]


class CentralError(KioskError):
    """A request the central refuses; ``status`` is the HTTP status it answers with."""

    code = "central.error"
    status = 400

    def __init__(self, code: str | None = None, /, *, status: int | None = None, **params: Any) -> None:
        super().__init__(code, **params)
        if status is not None:
            self.status = status


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class RegistryDb(Protocol):
    """What :class:`RegistryTx` needs of the registry: its lock, connection and commit count."""

    lock: threading.RLock
    conn: sqlite3.Connection
    _commits: int


class RegistryTx:
    """``with registry._tx() as conn``: the registry lock plus one IMMEDIATE transaction."""

    def __init__(self, reg: RegistryDb, durable: bool = True) -> None:
        self.reg = reg
        self.durable = durable
        #: the registry's commit count after this transaction committed (for _group_sync)
        self.generation = 0

    def __enter__(self) -> sqlite3.Connection:
        self.reg.lock.acquire()
        self.reg.conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        self.reg.conn.execute("BEGIN IMMEDIATE")
        return self.reg.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            # a CentralError raised after some writes still commits what a refusal must keep
            # (the refusal log, the dropped upload); any other exception rolls back
            if exc_type is None or (isinstance(exc, CentralError) and exc.status == 422):
                self.reg.conn.execute("COMMIT")
                self.reg._commits += 1
                self.generation = self.reg._commits
            else:
                self.reg.conn.execute("ROLLBACK")
        finally:
            self.reg.lock.release()
