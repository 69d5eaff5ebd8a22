"""Offline export to a folder and import at the central, with the real pieces: packets sealed by
the sync side (the bytes the worker uploads), the central registry's idempotent ingest, the
station key the central registers. Signed manifest, hashes, tracking, never two copies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import pytest

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.config import Config
from kiosk.ops.audit import verify_audit_log
from kiosk.ops.export import (ImportRefused, confirm_exports, export_queued, exportable, exported_unconfirmed,
                              find_batches, import_batch, import_folder, registry_ingest, upload_order)
from kiosk.store import RecordState, RecordStore
from kiosk.sync.client import CentralClient
from kiosk.sync.packets import packet_file
from kiosk.sync.synthetic import enroll_synthetic
from kiosk.ops.service import Upkeep
from kiosk.sync.worker import SyncSettings, SyncWorker, sealer_for_station
from tests.conftest import resident, run_kiosk
from tests.ops.conftest import advance

STATION = "TEST-01"
FAST = SyncSettings(timeout_s=2.0, poll_interval_s=0.05, chunk_size=8192, backoff_base_s=0.01, backoff_cap_s=0.05,
                    parallel=1, attempts_per_pass=20)


@pytest.fixture
def central(config: Config, station: Path) -> Iterator[CentralRegistry]:
    """The config's local central (its keys are the ones the station seals to), station registered."""
    reg = CentralRegistry(config.central.local.data_dir, decision_delay_s=0.0)
    reg.register_station(STATION, StationKeys.load(station).public, "320101")
    yield reg
    reg.close()


@pytest.fixture
def queued(station_store: RecordStore) -> list[str]:
    ids = enroll_synthetic(station_store, 6, district="320101", seed=5)
    draft = station_store.create_draft(resident(50), actor="op")
    assert draft.state is RecordState.DRAFT  # drafts never travel
    return ids


def do_export(store: RecordStore, station: Path, config: Config, dest: Path, **kw):  # type: ignore[no-untyped-def]
    dest.mkdir(exist_ok=True)
    return export_queued(store, dest, seal_packet=sealer_for_station(config, store),
                         key=StationKeys.load(station).signing, station_id=STATION, actor="op1", **kw)


def stored_packet_bytes(store: RecordStore, record_id: str) -> bytes:
    """The packet the sync worker keeps for the record (its file, named by its row)."""
    record, submission, sha = store.conn.execute("SELECT record_id, submission, sha256 FROM sync_packets"
                                                 " WHERE record_id=?", (record_id,)).fetchone()
    return packet_file(store, record, submission, sha).read_bytes()


def worker_for(store: RecordStore, station: Path, central: CentralRegistry, url: str,
               config: Config | None = None) -> SyncWorker:
    keys = StationKeys.load(station)
    client = CentralClient(url, STATION, keys.signing, timeout_s=FAST.timeout_s)
    return SyncWorker(store, client, station_id=STATION, station_key=keys.signing,
                      sealing_key=central.keys.sealing_public, permit_key=central.keys.signing_public,
                      settings=FAST, seed=3, closers=(client.close,), after_pass=Upkeep(config, store) if config else None)


def test_round_trip_delivers_every_queued_record_once(station: Path, station_store: RecordStore, config: Config,
                                                      central: CentralRegistry, queued: list[str],
                                                      tmp_path: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    assert sorted(result.records) == sorted(queued)
    (imported,) = import_folder(tmp_path / "usb", central)
    assert imported.refused == () and sorted(imported.accepted) == sorted(queued)
    assert central.counts()["records"] == 6 and central.counts()["uploads_complete"] == 6
    # what went on the stick is the packet the sync worker stores and would upload
    for rid in queued:
        assert (result.folder / "packets" / f"{rid}.pkt").read_bytes() == stored_packet_bytes(station_store, rid)
    # exported records stay queued (nothing lost if the stick is) and are tracked
    assert all(station_store.get(rid).state is RecordState.QUEUED for rid in queued)
    assert exported_unconfirmed(station_store) == set(queued)
    # audited: one entry per record and one per batch, and the chain still verifies
    actions = [e.action for e in station_store.audit()]
    assert actions.count("export") == 6 and actions.count("export_batch") == 1
    assert verify_audit_log(station_store, StationKeys.load(station).public).ok


def test_manifest_is_signed_and_lists_sizes_and_hashes(station: Path, station_store: RecordStore, config: Config,
                                                       queued: list[str], tmp_path: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    manifest = json.loads((result.folder / "manifest.json").read_text())["manifest"]
    assert manifest["station_id"] == STATION and manifest["batch"] == result.batch and manifest["created_at"]
    for entry in manifest["packets"]:
        data = (result.folder / entry["file"]).read_bytes()
        assert data.startswith(b"KPKT")  # a real sealed packet, not the clear record
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert not list((tmp_path / "usb").glob("*.partial"))


def test_second_export_skips_unconfirmed_records_unless_again(station: Path, station_store: RecordStore,
                                                              config: Config, queued: list[str],
                                                              tmp_path: Path) -> None:
    first = do_export(station_store, station, config, tmp_path / "usb")
    (new,) = enroll_synthetic(station_store, 1, district="320101", seed=9)
    assert do_export(station_store, station, config, tmp_path / "usb").records == (new,)
    again = do_export(station_store, station, config, tmp_path / "usb2", again=True)
    assert len(again.records) == 7
    # the same stored packet on both sticks: exporting twice never seals a record twice
    rid = queued[0]
    assert (again.folder / "packets" / f"{rid}.pkt").read_bytes() == \
        (first.folder / "packets" / f"{rid}.pkt").read_bytes()


def test_confirmation_once_the_central_has_the_record(station: Path, station_store: RecordStore, config: Config,
                                                      queued: list[str], tmp_path: Path) -> None:
    do_export(station_store, station, config, tmp_path / "usb")
    advance(station_store, queued[0], RecordState.SUBMITTED)  # the sync worker's upload was acknowledged
    assert confirm_exports(station_store) == 1
    assert exported_unconfirmed(station_store) == set(queued[1:])
    assert queued[0] not in exportable(station_store)


def test_sync_worker_sends_records_not_on_a_stick_first(station: Path, station_store: RecordStore, config: Config,
                                                        central: CentralRegistry, queued: list[str],
                                                        tmp_path: Path) -> None:
    do_export(station_store, station, config, tmp_path / "usb")
    (fresh,) = enroll_synthetic(station_store, 1, district="320101", seed=11)
    assert upload_order(station_store, [*queued, fresh]) == [fresh, *queued]
    worker = worker_for(station_store, station, central, "http://127.0.0.1:9")  # never contacted here
    try:
        pending = worker.pending_records()
        assert pending[0] == fresh and sorted(pending[1:]) == sorted(queued)
    finally:
        worker.close()


def test_network_and_stick_together_store_each_record_once(station: Path, station_store: RecordStore,
                                                           config: Config, central: CentralRegistry,
                                                           queued: list[str], tmp_path: Path) -> None:
    """The rule: the central's idempotent ingest is the guard against double delivery."""
    do_export(station_store, station, config, tmp_path / "usb")
    server = CentralServer(central).start()
    worker = worker_for(station_store, station, central, server.url, config)
    try:
        for rid in queued[:3]:  # the network came back for a while before the stick arrived
            assert worker.upload_record(rid) == "confirmed"
        (batch,) = find_batches(tmp_path / "usb")
        first = import_folder(batch, central)[0]
        second = import_folder(batch, central)[0]  # imported twice by mistake
        assert sorted(first.accepted) == sorted(second.accepted) == sorted(queued)
        counts = central.counts()
        assert counts["records"] == 6 and counts["uploads_complete"] == 6
        # the network returns for good: the rest is "already complete", decisions come back
        report = worker.run_once()
        assert report["refused"] == 0
        assert all(station_store.get(rid).state is RecordState.APPROVED for rid in queued)
        assert sum(central.counts()["decisions"].values()) == 6  # one decision per record, never two
        assert exported_unconfirmed(station_store) == set()  # the pass's hook confirmed the export
    finally:
        worker.close()
        server.stop()


def test_altered_or_missing_packet_is_refused_alone(station: Path, station_store: RecordStore, config: Config,
                                                    central: CentralRegistry, queued: list[str],
                                                    tmp_path: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    bad, gone = queued[1], queued[2]
    path = result.folder / "packets" / f"{bad}.pkt"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # one flipped bit: always a change
    (result.folder / "packets" / f"{gone}.pkt").unlink()
    (imported,) = import_folder(result.folder, central)
    assert dict(imported.refused) == {bad: "ops.import_hash", gone: "ops.import_missing"}
    assert sorted(imported.accepted) == sorted(set(queued) - {bad, gone})
    assert central.counts()["records"] == 4


def test_packet_of_another_record_under_a_manifest_entry_is_refused(station: Path, station_store: RecordStore,
                                                                    config: Config, central: CentralRegistry,
                                                                    queued: list[str], tmp_path: Path) -> None:
    seal = sealer_for_station(config, station_store)
    ingest = registry_ingest(central)
    with pytest.raises(ImportRefused) as err:
        ingest(STATION, queued[0], seal(queued[1]))
    assert err.value.code == "ops.import_mismatch" and central.counts()["records"] == 0
    with pytest.raises(ImportRefused):
        ingest("OTHER-01", queued[0], seal(queued[0]))


@pytest.mark.parametrize("tamper", ["add_record", "change_hash", "change_station_key"])
def test_tampered_manifest_refuses_the_whole_batch(station: Path, station_store: RecordStore, config: Config,
                                                   central: CentralRegistry, queued: list[str], tmp_path: Path,
                                                   tamper: str) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    mpath = result.folder / "manifest.json"
    outer = json.loads(mpath.read_text())
    if tamper == "add_record":
        outer["manifest"]["packets"].append({**outer["manifest"]["packets"][0],
                                             "record_id": "00000000-0000-4000-8000-000000000000"})
    elif tamper == "change_hash":
        outer["manifest"]["packets"][0]["sha256"] = "0" * 64
    mpath.write_text(json.dumps(outer))
    if tamper == "change_station_key":  # the central knows this station by another key
        central.register_station(STATION, StationKeys.create(tmp_path / "other").public, "320101")
    with pytest.raises(ImportRefused) as err:
        import_folder(result.folder, central)
    assert err.value.code == "ops.import_signature" and central.counts()["records"] == 0


def test_unknown_station_is_refused(station: Path, station_store: RecordStore, config: Config, queued: list[str],
                                    tmp_path: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    reg = CentralRegistry(config.central.local.data_dir)  # the station was never registered here
    try:
        with pytest.raises(ImportRefused) as err:
            import_folder(result.folder, reg)
        assert err.value.code == "ops.import_unknown_station" and reg.counts()["records"] == 0
    finally:
        reg.close()


def test_interrupted_export_leaves_no_batch_and_tracks_nothing(station: Path, station_store: RecordStore,
                                                               config: Config, queued: list[str],
                                                               tmp_path: Path) -> None:
    calls = []
    seal = sealer_for_station(config, station_store)

    def failing_seal(rid: str) -> bytes:
        calls.append(rid)
        if len(calls) == 4:
            raise OSError("stick pulled out")
        return seal(rid)

    (tmp_path / "usb").mkdir()
    with pytest.raises(OSError):
        export_queued(station_store, tmp_path / "usb", seal_packet=failing_seal,
                      key=StationKeys.load(station).signing, station_id=STATION, actor="op1")
    assert list((tmp_path / "usb").iterdir()) == [] and exported_unconfirmed(station_store) == set()
    assert find_batches(tmp_path / "usb") == []


def test_manual_import_batch_takes_any_idempotent_ingest(station: Path, station_store: RecordStore, config: Config,
                                                         central: CentralRegistry, queued: list[str],
                                                         tmp_path: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    seen: list[tuple[str, str]] = []
    imported = import_batch(result.folder, station_key=central.station_key,
                            ingest=lambda sid, rid, data: seen.append((sid, rid)))
    assert sorted(imported.accepted) == sorted(queued) and {s for s, _ in seen} == {STATION}


# -- the commands --------------------------------------------------------------------------------


def test_export_command_writes_the_stored_packets_without_a_connection(station: Path, station_store: RecordStore,
                                                                       config: Config, config_file: Path,
                                                                       queued: list[str], tmp_path: Path) -> None:
    (tmp_path / "usb").mkdir()
    out = run_kiosk("--config", str(config_file), "export", "--to", str(tmp_path / "usb"), "--json")
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert sorted(done["records"]) == sorted(queued)
    for rid in queued:
        assert (Path(done["folder"]) / "packets" / f"{rid}.pkt").read_bytes() == stored_packet_bytes(station_store,
                                                                                                       rid)
    # no local central was started for it (it would have left its address behind)
    assert not (config.central.local.data_dir / "local.json").exists()


def test_central_import_command_ingests_verified_packets_once(station: Path, station_store: RecordStore,
                                                              config: Config, central: CentralRegistry,
                                                              queued: list[str], tmp_path: Path,
                                                              config_file: Path) -> None:
    result = do_export(station_store, station, config, tmp_path / "usb")
    central.close()  # the command opens the central's database itself
    data = str(config.central.local.data_dir)
    out = run_kiosk("--config", str(config_file), "central", "import", str(tmp_path / "usb"), "--data", data, "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)[0]["accepted"]) == sorted(queued)
    # the same stick again: accepted (idempotent), still one copy of each record
    again = run_kiosk("--config", str(config_file), "central", "--data", data, "import", str(tmp_path / "usb"),
                      "--json")
    assert again.returncode == 0, again.stderr
    # a damaged packet: the rest still arrives, the exit status says something was refused
    path = result.folder / "packets" / f"{queued[0]}.pkt"
    path.write_bytes(b"garbage")
    damaged = run_kiosk("--config", str(config_file), "central", "import", str(result.folder), "--data", data)
    assert damaged.returncode == 1 and queued[0] in damaged.stdout
    reg = CentralRegistry(config.central.local.data_dir)
    try:
        counts = reg.counts()
        assert counts["records"] == 6 and counts["uploads_complete"] == 6
    finally:
        reg.close()


def test_central_import_refuses_an_unregistered_station(station: Path, station_store: RecordStore, config: Config,
                                                        queued: list[str], tmp_path: Path,
                                                        config_file: Path) -> None:
    do_export(station_store, station, config, tmp_path / "usb")
    out = run_kiosk("--config", str(config_file), "central", "import", str(tmp_path / "usb"), "--data",
                    str(tmp_path / "elsewhere"))
    assert out.returncode == 1 and "not registered" in out.stderr
    reg = CentralRegistry(tmp_path / "elsewhere")
    try:
        assert reg.counts()["records"] == 0
    finally:
        reg.close()


def test_central_import_with_an_explicit_station_key(station: Path, station_store: RecordStore, config: Config,
                                                     queued: list[str], tmp_path: Path, config_file: Path) -> None:
    """--station-key: the operator vouches for the key (station not registered at this central)."""
    do_export(station_store, station, config, tmp_path / "usb")
    data = str(config.central.local.data_dir)
    pub = str(StationKeys.load(station).public_path)
    out = run_kiosk("--config", str(config_file), "central", "import", str(tmp_path / "usb"), "--data", data,
                    "--station-key", pub, "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)[0]["accepted"]) == sorted(queued)
    wrong = StationKeys.create(tmp_path / "other").public_path
    out = run_kiosk("--config", str(config_file), "central", "import", str(tmp_path / "usb"), "--data", data,
                    "--station-key", str(wrong))
    assert out.returncode == 1 and "not signed by station" in out.stderr
