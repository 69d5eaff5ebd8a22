"""`kiosk audit verify`: tampering of every kind on the real database file, told apart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.central.keys import StationKeys
from kiosk.ops.audit import EXIT_CODES, check_chain, checkpoint, checkpoint_if_due, verify_audit_log
from kiosk.store import RecordStore
from kiosk.store.audit_chain import GENESIS, audit_hash
from tests.conftest import run_kiosk
from tests.ops.conftest import queue_record


def raw(station: Path) -> sqlite3.Connection:
    """A separate connection to the station's database file, as a forger would use."""
    conn = sqlite3.connect(station / "station.db", isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def rehash_from(conn: sqlite3.Connection, start: int) -> None:
    """Recompute every hash from ``start`` on, so the chain is self-consistent again."""
    prev = conn.execute("SELECT hash FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT 1", (start,)).fetchone()
    prev_hash = prev[0] if prev else GENESIS
    for r in conn.execute("SELECT * FROM audit WHERE seq >= ? ORDER BY seq", (start,)).fetchall():
        h = audit_hash(prev_hash, r["ts"], r["actor"], r["action"], r["record_id"], r["from_state"], r["to_state"],
                       r["reason"], r["params"])
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev_hash, h, r["seq"]))
        prev_hash = h


def verify_cli(config_file: Path) -> tuple[int, dict[str, Any]]:
    out = run_kiosk("--config", str(config_file), "audit", "verify", "--json")
    assert out.stdout, out.stderr
    return out.returncode, json.loads(out.stdout)


def test_intact_log_verifies_with_exit_0(history: RecordStore, config_file: Path) -> None:
    code, report = verify_cli(config_file)
    assert code == 0 and report["ok"] and report["entries"] == 16 and report["checkpoints"] == 3


def test_altered_entry_is_named_with_exit_3(history: RecordStore, station: Path, config_file: Path) -> None:
    raw(station).execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 5")
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["altered"] == 3
    assert report["findings"][0]["kind"] == "altered" and report["findings"][0]["seq"] == 5


def test_altered_and_rehashed_entry_is_named_with_exit_3(history: RecordStore, station: Path, config_file: Path) -> None:
    conn = raw(station)
    conn.execute("UPDATE audit SET reason = 'forged' WHERE seq = 11")
    r = conn.execute("SELECT * FROM audit WHERE seq = 11").fetchone()
    conn.execute("UPDATE audit SET hash = ? WHERE seq = 11", (audit_hash(
        r["prev_hash"], r["ts"], r["actor"], r["action"], r["record_id"], r["from_state"], r["to_state"], "forged",
        r["params"]),))
    code, report = verify_cli(config_file)
    assert code == 3 and report["findings"][0]["seq"] == 11


def test_whole_tail_rewritten_is_caught_by_the_signed_checkpoint(history: RecordStore, station: Path,
                                                                 config_file: Path) -> None:
    conn = raw(station)
    conn.execute("UPDATE audit SET reason = 'forged' WHERE seq = 12")
    rehash_from(conn, 12)
    code, report = verify_cli(config_file)
    assert code == 3
    assert report["findings"][0] == {"kind": "altered", "seq": 16, "reason": "ops.audit_checkpoint_hash",
                                     "params": {"seq": 16, "since": 8}}


def test_removed_entry_is_named_with_exit_4(history: RecordStore, station: Path, config_file: Path) -> None:
    raw(station).execute("DELETE FROM audit WHERE seq = 7")
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["removed"] == 4
    assert report["findings"][0]["kind"] == "removed" and report["findings"][0]["seq"] == 7


def test_removed_and_renumbered_entries_are_named_with_exit_4(history: RecordStore, station: Path,
                                                              config_file: Path) -> None:
    conn = raw(station)
    conn.execute("DELETE FROM audit WHERE seq IN (5, 6)")
    for seq in range(7, 17):  # close the gap, as a careful forger would
        conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq - 2, seq))
    code, report = verify_cli(config_file)
    assert code == 4
    assert report["findings"][0]["kind"] == "removed" and report["findings"][0]["seq"] == 5


def test_removed_tail_is_caught_by_the_checkpoint(history: RecordStore, station: Path, config_file: Path) -> None:
    raw(station).execute("DELETE FROM audit WHERE seq >= 15")
    code, report = verify_cli(config_file)
    assert code == 4
    assert report["findings"][0]["kind"] == "removed" and report["findings"][0]["seq"] == 15


def test_reordered_entries_are_named_with_exit_5(history: RecordStore, station: Path, config_file: Path) -> None:
    conn = raw(station)
    conn.execute("UPDATE audit SET seq = -1 WHERE seq = 9")
    conn.execute("UPDATE audit SET seq = 9 WHERE seq = 10")
    conn.execute("UPDATE audit SET seq = 10 WHERE seq = -1")
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["reordered"] == 5
    assert report["findings"][0]["kind"] == "reordered" and report["findings"][0]["seq"] == 9


def test_forged_checkpoint_signature_exits_6(history: RecordStore, station: Path, config_file: Path) -> None:
    conn = raw(station)
    conn.execute("UPDATE audit SET reason = 'forged' WHERE seq = 12")
    rehash_from(conn, 12)
    new_hash = conn.execute("SELECT hash FROM audit WHERE seq = 16").fetchone()[0]
    conn.execute("UPDATE audit_checkpoints SET hash = ? WHERE seq = 16", (new_hash,))  # cannot re-sign
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["signature"] == 6
    assert report["findings"][0] == {"kind": "signature", "seq": 16, "reason": "ops.audit_signature",
                                     "params": {"seq": 16}}


def test_checkpoint_signed_by_another_key_is_refused(history: RecordStore, station: Path, tmp_path: Path) -> None:
    other = StationKeys.create(tmp_path / "other").signing
    report = verify_audit_log(history, other.public_key())
    assert {f.kind for f in report.findings} == {"signature"} and report.exit_code == 6


def test_human_output_names_the_entry(history: RecordStore, station: Path, config_file: Path) -> None:
    raw(station).execute("DELETE FROM audit WHERE seq = 7")
    out = run_kiosk("--config", str(config_file), "audit", "verify")
    assert out.returncode == 4 and "#7" in out.stdout and "ENTRIES REMOVED" in out.stdout


def test_checkpoint_if_due_signs_every_n_entries(station: Path, station_store: RecordStore) -> None:
    key = StationKeys.load(station).signing
    signed = []
    for serial in range(1, 8):  # 3 entries each
        queue_record(station_store, serial)
        cp = checkpoint_if_due(station_store, key, every=5)
        if cp is not None:
            signed.append(cp.seq)
    # provisioning signed seq 1; then a checkpoint once 5 or more entries have accumulated
    assert signed == [7, 13, 19]
    assert verify_audit_log(station_store, key.public_key()).ok


def test_audit_checkpoint_command_signs_the_newest_entry(history: RecordStore, config_file: Path) -> None:
    queue_record(history, 9)
    out = run_kiosk("--config", str(config_file), "audit", "checkpoint", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["seq"] == 19


def test_audit_listing_still_works(history: RecordStore, config_file: Path) -> None:
    out = run_kiosk("--config", str(config_file), "audit", "--json")
    assert out.returncode == 0 and len(json.loads(out.stdout)) == 16


# -- the chain walk alone, on generated chains ------------------------------------------------------


def chain(n: int) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        r = {"seq": seq, "ts": f"2026-01-01T00:00:{seq:02d}", "actor": "op", "action": "a", "record_id": None,
             "from_state": None, "to_state": None, "reason": str(seq), "params": "{}", "prev_hash": prev}
        r["hash"] = prev = audit_hash(prev, r["ts"], "op", "a", None, None, None, str(seq), "{}")
        rows.append(r)
    return rows


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 30), data=st.data())
def test_chain_walk_classifies_every_single_tampering(n: int, data: st.DataObject) -> None:
    rows = chain(n)
    assert check_chain(rows) is None
    i = data.draw(st.integers(0, n - 2), label="index")  # the last entry is the checkpoints' job
    kind = data.draw(st.sampled_from(["altered", "removed", "reordered"]), label="kind")
    if kind == "altered":
        rows[i] = {**rows[i], "reason": "x"}
        want = (kind, i + 1)
    elif kind == "removed":
        del rows[i]
        want = (kind, i + 1)
    else:
        a, b = rows[i], rows[i + 1]
        rows[i], rows[i + 1] = {**b, "seq": a["seq"]}, {**a, "seq": b["seq"]}
        want = (kind, i + 1)
    found = check_chain(rows)
    assert found is not None and (found.kind, found.seq) == want


def test_unprovisioned_station_verifies_its_chain_without_a_key(tmp_path: Path, config_file: Path) -> None:
    store = RecordStore(tmp_path / "data")
    store.log_action("op", "login")
    store.close()
    code, report = verify_cli(config_file)
    assert code == 0 and report["entries"] == 1 and report["checkpoints"] == 0


def test_deleted_station_key_makes_checkpoints_untrustworthy(history: RecordStore, station: Path) -> None:
    for name in ("station_ed25519.pem", "station_ed25519.pub.pem"):
        (station / "keys" / name).unlink()
    report = verify_audit_log(history, StationKeys.public_key_of(station))
    assert report.exit_code == 6 and len(report.findings) == 3


def test_deleted_checkpoint_is_named(history: RecordStore, station: Path, config_file: Path) -> None:
    raw(station).execute("DELETE FROM audit_checkpoints WHERE seq = 7")
    code, report = verify_cli(config_file)
    assert code == 4
    assert report["findings"][0] == {"kind": "removed", "seq": 7, "reason": "ops.audit_checkpoint_removed",
                                     "params": {"seq": 7, "next": 16}}
