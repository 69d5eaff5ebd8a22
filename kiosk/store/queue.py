"""RecordStore: the durable local queue of enrollment records.

- SQLite in WAL mode with ``synchronous=FULL`` and foreign keys on; one connection per thread.
- Every state change is one ``BEGIN IMMEDIATE`` transaction that also writes an audit row
  (hash-chained to the previous one); callers can add their own statements to that same
  transaction (``extra=``), e.g. the sync worker storing the central's receipt.
- Identity and samples are sealed with the station data key (:mod:`kiosk.store.vault`).
- Tables and their migrations: :mod:`kiosk.store.records_schema`; the audit hash chain:
  :mod:`kiosk.store.audit_chain`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator


from kiosk.config import PolicyConfig
from kiosk.datafolder import private_file, private_folder
from kiosk.errors import InputError, KioskError
from kiosk.identity import Identity
from kiosk.store.audit_chain import GENESIS, AuditEntry, audit_hash, now_iso
from kiosk.store.capture_policy import CapturePolicy
from kiosk.store.records_schema import RECORDS_MIGRATIONS, connect
from kiosk.store.schema import migrate
from kiosk.store.states import EDITABLE, HOLDS_NIK, TRANSITIONS, RecordState
from kiosk.store.vault import Vault

class StoreError(KioskError):
    code = "store.error"


class IllegalTransition(StoreError):
    code = "store.illegal_transition"


class DuplicateNik(InputError):
    """The station already holds this NIK (in any state but cancelled)."""

    code = "store.duplicate_nik"


class IncompleteRecord(StoreError):
    """The record lacks samples the capture policy requires; ``params['missing']`` lists them."""

    code = "store.incomplete"


class UnknownRecord(InputError):
    code = "store.unknown_record"


@dataclass(frozen=True)
class Record:
    id: str
    state: RecordState
    nik_hash: str
    created_at: str
    updated_at: str
    created_by: str
    step: str


@dataclass(frozen=True)
class SampleMeta:
    id: int
    record_id: str
    kind: str  # face | finger | finger_template | iris | signature | signature_points
    position: int  # ISO finger position for fingers, eye label (1 right, 2 left) for irises, 0 otherwise
    format: str  # MIME type or standard name (image/jpeg, image/png, wsq, iso19794-2)
    quality: float | None
    metadata: dict[str, Any]
    captured_at: str
    size: int = 0


class RecordStore(CapturePolicy):
    """The station's record queue. Safe to share between threads (one connection each)."""

    def __init__(self, data_dir: Path, *, policy: PolicyConfig | None = None, vault: Vault | None = None) -> None:
        self.data_dir = Path(data_dir)
        private_folder(self.data_dir)
        self.path = private_file(self.data_dir / "station.db")
        self.policy = policy or PolicyConfig()
        self.vault = vault or Vault.open(self.data_dir)
        self._local = threading.local()
        migrate(self.conn, "records", RECORDS_MIGRATIONS)

    # -- connections and transactions --------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: all of it lands, or none of it."""
        conn = self.conn
        if conn.in_transaction:  # nested use joins the outer transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- audit ----------------------------------------------------------------------------------
    def write_audit(self, conn: sqlite3.Connection, actor: str, action: str, *, record_id: str | None = None,
                    from_state: str | None = None, to_state: str | None = None, reason: str = "",
                    params: dict[str, Any] | None = None) -> None:
        """Append one hash-chained audit entry inside the caller's transaction."""
        row = conn.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        prev = row[0] if row else GENESIS
        ts = now_iso()
        p = json.dumps(params or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        h = audit_hash(prev, ts, actor, action, record_id, from_state, to_state, reason, p)
        conn.execute(
            "INSERT INTO audit(ts, actor, action, record_id, from_state, to_state, reason, params, prev_hash, hash)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (ts, actor, action, record_id, from_state, to_state, reason, p, prev, h),
        )

    def audit(self, record_id: str | None = None, *, limit: int | None = None) -> list[AuditEntry]:
        sql = "SELECT * FROM audit" + (" WHERE record_id = ?" if record_id else "") + " ORDER BY seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self.conn.execute(sql, (record_id,) if record_id else ()).fetchall()
        return [AuditEntry(r["seq"], r["ts"], r["actor"], r["action"], r["record_id"], r["from_state"],
                           r["to_state"], r["reason"], json.loads(r["params"]), r["prev_hash"], r["hash"]) for r in rows]

    def verify_audit(self) -> int | None:
        """Seq of the first audit entry whose chain breaks (altered, removed, reordered), else None."""
        prev = GENESIS
        for r in self.conn.execute("SELECT * FROM audit ORDER BY seq"):
            expect = audit_hash(prev, r["ts"], r["actor"], r["action"], r["record_id"], r["from_state"],
                                r["to_state"], r["reason"], r["params"])
            if r["prev_hash"] != prev or r["hash"] != expect:
                return int(r["seq"])
            prev = r["hash"]
        return None

    # -- records ------------------------------------------------------------------------------
    @staticmethod
    def _record(row: sqlite3.Row) -> Record:
        return Record(row["id"], RecordState(row["state"]), row["nik_hash"], row["created_at"],
                      row["updated_at"], row["created_by"], row["step"])

    def _seal_identity(self, record_id: str, identity: Identity) -> bytes:
        return self.vault.seal(json.dumps(identity.to_dict(), ensure_ascii=False).encode(), f"identity:{record_id}".encode())

    def holder_of(self, nik: str, conn: sqlite3.Connection | None = None) -> Record | None:
        """The record at this station that holds ``nik`` (any state but cancelled), if any."""
        c = conn or self.conn
        placeholders = ",".join("?" * len(HOLDS_NIK))
        row = c.execute(
            f"SELECT * FROM records WHERE nik_hash = ? AND state IN ({placeholders}) LIMIT 1",
            (self.vault.nik_hash(nik), *sorted(HOLDS_NIK)),
        ).fetchone()
        return self._record(row) if row else None

    def create_draft(self, identity: Identity, *, actor: str, record_id: str | None = None) -> Record:
        """Start a record. Refused when this station already holds the NIK."""
        rid = record_id or str(uuid.uuid4())
        ts = now_iso()
        with self.transaction() as conn:
            holder = self.holder_of(identity.nik, conn)
            if holder is not None:
                raise DuplicateNik(record_id=holder.id, state=str(holder.state))
            conn.execute(
                "INSERT INTO records(id, nik_hash, state, identity, created_at, updated_at, created_by)"
                " VALUES (?,?,?,?,?,?,?)",
                (rid, self.vault.nik_hash(identity.nik), RecordState.DRAFT, self._seal_identity(rid, identity), ts, ts, actor),
            )
            self.write_audit(conn, actor, "create", record_id=rid, to_state=RecordState.DRAFT)
        return self.get(rid)

    def get(self, record_id: str) -> Record:
        row = self.conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecord(record_id=record_id)
        return self._record(row)

    def find(self, prefix: str) -> Record:
        """A record by id or unique id prefix (CLI convenience)."""
        rows = self.conn.execute("SELECT * FROM records WHERE id LIKE ? LIMIT 2", (prefix + "%",)).fetchall()
        if len(rows) != 1:
            raise UnknownRecord(record_id=prefix)
        return self._record(rows[0])

    def identity(self, record_id: str) -> Identity:
        row = self.conn.execute("SELECT identity FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecord(record_id=record_id)
        return Identity.from_dict(json.loads(self.vault.open_sealed(row[0], f"identity:{record_id}".encode())))

    def list(self, state: RecordState | str | None = None, *, limit: int | None = None) -> list[Record]:
        sql = "SELECT * FROM records" + (" WHERE state = ?" if state else "") + " ORDER BY created_at, rowid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._record(r) for r in self.conn.execute(sql, (str(state),) if state else ())]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in RecordState}
        for state, n in self.conn.execute("SELECT state, COUNT(*) FROM records GROUP BY state"):
            out[state] = n
        return out

    def update_identity(self, record_id: str, identity: Identity, *, actor: str) -> None:
        with self.transaction() as conn:
            self.editable(conn, record_id)
            holder = self.holder_of(identity.nik, conn)
            if holder is not None and holder.id != record_id:
                raise DuplicateNik(record_id=holder.id, state=str(holder.state))
            conn.execute("UPDATE records SET identity = ?, nik_hash = ?, updated_at = ? WHERE id = ?",
                         (self._seal_identity(record_id, identity), self.vault.nik_hash(identity.nik), now_iso(), record_id))
            self.write_audit(conn, actor, "edit_identity", record_id=record_id)

    def set_step(self, record_id: str, step: str) -> None:
        """Remember where the enrollment wizard is, so a crashed draft resumes there."""
        with self.transaction() as conn:
            conn.execute("UPDATE records SET step = ?, updated_at = ? WHERE id = ?", (step, now_iso(), record_id))

    def editable(self, conn: sqlite3.Connection, record_id: str) -> Record:
        """The record, locked in ``conn``'s transaction, if its samples may still change."""
        rec = self._locked(conn, record_id)
        if rec.state not in EDITABLE:
            raise IllegalTransition(record_id=record_id, from_state=str(rec.state), to_state="edit")
        return rec

    def _locked(self, conn: sqlite3.Connection, record_id: str) -> Record:
        row = conn.execute("SELECT * FROM records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecord(record_id=record_id)
        return self._record(row)

    # -- samples ------------------------------------------------------------------------------
    def put_sample(self, record_id: str, *, kind: str, data: bytes, format: str, position: int = 0,
                   quality: float | None = None, metadata: dict[str, Any] | None = None, actor: str) -> int:
        """Store (or replace: the best attempt is kept by the caller) one biometric sample."""
        with self.transaction() as conn:
            self.editable(conn, record_id)
            sealed = self.vault.seal(data, f"sample:{record_id}:{kind}:{position}".encode())
            conn.execute(
                "INSERT INTO samples(record_id, kind, position, format, quality, metadata, data, captured_at)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(record_id, kind, position) DO UPDATE SET"
                " format=excluded.format, quality=excluded.quality, metadata=excluded.metadata,"
                " data=excluded.data, captured_at=excluded.captured_at",
                (record_id, kind, position, format, quality, json.dumps(metadata or {}), sealed, now_iso()),
            )
            if kind == "finger":
                conn.execute("DELETE FROM finger_exceptions WHERE record_id = ? AND position = ?", (record_id, position))
            elif kind == "iris":  # the eye was captured after all: its exception goes
                conn.execute("DELETE FROM iris_exceptions WHERE record_id = ? AND eye = ?", (record_id, position))
            self.write_audit(conn, actor, "sample", record_id=record_id,
                             params={"kind": kind, "position": position, "quality": quality})
            row = conn.execute("SELECT id FROM samples WHERE record_id=? AND kind=? AND position=?",
                               (record_id, kind, position)).fetchone()
            return int(row[0])

    def samples(self, record_id: str) -> list[SampleMeta]:
        rows = self.conn.execute(
            "SELECT id, record_id, kind, position, format, quality, metadata, captured_at, length(data) AS size"
            " FROM samples WHERE record_id = ? ORDER BY kind, position", (record_id,)).fetchall()
        return [SampleMeta(r["id"], r["record_id"], r["kind"], r["position"], r["format"], r["quality"],
                           json.loads(r["metadata"]), r["captured_at"], r["size"] or 0) for r in rows]

    def sample_data(self, record_id: str, kind: str, position: int = 0) -> bytes:
        row = self.conn.execute("SELECT data FROM samples WHERE record_id=? AND kind=? AND position=?",
                                (record_id, kind, position)).fetchone()
        if row is None or row[0] is None:
            raise UnknownRecord(record_id=record_id, kind=kind, position=position)
        return self.vault.open_sealed(row[0], f"sample:{record_id}:{kind}:{position}".encode())

    # -- state machine ------------------------------------------------------------------------
    def transition(self, record_id: str, to: RecordState | str, *, actor: str, reason: str = "",
                   params: dict[str, Any] | None = None, expect: RecordState | None = None,
                   extra: Callable[[sqlite3.Connection], None] | None = None) -> Record:
        """Move a record to ``to`` in one transaction with its audit row (and ``extra`` work).

        Illegal moves raise :class:`IllegalTransition` and change nothing. ``expect`` guards
        against a race: the move happens only if the record is still in that state.
        """
        to = RecordState(to)
        with self.transaction() as conn:
            rec = self._locked(conn, record_id)
            if expect is not None and rec.state is not expect:
                raise IllegalTransition(record_id=record_id, from_state=str(rec.state), to_state=str(to),
                                        expected=str(expect))
            if to not in TRANSITIONS[rec.state]:
                raise IllegalTransition(record_id=record_id, from_state=str(rec.state), to_state=str(to))
            if to in (RecordState.CAPTURED, RecordState.QUEUED) and rec.state in EDITABLE:
                missing = self.missing(record_id, conn)
                if missing:
                    raise IncompleteRecord(record_id=record_id, missing=", ".join(missing))
            conn.execute("UPDATE records SET state = ?, updated_at = ? WHERE id = ?", (to, now_iso(), record_id))
            self.write_audit(conn, actor, "transition", record_id=record_id, from_state=rec.state,
                             to_state=to, reason=reason, params=params)
            if extra is not None:
                extra(conn)
        return self.get(record_id)

    def log_action(self, actor: str, action: str, *, record_id: str | None = None, reason: str = "",
                   params: dict[str, Any] | None = None) -> None:
        """Audit an operator action that changes no state (login, export, print refusal ...)."""
        with self.transaction() as conn:
            self.write_audit(conn, actor, action, record_id=record_id, reason=reason, params=params)

    def oldest(self, state: RecordState) -> Record | None:
        row = self.conn.execute("SELECT * FROM records WHERE state = ? ORDER BY updated_at LIMIT 1", (state,)).fetchone()
        return self._record(row) if row else None

    def enrolled_per_day(self, days: int = 30, zone: dt.tzinfo = dt.timezone.utc) -> list[tuple[str, int]]:
        """(date, records queued that day) for the progress chart, the days of the station's time
        ``zone`` (the stored stamps are UTC: cut at UTC midnight, a WIB station's morning until 07:00
        counted for the day before)."""
        now = dt.datetime.now(dt.timezone.utc)
        first = (now.astimezone(zone) - dt.timedelta(days=days)).date()
        since = (now - dt.timedelta(days=days + 1)).isoformat()
        per_day: dict[str, set[str]] = {}
        for ts, record_id in self.conn.execute(
                "SELECT ts, record_id FROM audit WHERE action='transition' AND to_state='queued' AND ts >= ?",
                (since,)):
            day = dt.datetime.fromisoformat(ts).astimezone(zone).date()
            if day >= first:
                per_day.setdefault(day.isoformat(), set()).add(record_id)
        return sorted((day, len(ids)) for day, ids in per_day.items())
