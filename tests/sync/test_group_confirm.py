"""Confirmations in group commits (kiosk.sync.confirmations): uploads finishing together share
one transaction, each record keeps its own audit row, and a kill -9 in the middle of a group
loses and duplicates nothing (the next pass asks the central and confirms each record once)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from kiosk.store import RecordState
from kiosk.sync import confirmations
from kiosk.sync.confirmations import Confirmations
from tests.central.conftest import enroll
from tests.conftest import ROOT, resident

S = RecordState


def _submitted_rows(store, rid: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for e in store.audit(rid) if (e.from_state, e.to_state) == ("queued", "submitted"))


def _upload_whole(st, rid: str) -> None:  # type: ignore[no-untyped-def]
    """The central gets the whole packet; the station has not confirmed it yet."""
    row, _ = st.worker.outbox.ensure_packet(rid)
    blob = bytes(row.packet)
    answer = st.client.create_upload(rid, 1, len(blob), hashlib.sha256(blob).hexdigest(), blob)
    assert answer.complete


def test_confirmations_finishing_together_share_one_commit_and_keep_one_audit_row_each(
        make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = [enroll(st.store, resident(80 + i)) for i in range(5)]
    for rid in ids:
        st.worker.outbox.ensure_packet(rid)
    group = Confirmations(st.store)
    first_started, release = threading.Event(), threading.Event()
    real = confirmations.commit_confirmations

    def slow_first(store, batch):  # type: ignore[no-untyped-def]
        if not first_started.is_set():
            first_started.set()
            assert release.wait(30)
        real(store, batch)

    monkeypatch.setattr(confirmations, "commit_confirmations", slow_first)
    errors: list[BaseException] = []

    def confirm(rid: str) -> None:
        try:
            group.confirm(rid, 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            st.store.close()  # this thread's connection

    leader = threading.Thread(target=confirm, args=(ids[0],))
    leader.start()
    assert first_started.wait(30)  # the first confirmation is being committed ...
    followers = [threading.Thread(target=confirm, args=(rid,)) for rid in ids[1:]]
    for t in followers:
        t.start()
    # ... while the four others arrive: they wait for it, then go in one commit together
    tick, until = threading.Event(), time.monotonic() + 30
    while len(group._pending) < 4 and time.monotonic() < until:
        tick.wait(0.01)
    release.set()
    for t in [leader, *followers]:
        t.join(30)
    assert not errors
    assert (group.commits, group.confirmed) == (2, 5)
    assert [st.store.get(rid).state for rid in ids] == [S.SUBMITTED] * 5
    assert [_submitted_rows(st.store, rid) for rid in ids] == [1] * 5
    assert st.store.verify_audit() is None


def test_a_failed_group_commit_commits_nothing_of_the_group_and_tells_each_waiter(
        make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = [enroll(st.store, resident(90 + i)) for i in range(3)]
    for rid in ids:
        st.worker.outbox.ensure_packet(rid)
    real_audit = st.store.write_audit
    calls = {"n": 0}

    def failing_audit(conn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_audit(conn, *args, **kwargs)

    monkeypatch.setattr(st.store, "write_audit", failing_audit)
    with pytest.raises(OSError):
        confirmations.commit_confirmations(st.store, [(rid, 1) for rid in ids])
    assert [st.store.get(rid).state for rid in ids] == [S.QUEUED] * 3  # the first one's change is undone too
    assert [_submitted_rows(st.store, rid) for rid in ids] == [0] * 3


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from kiosk.config import PolicyConfig
    from kiosk.store import RecordStore
    from kiosk.sync import confirmations
    store = RecordStore(Path(sys.argv[1]), policy=PolicyConfig(required_fingers=(1, 6)))
    real = store.write_audit
    calls = [0]
    def audit_then_die(conn, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 3:  # two records' changes written, the third's under way: kill -9
            os.kill(os.getpid(), signal.SIGKILL)
        return real(conn, *args, **kwargs)
    store.write_audit = audit_then_die
    confirmations.commit_confirmations(store, [(rid, 1) for rid in sys.argv[2:]])
    print("not killed")
""")


def test_kill_9_in_the_middle_of_a_group_commit_loses_and_duplicates_nothing(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = [enroll(st.store, resident(100 + i)) for i in range(3)]
    for rid in ids:
        _upload_whole(st, rid)  # the central holds each packet whole; the answers were "complete"
    proc = subprocess.run([sys.executable, "-c", KILLER, str(st.store.data_dir), *ids], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    # nothing of the group landed: every record still queued, no audit row, the trail intact
    assert [st.store.get(rid).state for rid in ids] == [S.QUEUED] * 3
    assert [_submitted_rows(st.store, rid) for rid in ids] == [0] * 3
    assert st.store.verify_audit() is None
    st.worker.run_once()  # asks the central, hears "complete", confirms each once
    assert all(st.store.get(rid).state in (S.SUBMITTED, S.APPROVED) for rid in ids)
    assert [_submitted_rows(st.store, rid) for rid in ids] == [1] * 3
    assert central.registry.counts()["uploads_complete"] == 3
    with central.registry.lock:
        assert central.registry.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3
    assert st.store.verify_audit() is None


def test_the_pass_confirms_through_the_group_commit(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = [enroll(st.store, resident(110 + i)) for i in range(3)]
    assert st.worker.run_once()["confirmed"] == 3
    assert st.worker.outbox.confirmations.confirmed == 3
    assert [_submitted_rows(st.store, rid) for rid in ids] == [1] * 3


def test_dropping_a_confirmed_packet_writes_no_zeros_and_keeps_the_stations_setting(make_station) -> None:  # type: ignore[no-untyped-def]
    """secure_delete (on in Debian's SQLite) zeroed the ~200 KB of every confirmed packet:
    as many bytes again to the WAL, ~1 ms per record. The packet is ciphertext for the central."""
    from kiosk.sync.synthetic import enroll_synthetic

    st = make_station()
    [rid] = enroll_synthetic(st.store, 1, district="320101", seed=5)  # a realistic record: ~190 KB packet
    row, _ = st.worker.outbox.ensure_packet(rid)
    length = row.length
    conn = st.store.conn
    before = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(str(st.store.path) + "-wal")
    confirmations.commit_confirmations(st.store, [(rid, 1)])
    assert st.store.get(rid).state is S.SUBMITTED
    assert wal.stat().st_size < length / 2  # the record's pages and its audit row, not the packet's zeros
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == before


def test_a_confirmation_inside_the_callers_transaction_joins_it_instead_of_waiting_for_another_group(
        make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Waiting for another thread's group commit while holding the write lock would wait for
    that very lock (until the busy timeout)."""
    st = make_station()
    a, b = enroll(st.store, resident(130)), enroll(st.store, resident(131))
    for rid in (a, b):
        st.worker.outbox.ensure_packet(rid)
    group = Confirmations(st.store)
    started, release = threading.Event(), threading.Event()
    real = confirmations.commit_confirmations

    def held_first(store, batch):  # type: ignore[no-untyped-def]
        if not started.is_set():
            started.set()
            assert release.wait(60)
        real(store, batch)

    monkeypatch.setattr(confirmations, "commit_confirmations", held_first)

    def thread(fn):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                fn()
            finally:
                st.store.close()
        t = threading.Thread(target=run)
        t.start()
        return t

    def confirm_b_in_own_transaction() -> None:
        with st.store.transaction():
            group.confirm(b, 1)

    leader = thread(lambda: group.confirm(a, 1))
    assert started.wait(30)  # another group is being committed
    inner = thread(confirm_b_in_own_transaction)
    inner.join(30)
    finished_meanwhile = not inner.is_alive()
    release.set()
    leader.join(30)
    inner.join(30)
    assert finished_meanwhile
    assert [st.store.get(r).state for r in (a, b)] == [S.SUBMITTED] * 2
    assert [_submitted_rows(st.store, r) for r in (a, b)] == [1, 1]
