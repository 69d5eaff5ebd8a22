"""The station-operations pieces of a day, end to end on one provisioned station: enroll,
an outage with an export to a stick and its import, decisions, printing, retention, and the
audit log verifying at the end with every record accounted for. (The lead's full simulated
day adds the real sync, central and printer on top of these pieces.)"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from kiosk.config import Config
from kiosk.central.keys import StationKeys
from kiosk.ops.audit import verify_audit_log
from kiosk.ops.export import confirm_exports, export_queued, exported_unconfirmed, find_batches, import_batch
from kiosk.ops.retention import is_purged
from kiosk.ops.service import on_sync_pass, run_daily
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from tests.conftest import random_resident


def test_a_day_of_operations_ends_verified_and_accounted_for(station: Path, station_store: RecordStore,
                                                             config: Config, tmp_path: Path) -> None:
    rng = random.Random(20261123)
    store, key = station_store, StationKeys.load(station).signing
    ids = []
    for serial in range(1, 61):
        rec = store.create_draft(random_resident(rng, serial), actor=rng.choice(["op1", "op2"]))
        store.transition(rec.id, S.CAPTURED, actor="op1")
        store.transition(rec.id, S.QUEUED, actor="op1")
        ids.append(rec.id)
        on_sync_pass(config, store)
    # network down: the morning's records go on a stick; the central imports them
    (tmp_path / "usb").mkdir()
    seal = lambda rid: hashlib.sha256(rid.encode()).digest() * 8  # noqa: E731  (stand-in packet)
    batch = export_queued(store, tmp_path / "usb", seal_packet=seal, key=key, station_id="TEST-01", actor="op1")
    central: dict[str, bytes] = {}

    def ingest(rid: str, data: bytes) -> None:  # stand-in for the central's idempotent ingest
        central.setdefault(rid, data)

    imported = import_batch(find_batches(tmp_path / "usb")[0], station_key=lambda sid: key.public_key(),
                            ingest=ingest)
    assert sorted(imported.accepted) == sorted(ids) == sorted(batch.records)
    # network back: the sync worker submits everything (the central already holds the packets)
    for rid in ids:
        store.transition(rid, S.SUBMITTED, actor="sync")
    assert confirm_exports(store) == 60 and exported_unconfirmed(store) == set()
    outcome = {}
    for rid in ids:
        outcome[rid] = rng.choice([S.APPROVED, S.REJECTED, S.DUPLICATE])
        store.transition(rid, outcome[rid], actor="sync")
        if outcome[rid] is S.APPROVED:
            store.transition(rid, S.PRINTING, actor="op2")
            store.transition(rid, S.PRINTED, actor="op2")
            outcome[rid] = S.PRINTED
        on_sync_pass(config, store)
    # a month later the daily maintenance purges what is finished
    later = config.__class__(**{**config.__dict__, "retention": config.retention.__class__(days=0)})
    daily = run_daily(later, store)
    finished = {rid for rid, s in outcome.items() if s in (S.PRINTED, S.REJECTED)}
    assert {c.record_id for c in daily.purge.purged} == finished
    # every record accounted for: its state is the decided one, purged exactly when finished
    for rid in ids:
        assert store.get(rid).state is outcome[rid]
        assert is_purged(store, rid) is (rid in finished)
    assert len(central) == 60
    report = verify_audit_log(store, key.public_key())
    assert report.ok and report.checkpoints >= 4
    assert report.last_seq == report.entries
