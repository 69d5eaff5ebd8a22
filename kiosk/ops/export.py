"""Offline export (``kiosk export --to DIR``) and import on the central (``kiosk central import``).

When the network is down for days, queued records travel on a USB stick. A batch is one
folder ``<DIR>/<batch>/``::

    packets/<record id>.pkt    sealed packet, exactly the bytes the sync upload would send
    manifest.json              {"manifest": {...}, "signature": base64 Ed25519}

The manifest lists every packet (record id, file, size, SHA-256), the station id, the batch id
and the time, and is signed with the station key (kiosk.central.keys.StationKeys, the key the
central registers). Packets come from a ``seal_packet`` callable (record id -> bytes): in
``kiosk export`` that is kiosk.sync.worker.sealer_for_station, the very packet the sync worker
stores and uploads, already encrypted to the central: a lost stick reveals nothing. The batch is written to ``<batch>.partial`` and renamed once the
manifest is on disk, so a pulled stick never holds a half batch that looks complete.

Tracking rule ("neither lost nor sent twice"):

- Exporting does NOT change a record's state: it stays ``queued`` and the ``exports`` table
  remembers the batch. If the stick is lost, nothing is lost: the sync worker still uploads it.
- The central's upload and its import (``CentralRegistry.ingest_packet``, via
  :func:`registry_ingest`) are idempotent on (record UUID, submission), so a record that
  arrives both by stick and over the network is stored once. That idempotent ingest is THE
  guard against duplicates; the station does not try to be clever about it.
- To spare a bad link, the sync worker uploads not-yet-exported records first
  (:func:`upload_order`); ``kiosk export`` skips records already exported and not yet confirmed
  (``--again`` puts them on a new stick).
- An export is confirmed (:func:`confirm_exports`) once the record has left ``queued`` (the
  central acknowledged the packet, by upload or by the import's decision).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import InputError, KioskError
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso

log = logging.getLogger("kiosk.ops.export")

MANIFEST = "manifest.json"
PACKETS = "packets"
VERSION = 1
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

#: record id -> sealed packet bytes (the sync module provides the real one)
SealPacket = Callable[[str], bytes]
#: (station id of the manifest, record id, sealed packet bytes) -> None; idempotent on the record id
Ingest = Callable[[str, str, bytes], None]
#: station id -> its registered Ed25519 public key, None when the station is unknown
StationKeyLookup = Callable[[str], Ed25519PublicKey | None]


class ExportError(KioskError):
    code = "ops.export_failed"


class ImportRefused(KioskError):
    """The whole batch was refused (bad or missing manifest, unknown station, bad signature)."""

    code = "ops.import_refused"


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class ExportResult:
    batch: str
    folder: Path
    records: tuple[str, ...]
    bytes: int


def exportable(store: RecordStore, *, again: bool = False) -> list[str]:
    """Queued records to put on a stick (excluding ones exported and unconfirmed, unless ``again``)."""
    ensure_ops_tables(store)
    sql = "SELECT id FROM records WHERE state = ?"
    if not again:
        sql += " AND id NOT IN (SELECT record_id FROM exports WHERE confirmed_at IS NULL)"
    return [r[0] for r in store.conn.execute(sql + " ORDER BY created_at, id", (RecordState.QUEUED.value,))]


def export_queued(store: RecordStore, dest: Path, *, seal_packet: SealPacket, key: Ed25519PrivateKey,
                  station_id: str, actor: str, again: bool = False, now: dt.datetime | None = None,
                  on_packet: Callable[[int, int], None] | None = None) -> ExportResult:
    """Write one signed batch of the queued records into ``dest`` and track it; ``on_packet``
    hears (packets written, packets in the batch) after each one."""
    dest = Path(dest)
    if not dest.is_dir():
        raise InputError("ops.export_no_folder", path=str(dest))
    ids = exportable(store, again=again)
    now = now or dt.datetime.now(dt.timezone.utc)
    batch = f"{station_id}-{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    final = dest / batch
    partial = dest / (batch + ".partial")
    (partial / PACKETS).mkdir(parents=True)
    entries: list[dict[str, Any]] = []
    total = 0
    try:
        for rid in ids:
            packet = seal_packet(rid)
            name = f"{PACKETS}/{rid}.pkt"
            _write_file(partial / name, packet)
            entries.append({"record_id": rid, "file": name, "size": len(packet),
                            "sha256": hashlib.sha256(packet).hexdigest()})
            total += len(packet)
            if on_packet is not None:
                on_packet(len(entries), len(ids))
        manifest = {"version": VERSION, "kind": "kiosk-offline-export", "batch": batch, "station_id": station_id,
                    "created_at": now.isoformat(timespec="seconds"), "packets": entries}
        signature = base64.b64encode(key.sign(canonical(manifest))).decode()
        _write_file(partial / MANIFEST, json.dumps({"manifest": manifest, "signature": signature}, indent=1).encode())
        _fsync_dir(partial / PACKETS)
        _fsync_dir(partial)
        partial.rename(final)
        _fsync_dir(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    ts = now_iso()
    with store.transaction() as conn:  # tracked only once the batch is durably on the stick
        for e in entries:
            conn.execute("INSERT INTO exports(record_id, batch, file_sha256, exported_at, confirmed_at)"
                         " VALUES (?,?,?,?,NULL) ON CONFLICT(record_id) DO UPDATE SET batch=excluded.batch,"
                         " file_sha256=excluded.file_sha256, exported_at=excluded.exported_at, confirmed_at=NULL",
                         (e["record_id"], batch, e["sha256"], ts))
            store.write_audit(conn, actor, "export", record_id=e["record_id"], params={"batch": batch})
        store.write_audit(conn, actor, "export_batch", params={"batch": batch, "records": len(entries), "bytes": total})
    log.info("export written", extra={"batch": batch, "records": len(entries), "bytes": total})
    return ExportResult(batch, final, tuple(ids), total)


def exported_unconfirmed(store: RecordStore) -> set[str]:
    ensure_ops_tables(store)
    return {r[0] for r in store.conn.execute("SELECT record_id FROM exports WHERE confirmed_at IS NULL")}


def upload_order(store: RecordStore, record_ids: list[str]) -> list[str]:
    """Records for the sync worker in the order to send: not-yet-exported first (stable)."""
    pending = exported_unconfirmed(store)
    return sorted(record_ids, key=lambda rid: rid in pending)


def confirm_exports(store: RecordStore) -> int:
    """Mark exports whose record has left ``queued`` as confirmed; returns how many."""
    ensure_ops_tables(store)
    with store.transaction() as conn:
        cur = conn.execute("UPDATE exports SET confirmed_at = ? WHERE confirmed_at IS NULL AND record_id IN"
                           " (SELECT id FROM records WHERE state != ?)", (now_iso(), RecordState.QUEUED.value))
        return cur.rowcount


# -- import (central side) -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    batch: str
    station_id: str
    accepted: tuple[str, ...]
    #: (record id or file name, message code) of packets not handed to ingest
    refused: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def find_batches(path: Path) -> list[Path]:
    """``path`` itself if it is a batch, else the complete batches directly inside it."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return [path]
    if not path.is_dir():
        raise InputError("ops.import_no_folder", path=str(path))
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.endswith(".partial") and (p / MANIFEST).is_file())


def read_manifest(folder: Path, station_key: StationKeyLookup) -> dict[str, Any]:
    """The verified manifest of one batch; raises :class:`ImportRefused` otherwise."""
    try:
        outer = json.loads((folder / MANIFEST).read_text("utf-8"))
        manifest, signature = outer["manifest"], base64.b64decode(outer["signature"], validate=True)
        station_id, packets = str(manifest["station_id"]), manifest["packets"]
    except FileNotFoundError:
        raise ImportRefused("ops.import_no_manifest", folder=str(folder)) from None
    except (ValueError, KeyError, TypeError):
        raise ImportRefused("ops.import_bad_manifest", folder=str(folder)) from None
    if manifest.get("version") != VERSION or not isinstance(packets, list):
        raise ImportRefused("ops.import_bad_manifest", folder=str(folder))
    public = station_key(station_id)
    if public is None:
        raise ImportRefused("ops.import_unknown_station", station=station_id)
    try:
        public.verify(signature, canonical(manifest))
    except InvalidSignature:
        raise ImportRefused("ops.import_signature", folder=str(folder), station=station_id) from None
    return manifest


def import_batch(folder: Path, *, station_key: StationKeyLookup, ingest: Ingest) -> ImportResult:
    """Verify one batch and hand every intact packet to ``ingest``.

    A bad signature refuses the whole batch. A packet that is missing, resized, altered or
    listed under a bad name is refused alone (the others still arrive; the station will
    send it again over the network or on the next stick).
    """
    folder = Path(folder)
    manifest = read_manifest(folder, station_key)
    accepted: list[str] = []
    refused: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in manifest["packets"]:
        rid = str(entry.get("record_id", "")) if isinstance(entry, dict) else ""
        if not UUID.match(rid) or entry.get("file") != f"{PACKETS}/{rid}.pkt" or rid in seen:
            refused.append((rid or "?", "ops.import_bad_entry"))
            continue
        seen.add(rid)
        try:
            data = (folder / PACKETS / f"{rid}.pkt").read_bytes()
        except FileNotFoundError:
            refused.append((rid, "ops.import_missing"))
            continue
        if len(data) != entry.get("size") or hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            refused.append((rid, "ops.import_hash"))
            continue
        try:
            ingest(str(manifest["station_id"]), rid, data)
        except KioskError as exc:
            refused.append((rid, exc.code))
            continue
        accepted.append(rid)
    log.info("batch imported", extra={"batch": manifest["batch"], "accepted": len(accepted),
                                        "refused": len(refused)})
    return ImportResult(str(manifest["batch"]), str(manifest["station_id"]), tuple(accepted), tuple(refused))


def registry_ingest(registry: Any, *, station_key: StationKeyLookup | None = None) -> Ingest:
    """The central's real ingest (``CentralRegistry.ingest_packet``: signature, decryption,
    idempotent storage) for packets of a verified manifest. A packet whose own header names
    another record or station than the signed manifest says is refused (ops.import_mismatch):
    a genuine packet of another record must not slip in under a manifest entry."""
    from kiosk.central.packet import read_header

    def ingest(station_id: str, record_id: str, data: bytes) -> None:
        header = read_header(data)
        if (header.record_id, header.station_id) != (record_id, station_id):
            raise ImportRefused("ops.import_mismatch", record_id=record_id, station=station_id)
        registry.ingest_packet(data, station_key=station_key)

    return ingest


def import_folder(path: Path, registry: Any, *, station_key: StationKeyLookup | None = None) -> list[ImportResult]:
    """``kiosk central import``: every complete batch under ``path`` into the central registry.

    Manifests are checked with the key the station is registered with at that central
    (``registry.station_key``), or with ``station_key`` when the operator names one; the
    same key then checks the packets' own signatures."""
    lookup = station_key or registry.station_key
    ingest = registry_ingest(registry, station_key=station_key)
    return [import_batch(b, station_key=lookup, ingest=ingest) for b in find_batches(path)]
