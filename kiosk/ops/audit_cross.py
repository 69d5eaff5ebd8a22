"""``kiosk audit verify`` beyond the hash chain: records, permits and the trail must agree.

The chain and its checkpoints (:mod:`kiosk.ops.audit`) prove the trail was not edited. They say
nothing about the tables the trail describes, so a forger could change those directly. Every
state change of a record and every use of a permit is written to the trail in the transaction
that makes it (:meth:`kiosk.store.RecordStore.transition`, :mod:`kiosk.printer.gate`), so:

- **unaudited**  a record whose state is not the one its last audited transition moved it to
  (``UPDATE records SET state=...``), or a permit whose ``print_permits.status`` differs from
  the life the trail replays for it (:mod:`kiosk.permits.ledger`; ``void`` when the trail
  moved its record to ``deleted``);
- **deleted**  the trail created a record (or a permit names one) that the station no longer has;
- **emptied**  the trail is empty while the station holds records, permits or checkpoints;
- **reused**  the trail holds an ``approved -> printing`` with a permit id the trail already
  showed taken, spent or spoiled (a second card from one permit).

Read-only; one pass over the rows :func:`kiosk.ops.audit.verify_audit_log` already read.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from kiosk.ops.audit import Finding
from kiosk.permits.ledger import replay


def _table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _permit_of(params: str) -> str | None:
    try:
        p = json.loads(params or "{}")
    except ValueError:
        return None
    value = p.get("permit_id") if isinstance(p, dict) else None
    return value if isinstance(value, str) and value else None


def cross_check(conn: sqlite3.Connection, rows: list[Any]) -> list[Finding]:
    """Findings of records, permits and the trail disagreeing (``rows``: audit rows in seq order)."""
    states = {str(r[0]): str(r[1]) for r in conn.execute("SELECT id, state FROM records")}
    has_permits = _table(conn, "print_permits")
    permit_rows = ({str(r[0]): (str(r[1]), str(r[2])) for r in
                    conn.execute("SELECT permit_id, record_id, status FROM print_permits")} if has_permits else {})
    if not rows:
        signed = conn.execute("SELECT COUNT(*) FROM audit_checkpoints").fetchone()[0] if _table(
            conn, "audit_checkpoints") else 0
        if states or permit_rows or signed:
            return [Finding("emptied", 1, "ops.audit_emptied",
                            {"records": len(states), "permits": len(permit_rows), "checkpoints": int(signed)})]
        return []

    created: dict[str, int] = {}
    audited: dict[str, tuple[int, str]] = {}
    moves: dict[str, list[tuple[int, str | None, str | None, str]]] = {}
    for r in rows:
        rid, seq = r["record_id"], int(r["seq"])
        if rid is None:
            continue
        if r["action"] == "create":
            created.setdefault(rid, seq)
        if r["to_state"] is not None:
            audited[rid] = (seq, str(r["to_state"]))
        if r["action"] == "transition":
            pid = _permit_of(r["params"])
            if pid is not None:
                moves.setdefault(pid, []).append((seq, r["from_state"], r["to_state"], r["params"]))

    out: list[Finding] = []
    for rid, seq in created.items():
        if rid not in states:
            out.append(Finding("deleted", seq, "ops.audit_record_deleted", {"record": rid, "seq": seq}))
    for pid, (rid, _status) in permit_rows.items():
        if rid not in states and rid not in created:
            out.append(Finding("deleted", 0, "ops.audit_permit_orphan", {"permit": pid, "record": rid}))
    for rid, state in states.items():
        seq, last = audited.get(rid, (0, None))  # type: ignore[assignment]
        if last != state:
            out.append(Finding("unaudited", seq, "ops.audit_state_unaudited",
                               {"record": rid, "state": state, "audited": last or "-"}))
    for pid, history_moves in moves.items():
        history = replay(pid, history_moves)
        if history.reused_at:
            first = history_moves[0][0]
            out.append(Finding("reused", history.reused_at[0], "ops.audit_permit_reused",
                               {"permit": pid, "seq": history.reused_at[0], "first": first}))
    for pid, (rid, status) in permit_rows.items():
        told = replay(pid, moves.get(pid, [])).status
        # a permit not used up is void once the trail moved its record to deleted (the central's
        # deletion, kiosk.permits.void_permits, in that transaction)
        voided = status == "void" and told in ("received", "in_use") and audited.get(rid, (0, ""))[1] == "deleted"
        if status != told and not voided:
            out.append(Finding("unaudited", 0, "ops.audit_permit_unaudited",
                               {"permit": pid, "record": rid, "status": status, "audited": told}))
    return out
