"""The permit path end to end, through the real command line on a simulated station:
enroll -> sync to the local central -> approvals with permits (stored where the print gate reads
them) -> print on the Evolis mock -> permits spent; a jammed card -> reprint request -> sync ->
new permit -> printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk import permits as station_permits
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.conftest import SIMULATED_SYNC_CONFIG, run_kiosk

CONFIG = SIMULATED_SYNC_CONFIG + """
[devices.printer]
driver = "evolis"
mock = "evolis"
timeout_s = 2.0
print_timeout_s = 10.0
"""


def kiosk(cfg: Path, *args: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    r = run_kiosk("--config", str(cfg), *args, "--json")
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, (json.loads(r.stdout) if r.stdout.strip() else {}), r.stderr


def sync_twice(cfg: Path) -> list[dict]:  # type: ignore[type-arg]
    reports = []
    for _ in range(2):
        code, out, err = kiosk(cfg, "sync", "--once")
        assert code == 0, err
        reports.append(out["report"])
    return reports


def printed_fronts(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "mocks" / "evolis" / "cards").glob("*/front.png"))


@pytest.mark.slow
def test_enroll_sync_print_spoil_reprint_through_the_cli(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG)
    cfg = load_config(cfg_path)

    code, out, err = kiosk(cfg_path, "simulate", "enroll", "--count", "3")
    assert code == 0, err
    ids = out["created"]
    assert len(ids) == 3
    sync_twice(cfg_path)

    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    try:
        assert [store.get(r).state for r in ids] == [RecordState.APPROVED] * 3
        # the permit of each approval is where the gate reads it, usable
        for rid in ids:
            [row] = station_permits.permits_for(store, rid)
            assert row.status == "received" and row.permit is not None and row.permit.record_id == rid
        assert store.conn.execute("SELECT name FROM sqlite_master WHERE name='sync_permits'").fetchone() is None

        assert run_kiosk("--config", str(cfg_path), "stock", "add", "10").returncode == 0  # cards delivered
        code, out, err = kiosk(cfg_path, "print", "--approved")
        assert code == 0, err
        assert [r["printed"] for r in out["results"]] == [True, True, True]
        assert len(printed_fronts(tmp_path)) == 3
        assert [store.get(r).state for r in ids] == [RecordState.PRINTED] * 3
        assert all(station_permits.permits_for(store, r)[0].status == "spent" for r in ids)

        code, out, err = kiosk(cfg_path, "print", "--approved")  # nothing left to print
        assert code == 0, err
        assert out["results"] == [] and len(printed_fronts(tmp_path)) == 3

        # one more resident; the printer jams on their card
        code, out, err = kiosk(cfg_path, "simulate", "enroll", "--count", "1")
        [rid] = out["created"]
        sync_twice(cfg_path)
        [first] = station_permits.permits_for(store, rid)
        faults = tmp_path / "data" / "mocks" / "evolis" / "faults"
        faults.write_text("jam\n")
        code, out, err = kiosk(cfg_path, "print", "--approved")
        assert code == 1
        assert [(r["record_id"], r["printed"]) for r in out["results"]] == [(rid, False)]
        assert store.get(rid).state is RecordState.APPROVED
        assert station_permits.permit(store, first.permit_id).status == "spoiled"  # type: ignore[union-attr]
        [req] = station_permits.reprint_requests(store, unsent_only=True)
        assert (req["record_id"], req["permit_id"]) == (rid, first.permit_id)
        faults.unlink()

        # the spoiled permit cannot print again: a new one is needed
        code, out, err = kiosk(cfg_path, "print", "--approved")
        assert code == 1 and out["results"][0]["code"] == "print.permit_used"
        assert len(printed_fronts(tmp_path)) == 3

        # the sync pass sends the reprint request and stores the central's new permit
        code, out, err = kiosk(cfg_path, "sync", "--once")
        assert code == 0, err
        assert out["report"]["reprints"] == 1
        assert station_permits.reprint_requests(store, unsent_only=True) == []
        rows = station_permits.permits_for(store, rid)
        assert [r.status for r in rows] == ["spoiled", "received"]
        new = rows[-1]
        assert station_permits.reprint_requests(store)[0]["new_permit_id"] == new.permit_id

        code, out, err = kiosk(cfg_path, "print", "--approved")
        assert code == 0, err
        assert [(r["record_id"], r["printed"], r["permit_id"]) for r in out["results"]] == [(rid, True, new.permit_id)]
        assert store.get(rid).state is RecordState.PRINTED
        assert station_permits.permit(store, new.permit_id).status == "spent"  # type: ignore[union-attr]
        assert len(printed_fronts(tmp_path)) == 4

        # a second sync pass sends nothing more (the request was answered once)
        code, out, err = kiosk(cfg_path, "sync", "--once")
        assert out["report"]["reprints"] == 0
        assert len(station_permits.permits_for(store, rid)) == 2
    finally:
        store.close()
