"""Signed audit checkpoints and full verification of the audit hash chain.

The store appends every audit entry with the hash of the previous one
(:meth:`kiosk.store.RecordStore.write_audit`). That chain alone shows an entry changed in
place, but a forger who rewrites the tail and recomputes every hash, or who simply cuts the
last entries off, leaves a self-consistent chain. So at intervals (every N entries, and on
demand) the station signs ``(seq, hash, entries)`` of the newest entry with its Ed25519 key
into ``audit_checkpoints``; rewriting anything up to a checkpoint now needs the station key.

:func:`verify_audit_log` walks the chain in ``seq`` order and tells apart:

- **altered**  an entry whose hash does not match its own content, or (when the next entry's
  link is broken without a seq gap and points at no existing entry) an entry rewritten with
  a recomputed hash; also a checkpoint whose hash differs from the entry it signed.
- **removed**  a gap in ``seq`` (SQLite never reuses a seq in the middle), the first entry not
  being seq 1, a signed entry gone (tail cut), or a signed entry found under a lower number
  (entries deleted and the rest renumbered to hide the gap). Without a later checkpoint, a
  deletion hidden by renumbering reads as "altered" (the link breaks the same way): still
  caught, just named less precisely; hence checkpoints every N entries and daily.
- **reordered** an entry whose ``prev_hash`` is the hash of a *different* existing entry:
  the entries are all there and intact, but not in the order they were written.
- **signature** a checkpoint whose signature does not verify with the station public key.

Checkpoints are chained too (each signs the seq of the previous one), so deleting one in the
middle shows. What no station-local check can show is a forger with database access deleting
the *newest* checkpoints and everything after the one left: anchor the newest checkpoint
outside the station (NOTE for the lead: the sync worker should send it to the central with
each pass; the body is :meth:`Checkpoint.body`, verifiable with the registered keys/station_ed25519.pub.pem).

The first finding in the chain walk wins (then checkpoints in seq order); its kind selects
the exit code of ``kiosk audit verify`` (:data:`EXIT_CODES`).
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.store import RecordStore
from kiosk.store.audit_chain import GENESIS, audit_hash
from kiosk.store.queue import now_iso

log = logging.getLogger("kiosk.ops.audit")

FindingKind = Literal["altered", "removed", "reordered", "signature", "unaudited", "deleted", "emptied", "reused"]

#: exit status of ``kiosk audit verify`` per finding (0 = chain and signatures intact;
#: 1 and 2 keep their CLI-wide meaning: failure to run, bad input)
EXIT_CODES: dict[str, int] = {"altered": 3, "removed": 4, "reordered": 5, "signature": 6,
                              # records, permits and the trail disagree (kiosk.ops.audit_cross)
                              "unaudited": 7, "deleted": 8, "emptied": 9, "reused": 10}

#: sign a checkpoint once this many entries were appended since the last one
DEFAULT_EVERY = 100


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    entries: int
    #: seq of the previous checkpoint (0 for the first): deleting a checkpoint breaks the next one
    prev: int
    signed_at: str
    signature: str = ""

    def body(self) -> bytes:
        """What the station signs: canonical JSON, versioned."""
        return json.dumps({"v": 1, "kind": "audit-checkpoint", "seq": self.seq, "hash": self.hash,
                           "entries": self.entries, "prev": self.prev, "signed_at": self.signed_at},
                          sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    #: the first entry concerned (for removed: the first missing seq)
    seq: int
    #: message code in the ops catalog explaining the evidence
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditReport:
    entries: int
    last_seq: int | None
    checkpoints: int
    #: every finding, most telling first; empty when the log is intact
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.findings[0].kind] if self.findings else 0

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "last_seq": self.last_seq, "checkpoints": self.checkpoints,
                "exit_code": self.exit_code, "findings": [asdict(f) for f in self.findings]}


# -- signing -------------------------------------------------------------------------------------


def checkpoint(store: RecordStore, key: Ed25519PrivateKey) -> Checkpoint | None:
    """Sign the newest audit entry now (on demand). None when the log is empty."""
    with store.transaction() as conn:
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        seq, h = int(row[0]), str(row[1])
        existing = conn.execute("SELECT * FROM audit_checkpoints WHERE seq = ?", (seq,)).fetchone()
        if existing is not None:
            return _checkpoint(existing)
        entries = int(conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
        prev = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints").fetchone()[0])
        unsigned = Checkpoint(seq, h, entries, prev, now_iso())
        signed = Checkpoint(seq, h, entries, prev, unsigned.signed_at,
                            base64.b64encode(key.sign(unsigned.body())).decode())
        conn.execute("INSERT INTO audit_checkpoints(seq, hash, entries, prev, signed_at, signature)"
                     " VALUES (?,?,?,?,?,?)",
                     (signed.seq, signed.hash, signed.entries, signed.prev, signed.signed_at, signed.signature))
        log.info("audit checkpoint signed", extra={"seq": seq, "entries": entries})
        return signed


def checkpoint_if_due(store: RecordStore, key: Ed25519PrivateKey, every: int = DEFAULT_EVERY) -> Checkpoint | None:
    """Sign a checkpoint when ``every`` entries or more were appended since the last one.

    Cheap (two indexed lookups): the sync worker calls it on each pass and the UI after
    each saved record; ``kiosk audit checkpoint`` forces one.
    """
    conn = store.conn
    last = conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    signed = conn.execute("SELECT MAX(seq) FROM audit_checkpoints").fetchone()[0]
    if last is None or (last - (signed or 0)) < every:
        return None
    return checkpoint(store, key)


def checkpoints(conn: sqlite3.Connection) -> list[Checkpoint]:
    return [_checkpoint(r) for r in conn.execute("SELECT * FROM audit_checkpoints ORDER BY seq")]


def _checkpoint(r: sqlite3.Row) -> Checkpoint:
    """One checkpoint row. A row edited into something that is not a number (``entries`` set to
    text) cannot be what was signed: it is read with -1 in that place, so its signature fails
    and verify names it, instead of crashing."""

    def number(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return -1

    return Checkpoint(number(r["seq"]), str(r["hash"]), number(r["entries"]), number(r["prev"]), str(r["signed_at"]),
                      str(r["signature"]))


# -- verification --------------------------------------------------------------------------------


def check_chain(rows: list[Any]) -> Finding | None:
    """The first break in the hash chain of ``rows`` (audit rows in seq order, anything indexable
    by column name), else None."""
    by_hash = {r["hash"]: int(r["seq"]) for r in rows}
    expected, prev_seq = GENESIS, 0
    for r in rows:
        seq = int(r["seq"])
        own = audit_hash(r["prev_hash"], r["ts"], r["actor"], r["action"], r["record_id"], r["from_state"],
                         r["to_state"], r["reason"], r["params"])
        if r["hash"] != own:
            return Finding("altered", seq, "ops.audit_content", {"seq": seq})
        gap = seq != prev_seq + 1
        if r["prev_hash"] == expected:
            if gap:  # link intact but the numbering jumped: seq itself was edited
                return Finding("altered", seq, "ops.audit_seq_edited", {"seq": seq, "previous": prev_seq})
        else:
            linked = by_hash.get(r["prev_hash"])
            if linked is not None and linked != prev_seq:
                # chained to an entry that exists elsewhere: everything is there, in another order
                return Finding("reordered", seq, "ops.audit_order", {"seq": seq, "follows": linked})
            if gap:
                return Finding("removed", prev_seq + 1, "ops.audit_gap", {"first": prev_seq + 1, "last": seq - 1})
            if prev_seq == 0:
                return Finding("altered", seq, "ops.audit_link", {"seq": seq})
            # the predecessor is intact in itself but not the entry this one was chained to:
            # it was rewritten with a recomputed hash
            return Finding("altered", prev_seq, "ops.audit_rehashed", {"seq": prev_seq, "next": seq})
        expected, prev_seq = r["hash"], seq
    return None


def check_checkpoints(rows: list[Any], cps: list[Checkpoint], public_key: Ed25519PublicKey | None) -> list[Finding]:
    """Checkpoint signatures and the entries they vouch for (no key: no checkpoint can be trusted)."""
    by_seq = {int(r["seq"]): r for r in rows}
    by_hash = {r["hash"]: int(r["seq"]) for r in rows}
    seqs = sorted(by_seq)
    last_seq = seqs[-1] if seqs else 0
    out: list[Finding] = []
    good_before = 0  # seq of the last checkpoint that verified fully
    previous = 0  # seq of the checkpoint row before this one
    for cp in cps:
        try:
            if public_key is None:
                raise InvalidSignature
            public_key.verify(base64.b64decode(cp.signature, validate=True), cp.body())
        except (InvalidSignature, ValueError):
            out.append(Finding("signature", cp.seq, "ops.audit_signature", {"seq": cp.seq}))
            previous = cp.seq
            continue
        if cp.prev != previous:  # a signed checkpoint between these two was deleted
            out.append(Finding("removed", cp.prev, "ops.audit_checkpoint_removed", {"seq": cp.prev, "next": cp.seq}))
        previous = cp.seq
        now_at = by_hash.get(cp.hash)
        if now_at is not None and now_at < cp.seq:
            # the signed entry is still there, under a lower number: entries before it were
            # deleted and the rest renumbered to hide the gap
            out.append(Finding("removed", good_before + 1, "ops.audit_renumbered",
                               {"seq": cp.seq, "now": now_at, "count": cp.seq - now_at}))
            continue
        row = by_seq.get(cp.seq)
        if row is None and now_at is None:
            first = last_seq + 1 if cp.seq > last_seq else cp.seq
            out.append(Finding("removed", first, "ops.audit_truncated", {"seq": cp.seq, "first": first}))
            continue
        if row is None or row["hash"] != cp.hash:
            out.append(Finding("altered", cp.seq, "ops.audit_checkpoint_hash",
                               {"seq": cp.seq, "since": good_before + 1}))
            continue
        present = sum(1 for s in seqs if s <= cp.seq)
        if present != cp.entries:
            out.append(Finding("removed", good_before + 1, "ops.audit_count",
                               {"seq": cp.seq, "signed": cp.entries, "present": present}))
            continue
        good_before = cp.seq
    return out


def verify_audit_log(store: RecordStore, public_key: Ed25519PublicKey | None) -> AuditReport:
    """Check the whole chain and every checkpoint. Read-only. ``public_key`` None: the station
    has no key (never provisioned); any checkpoint then counts as a bad signature."""
    conn = store.conn
    rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
    cps = checkpoints(conn)
    findings: list[Finding] = []
    chain = check_chain(rows)
    signed = check_checkpoints(rows, cps, public_key)
    if chain is not None:
        if chain.reason == "ops.audit_rehashed" and any(f.reason == "ops.audit_renumbered" for f in signed):
            # seen from the chain alone, "predecessor rewritten" and "entries deleted, the rest
            # renumbered" look the same; a checkpoint whose entry moved down settles it
            chain = Finding("removed", chain.seq + 1, "ops.audit_renumbered_at",
                            {"first": chain.seq + 1, "next": chain.params["next"]})
        findings.append(chain)
    findings.extend(signed)
    from kiosk.ops.audit_cross import cross_check  # imports this module's Finding

    cross = cross_check(conn, rows)
    # an emptied trail explains every other finding (checkpoints signing entries now gone)
    findings = [f for f in cross if f.kind == "emptied"] + findings + [f for f in cross if f.kind != "emptied"]
    if findings:
        log.warning("audit log broken", extra={"kind": findings[0].kind, "seq": findings[0].seq,
                                                "reason": findings[0].reason})
    else:
        log.info("audit log verified", extra={"entries": len(rows), "checkpoints": len(cps)})
    return AuditReport(entries=len(rows), last_seq=int(rows[-1]["seq"]) if rows else None, checkpoints=len(cps),
                       findings=tuple(findings))
