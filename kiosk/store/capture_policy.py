"""What the capture policy asks of a record, and the exceptions that stand in for samples.

A record needs a face, the ``required_fingers``, the ``required_irises`` (on a station with an
iris camera: :func:`kiosk.composition.station_policy`) and a signature, as ``[policy]`` says. A
finger or an eye that cannot be captured gets an exception with a reason from a closed list; the
reasons the policy names (``supervisor_exceptions``, ``supervisor_iris_exceptions``) count only
once a supervisor confirmed them. Each change is one transaction with its audit row.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from kiosk.config import PolicyConfig
from kiosk.store.audit_chain import now_iso


@dataclass(frozen=True)
class FingerException:
    position: int
    reason: str
    approved_by: str | None


@dataclass(frozen=True)
class IrisException:
    eye: int  # 1 right, 2 left (ISO/IEC 19794-6)
    reason: str
    approved_by: str | None


class CapturePolicy:
    """The exception and policy part of :class:`kiosk.store.RecordStore`."""

    policy: PolicyConfig
    conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def editable(self, conn: sqlite3.Connection, record_id: str) -> Any:
        raise NotImplementedError

    def write_audit(self, conn: sqlite3.Connection, actor: str, action: str, **kw: Any) -> None:
        raise NotImplementedError

    def _put_exception(self, record_id: str, table: str, key: str, position: int, kinds: str, reason: str, *,
                       actor: str, approved_by: str | None) -> None:
        """One exception row instead of the samples of ``kinds`` at ``position``, and its audit row.
        (``table``, ``key`` and ``kinds`` are this module's constants, never the caller's input.)"""
        with self.transaction() as conn:
            self.editable(conn, record_id)
            conn.execute(f"DELETE FROM samples WHERE record_id=? AND kind IN ({kinds}) AND position=?",
                         (record_id, position))
            conn.execute(f"INSERT OR REPLACE INTO {table}(record_id, {key}, reason, approved_by, created_at)"
                         " VALUES (?,?,?,?,?)", (record_id, position, reason, approved_by, now_iso()))
            self.write_audit(conn, actor, table.removesuffix("s"), record_id=record_id, reason=reason,
                             params={key: position, "approved_by": approved_by})

    # -- fingers ----------------------------------------------------------------------------------
    def add_exception(self, record_id: str, position: int, reason: str, *, actor: str,
                      approved_by: str | None = None) -> None:
        """Record that a finger cannot be captured (amputated, bandaged, ...) instead of a sample."""
        self._put_exception(record_id, "finger_exceptions", "position", position, "'finger','finger_template'",
                            reason, actor=actor, approved_by=approved_by)

    def exceptions(self, record_id: str) -> list[FingerException]:
        rows = self.conn.execute("SELECT position, reason, approved_by FROM finger_exceptions WHERE record_id=?"
                                 " ORDER BY position", (record_id,)).fetchall()
        return [FingerException(r[0], r[1], r[2]) for r in rows]

    # -- eyes -------------------------------------------------------------------------------------
    def add_iris_exception(self, record_id: str, eye: int, reason: str, *, actor: str,
                           approved_by: str | None = None) -> None:
        """Record that an eye cannot be captured (lost, prosthesis, ...) instead of a sample."""
        self._put_exception(record_id, "iris_exceptions", "eye", eye, "'iris'", reason, actor=actor,
                            approved_by=approved_by)

    def iris_exceptions(self, record_id: str) -> list[IrisException]:
        rows = self.conn.execute("SELECT eye, reason, approved_by FROM iris_exceptions WHERE record_id=?"
                                 " ORDER BY eye", (record_id,)).fetchall()
        return [IrisException(r[0], r[1], r[2]) for r in rows]

    # -- the policy ---------------------------------------------------------------------------------
    def missing(self, record_id: str, conn: sqlite3.Connection | None = None) -> list[str]:
        """What the capture policy still requires of this record: codes ``face``, ``finger:3``,
        ``supervisor:3`` (a finger exception awaiting its supervisor), ``iris:1``,
        ``iris_supervisor:1`` and ``signature``."""
        c = conn or self.conn
        policy = self.policy
        have = {(k, p) for k, p in c.execute("SELECT kind, position FROM samples WHERE record_id=?", (record_id,))}
        out = []
        if policy.require_face and ("face", 0) not in have:
            out.append("face")
        fingers = {p: (r, a) for p, r, a in c.execute(
            "SELECT position, reason, approved_by FROM finger_exceptions WHERE record_id=?", (record_id,))}
        out += _lacking("finger", "supervisor", policy.required_fingers, have, fingers, policy.supervisor_exceptions)
        if policy.required_irises:
            eyes = {e: (r, a) for e, r, a in c.execute(
                "SELECT eye, reason, approved_by FROM iris_exceptions WHERE record_id=?", (record_id,))}
            out += _lacking("iris", "iris_supervisor", policy.required_irises, have, eyes,
                            policy.supervisor_iris_exceptions)
        if policy.require_signature and ("signature", 0) not in have:
            out.append("signature")
        return out


def _lacking(kind: str, unapproved: str, required: tuple[int, ...], have: set[tuple[str, int]],
             exceptions: dict[int, tuple[str, str | None]], supervised: tuple[str, ...]) -> list[str]:
    """The required positions of ``kind`` with neither a sample nor an exception that counts."""
    out = []
    for pos in required:
        if (kind, pos) in have:
            continue
        if pos in exceptions:
            reason, approved = exceptions[pos]
            if reason in supervised and not approved:
                out.append(f"{unapproved}:{pos}")
            continue
        out.append(f"{kind}:{pos}")
    return out
