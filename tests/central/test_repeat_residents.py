"""``kiosk simulate enroll`` makes realistic records (generator fingers through mindtct, WSQ,
a token-size face) and, on request, repeat residents; two stations and one central then
exercise the whole duplicate path: the same NIK -> duplicate, the same fingers under
another NIK -> held for adjudication (the station sees a duplicate), a fresh resident -> approved."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kiosk.store import RecordState as S
from kiosk.sync.synthetic import enroll_residents
from tests.conftest import SIMULATED_SYNC_CONFIG as CONFIG
from tests.conftest import run_kiosk


def test_simulated_records_are_realistic_in_size_and_content(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    r = run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "2", "--repeat-share", "0.5", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["created"]) == 2 and isinstance(out["repeats"], list)
    queue = json.loads(run_kiosk("--config", str(cfg), "queue", "--json").stdout)
    assert queue["pending_bytes"] / 2 > 60_000  # a face, WSQ fingers and templates: not 64 x 64 rings


def test_a_bad_repeat_share_is_refused_in_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    r = run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "1", "--repeat-share", "1.5")
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0


def sync_until_decided(station, ids: list[str], deadline_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    """Full-size records take several passes to upload (a pass has a bounded number of chunk
    attempts): sync until each of ``ids`` has left queued/submitted, or the deadline."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        station.worker.run_once()
        if all(station.store.get(r).state not in (S.QUEUED, S.SUBMITTED) for r in ids):
            return


def test_repeat_residents_from_another_station_reach_every_outcome(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320101")
    first = enroll_residents(a.store, 4, district="320101", seed=0)
    sync_until_decided(a, first.created)
    assert all(a.store.get(rid).state is S.APPROVED for rid in first.created)

    run = enroll_residents(b.store, 6, district="320101", seed=1, repeat_share=0.6, repeat_seed=0, repeat_pool=4)
    kinds = {r.record_id: r.kind for r in run.repeats}
    assert {"same_nik", "other_nik"} <= set(kinds.values())  # seeded: both kinds appear
    sync_until_decided(b, [r for r in run.created if kinds.get(r) != "other_nik"])
    b.worker.run_once()
    held = {c["record_id"] for c in central.registry.adjudications()}
    for rid in run.created:
        state = b.store.get(rid).state
        if kinds.get(rid) == "same_nik":
            assert state is S.DUPLICATE, rid
        elif kinds.get(rid) == "other_nik":
            # held for adjudication at the central, and the station told at once (issue 14 §2)
            assert state is S.DUPLICATE and rid in held, rid
        else:
            assert state is S.APPROVED, rid
