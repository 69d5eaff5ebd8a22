"""Single use, proven by the audit chain.

``print_permits.status`` is a row anyone with the database can reset. The audit chain is
hash-linked and signed at checkpoints (:mod:`kiosk.ops.audit`), and the gate writes every use of
a permit into it in the transaction that changes the record: ``approved -> printing`` with
``permit_id`` (taken), then ``printing -> printed`` (spent), or ``printing -> approved`` with
``card_fed: false`` (released: no card left the hopper) or any other ``card_fed`` (spoiled).

:func:`permit_history` replays those entries; :func:`usable_per_audit` is what the gate asks
before it prints, and :func:`reuses` is what ``kiosk audit verify`` reports: a permit taken
again after the chain shows it taken, spent or spoiled.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Literal

AuditStatus = Literal["received", "in_use", "spent", "spoiled"]
#: the permit an audit row names; json_extract raises on a malformed params text (a tampered
#: row, which the chain check reports), so it is only asked of valid JSON
PERMIT_OF = "(CASE WHEN json_valid(params) THEN json_extract(params, '$.permit_id') END)"


@dataclass(frozen=True)
class PermitHistory:
    permit_id: str
    status: AuditStatus = "received"
    #: seq of each ``approved -> printing`` that took the permit while the chain said it was not usable
    reused_at: tuple[int, ...] = field(default_factory=tuple)


def replay(permit_id: str, moves: list[tuple[int, str | None, str | None, str]]) -> PermitHistory:
    """Fold ``(seq, from_state, to_state, params JSON)`` transitions naming this permit."""
    status: AuditStatus = "received"
    reused: list[int] = []
    for seq, from_state, to_state, params in moves:
        try:
            p = json.loads(params or "{}")
        except ValueError:
            p = {}
        if to_state == "printing":
            if status != "received":
                reused.append(seq)
            status = "in_use"
        elif from_state == "printing" and to_state == "printed":
            status = "spent"
        elif from_state == "printing" and to_state == "approved":
            status = "received" if p.get("card_fed") is False else "spoiled"
    return PermitHistory(permit_id, status, tuple(reused))


def permit_history(conn: sqlite3.Connection, record_id: str, permit_id: str) -> PermitHistory:
    """The permit's life as the audit chain tells it (indexed by record, then filtered)."""
    rows = conn.execute(
        "SELECT seq, from_state, to_state, params FROM audit WHERE record_id = ? AND action = 'transition'"
        f" AND {PERMIT_OF} = ? ORDER BY seq", (record_id, permit_id)).fetchall()
    return replay(permit_id, [(int(r[0]), r[1], r[2], r[3]) for r in rows])


def usable_per_audit(conn: sqlite3.Connection, record_id: str, permit_id: str) -> bool:
    return permit_history(conn, record_id, permit_id).status == "received"


def audited_state(conn: sqlite3.Connection, record_id: str) -> str | None:
    """The state the audit chain last moved the record to (None: the chain has no entry)."""
    row = conn.execute("SELECT to_state FROM audit WHERE record_id = ? AND to_state IS NOT NULL"
                       " ORDER BY seq DESC LIMIT 1", (record_id,)).fetchone()
    return None if row is None else str(row[0])


def all_histories(conn: sqlite3.Connection) -> dict[str, PermitHistory]:
    """Every permit the chain names (for ``kiosk audit verify``), one pass over the transitions."""
    moves: dict[str, list[tuple[int, str | None, str | None, str]]] = {}
    for r in conn.execute(f"SELECT seq, from_state, to_state, params, {PERMIT_OF} FROM audit"
                          f" WHERE action = 'transition' AND {PERMIT_OF} IS NOT NULL ORDER BY seq"):
        moves.setdefault(str(r[4]), []).append((int(r[0]), r[1], r[2], r[3]))
    return {pid: replay(pid, m) for pid, m in moves.items()}
