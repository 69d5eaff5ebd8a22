"""A full simulated day on one provisioned station, with the real pieces: the local central
(kiosk.central.local, with fault injection), the sync worker from the station config, synthetic
enrollments, a morning on a flaky link, a total outage with an export to a stick and its import
at the central, the network back, decisions, the daily retention purge, and at the end
`kiosk audit verify` passing with every record accounted for: each in a legal final state,
none lost, none stored or decided twice at the central.

In the evening the station prints cards for part of the approved records on the Evolis mock
(over its pyusb backend), one card jams: it is spoiled, the next sync pass fetches a reprint
permit from the central, and the card prints once. Printed records are purged with the rest."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.central.keys import StationKeys
from kiosk.central.local import start_local_central
from kiosk.config import Config
from kiosk.ops.export import export_queued, exported_unconfirmed, import_folder
from kiosk.devices.errors import DeviceFault
from kiosk.ops.retention import is_purged
from kiosk.permits.store import permits_for
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.sync.synthetic import enroll_synthetic
from kiosk.ops.service import Upkeep
from kiosk.sync.worker import SyncSettings, SyncWorker, permits, sealer_for_station, stored_packet
from tests.central.conftest import enroll
from tests.conftest import resident, run_kiosk

FINAL = {S.APPROVED, S.REJECTED, S.DUPLICATE, S.PRINTED}
PRINTED_TODAY = 12
FAST = SyncSettings(timeout_s=0.5, poll_interval_s=0.05, chunk_size=8192, backoff_base_s=0.01, backoff_cap_s=0.05,
                    parallel=2, attempts_per_pass=8, offline_after=4)


def day_config(config: Config, **retention: int) -> Config:
    central = dataclasses.replace(config.central, timeout_s=FAST.timeout_s,
                                  local=dataclasses.replace(config.central.local, decision_delay_s=0.0))
    return dataclasses.replace(config, central=central, audit=dataclasses.replace(config.audit, checkpoint_every=150),
                               retention=dataclasses.replace(config.retention, **retention))


def passes_until_settled(worker: SyncWorker, store: RecordStore, ids: list[str], limit: int = 60) -> int:
    """Sync passes until none of ``ids`` waits for the central any more; returns how many."""
    for n in range(1, limit + 1):
        worker.run_once()
        if not any(store.get(rid).state in (S.QUEUED, S.SUBMITTED) for rid in ids):
            return n
    raise AssertionError(f"records still waiting after {limit} passes: {store.counts()}")


@pytest.mark.slow
def test_a_full_simulated_day_ends_verified_and_accounted_for(station: Path, station_store: RecordStore,
                                                              config: Config, config_file: Path,
                                                              tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    store = station_store
    cfg = day_config(config)
    monkeypatch.setattr(Upkeep, "today", staticmethod(lambda: "2026-11-23"))
    central = start_local_central(cfg, reuse=False)
    assert central.registry is not None and central.faults is not None
    reg, faults = central.registry, central.faults

    # another station already holds one resident: the same person enrolled here is a duplicate
    other = StationKeys.init(tmp_path / "other")
    reg.register_station("OTHER-01", other.public, "320102")
    other_store = RecordStore(tmp_path / "other", policy=store.policy)
    earlier = enroll(other_store, resident(9001, full_name="SUDAH TERDAFTAR"))
    row, _ = stored_packet(other_store, earlier, station_id="OTHER-01", station_key=other.signing,
                           sealing_key=central.sealing_public)
    reg.ingest_packet(bytes(row.packet))
    other_store.close()

    upkeep = Upkeep(cfg, store)
    worker = SyncWorker.from_config(cfg, store, settings=FAST, after_pass=upkeep)  # finds the running local central
    try:
        # morning: enrollments on a flaky link (20% of requests fail, every kind of fault)
        faults.set(rate=0.2, seed=5)
        morning = enroll_synthetic(store, 70, district="320101", seed=1, light=True)
        morning.append(enroll(store, resident(9001, full_name="SUDAH TERDAFTAR")))  # -> duplicate
        morning += [enroll(store, resident(8000 + i, occupation="")) for i in range(3)]  # -> rejected
        passes_until_settled(worker, store, morning)

        # midday: the link is gone for hours; the station keeps enrolling
        faults.set(outage_s=3600, rate=0.0)
        noon = enroll_synthetic(store, 80, district="320101", seed=2, light=True)
        report = worker.run_once()
        assert report["confirmed"] == 0 and all(store.get(rid).state is S.QUEUED for rid in noon)
        assert worker.network().state == "offline"

        # the queue goes on a stick; the central imports it (by hand, the network is still down)
        (tmp_path / "usb").mkdir()
        batch = export_queued(store, tmp_path / "usb", seal_packet=sealer_for_station(cfg, store),
                              key=StationKeys.load(station).signing, station_id=cfg.station.id, actor="op1")
        assert sorted(batch.records) == sorted(noon)
        (imported,) = import_folder(tmp_path / "usb", reg)
        assert imported.refused == () and len(imported.accepted) == 80
        afternoon = enroll_synthetic(store, 46, district="320101", seed=3, light=True)  # not on the stick
        assert set(worker.pending_records()[:46]) == set(afternoon)  # these go first once the link is back
        worker.run_once()  # still offline: nothing moves, nothing breaks

        # evening: the link is back (still flaky); everything reaches a decision
        faults.set(outage_until=0.0, rate=0.2)
        everyone = morning + noon + afternoon
        passes_until_settled(worker, store, everyone)
        assert exported_unconfirmed(store) == set()  # the stick's records are confirmed by the central

        # cards for part of the approved records; the third one jams and is spoiled
        gate = PrintGate(store, central_key=central.signing_public, station_id=cfg.station.id)
        evolis = EvolisMock(tmp_path / "evolis", cards=100, ribbon_left=500)
        printer = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=1.0),
                                      connection=usb_connection(evolis))
        to_print = [rid for rid in everyone if store.get(rid).state is S.APPROVED][:PRINTED_TODAY]
        with printer:
            for n, rid in enumerate(to_print):
                if n == 2:
                    evolis.faults.add("jam")
                    with pytest.raises(DeviceFault):
                        gate.print_record(rid, printer, actor="op1")
                    evolis.faults.discard("jam")
                    with pytest.raises(PrintRefused):  # the spoiled card's permit never prints again
                        gate.print_record(rid, printer, actor="op1")
                    continue
                gate.print_record(rid, printer, actor="op1")
            # the reprint request goes up and a new permit comes back; the link still fails 20 % of
            # requests, so this may take a few passes (bounded)
            for _ in range(20):
                worker.run_once()
                if any(r.status == "received" for r in permits_for(store, to_print[2])):
                    break
            gate.print_record(to_print[2], printer, actor="op1")
        assert all(store.get(rid).state is S.PRINTED for rid in to_print)
        # every printed record came out exactly once; the jammed card is the one spoiled extra
        assert len(evolis.printed_cards()) == PRINTED_TODAY and evolis.state.spoiled == 1

        # the next day's first pass runs the daily upkeep: retention purges what is finished
        upkeep.cfg = day_config(config, days=0)
        monkeypatch.setattr(Upkeep, "today", staticmethod(lambda: "2026-11-24"))
        worker.run_once()
    finally:
        worker.close()
        central.close()

    # every record accounted for, at the station ...
    assert len(everyone) == len(set(everyone)) == 200
    states = {rid: store.get(rid).state for rid in everyone}
    assert set(states.values()) <= FINAL
    assert states[morning[70]] is S.DUPLICATE
    assert [states[r] for r in morning[71:]] == [S.REJECTED] * 3
    assert sorted(r for r, st in states.items() if st is S.PRINTED) == sorted(to_print)
    for rid, state in states.items():
        # finished records lose their biometrics after the retention period (0 days here)
        assert is_purged(store, rid) is (state in (S.REJECTED, S.PRINTED))
        assert (len(permits(store, rid)) >= 1) is (state in (S.APPROVED, S.PRINTED))
    assert store.counts()["queued"] == store.counts()["submitted"] == 0

    # ... and at the central: each record stored once, decided once, as the station recorded it
    reg_check = reg.__class__(cfg.central.local.data_dir)
    try:
        rows = reg_check.conn.execute("SELECT record_id, COUNT(*), MAX(decision) FROM decisions"
                                      " WHERE station_id=? GROUP BY record_id", (cfg.station.id,)).fetchall()
        assert {r[0] for r in rows} == set(everyone) and all(r[1] == 1 for r in rows)
        printed_as_approved = {rid: ("approved" if st is S.PRINTED else st.value) for rid, st in states.items()}
        assert {r[0]: r[2] for r in rows} == printed_as_approved
        stored = reg_check.conn.execute("SELECT COUNT(*), COUNT(DISTINCT record_id) FROM records WHERE station_id=?",
                                        (cfg.station.id,)).fetchone()
        assert tuple(stored) == (200, 200)
    finally:
        reg_check.close()
    assert sum(faults.injected.values()) > 0  # the day really was a bad one

    # the audit trail of the whole day verifies, signed at intervals with the station key
    out = run_kiosk("--config", str(config_file), "audit", "verify", "--json")
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["ok"], out.stdout + out.stderr
    assert report["checkpoints"] >= 3
