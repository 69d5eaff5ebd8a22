"""Answers from the central the station will not apply: kept aside, audited, logged, shown.

One bad answer must not stop sync (issue 13 §1): the inbox and the request senders hand
anything unsigned, signed by a foreign key, or malformed to :func:`quarantine`, which writes a
``sync_quarantine`` row and its audit entry in one transaction, logs one line for the
station log, and returns; the pass goes on with the next item. Neither the row nor the log
line holds the answer's content (it may carry personal data): only the SHA-256 of the raw
answer, the failed check and, when they are well-formed, the seq and a local record id.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from typing import Any

from kiosk.store import RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.schema import ensure_schema

log = logging.getLogger(__name__)
ACTOR = "sync"


def digest(raw: Any) -> str:
    """SHA-256 of an answer as received (bytes as they are, parsed JSON canonically)."""
    if not isinstance(raw, (bytes, bytearray)):
        try:
            raw = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=repr).encode()
        except ValueError:
            raw = repr(raw).encode()
    return hashlib.sha256(raw).hexdigest()


def _local_record(store: RecordStore, candidate: Any) -> str | None:
    """The record id when the answer names a record of this station (else None: never store
    a foreign string in the audit trail)."""
    if not isinstance(candidate, str):
        return None
    try:
        uuid.UUID(candidate)
    except ValueError:
        return None
    row = store.conn.execute("SELECT 1 FROM records WHERE id=?", (candidate,)).fetchone()
    return candidate if row else None


def quarantine(store: RecordStore, *, source: str, code: str, raw: Any, detail: str = "") -> None:
    """Keep aside one answer the station refused (``source``: decisions | decision | deletion | reprint).
    An answer already quarantined (same digest and code) is not kept or audited again."""
    ensure_schema(store)
    seq = raw.get("seq") if isinstance(raw, dict) else None
    seq = seq if type(seq) is int and -(2 ** 63) <= seq < 2 ** 63 else None
    record_id = _local_record(store, raw.get("record_id") if isinstance(raw, dict) else None)
    h = digest(raw)
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM sync_quarantine WHERE digest=? AND code=?", (h, code)).fetchone():
            return  # the same answer again (a fake central repeats itself): kept once, audited once
        conn.execute("INSERT INTO sync_quarantine(at, source, code, seq, record_id, digest, detail)"
                     " VALUES (?,?,?,?,?,?,?)", (now_iso(), source, code, seq, record_id, h, detail[:200]))
        store.write_audit(conn, ACTOR, "sync_quarantined", record_id=record_id, reason=code,
                          params={"source": source, "digest": h, "detail": detail[:200]})
    log.warning("sync: answer quarantined", extra={"source": source, "code": code, "digest": h, "detail": detail[:200]})
