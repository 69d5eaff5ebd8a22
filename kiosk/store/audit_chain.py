"""The audit trail's hash chain: each entry's hash covers the previous entry's hash and the
entry's fields, so an edit, a cut or a reordering breaks the chain from that entry on
(``kiosk audit verify``, :mod:`kiosk.ops.audit`; signed checkpoints cover its head)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: the "previous hash" of the first entry
GENESIS = "0" * 64


def now_iso() -> str:
    """The store's timestamps (audit rows, records, samples): UTC, milliseconds, with the offset."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: str
    actor: str
    action: str
    record_id: str | None
    from_state: str | None
    to_state: str | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


def audit_hash(prev_hash: str, ts: str, actor: str, action: str, record_id: str | None,
               from_state: str | None, to_state: str | None, reason: str, params: str) -> str:
    body = json.dumps([prev_hash, ts, actor, action, record_id, from_state, to_state, reason, params],
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
