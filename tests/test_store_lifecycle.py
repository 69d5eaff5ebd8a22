"""The record state machine: every edge, every non-edge, random sequences, audit rows."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from kiosk.store import TRANSITIONS, IllegalTransition, RecordState, RecordStore
from kiosk.store.queue import DuplicateNik
from tests.conftest import resident

S = RecordState

# A path from draft to each state along legal edges, so any state can be set up honestly.
PATHS: dict[RecordState, list[RecordState]] = {
    S.DRAFT: [],
    S.CAPTURED: [S.CAPTURED],
    S.QUEUED: [S.CAPTURED, S.QUEUED],
    S.SUBMITTED: [S.CAPTURED, S.QUEUED, S.SUBMITTED],
    S.APPROVED: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.APPROVED],
    S.REJECTED: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.REJECTED],
    S.DUPLICATE: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.DUPLICATE],
    S.PRINTING: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.APPROVED, S.PRINTING],
    S.PRINTED: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.APPROVED, S.PRINTING, S.PRINTED],
    S.CANCELLED: [S.CANCELLED],
    S.HELD: [S.CAPTURED, S.QUEUED, S.HELD],
    S.DELETED: [S.CAPTURED, S.QUEUED, S.SUBMITTED, S.APPROVED, S.DELETED],
}
_serial = itertools.count(1)


def record_in(store: RecordStore, state: RecordState) -> str:
    rec = store.create_draft(resident(next(_serial)), actor="op1")
    for step in PATHS[state]:
        store.transition(rec.id, step, actor="op1")
    assert store.get(rec.id).state is state
    return rec.id


def test_the_table_is_the_issue_s_lifecycle() -> None:
    edges = {(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets}
    assert edges == {
        ("draft", "captured"), ("captured", "queued"), ("queued", "submitted"),
        ("submitted", "approved"), ("submitted", "rejected"), ("submitted", "duplicate"),
        ("approved", "printing"), ("printing", "printed"), ("printing", "approved"),
        ("draft", "cancelled"), ("captured", "cancelled"), ("rejected", "cancelled"),
        ("duplicate", "cancelled"), ("duplicate", "queued"),
        # issue 14 §2: the station's own fingerprint check holds a record before upload
        ("queued", "held"), ("held", "queued"), ("held", "cancelled"),
        # the central's signed ``deleted`` decision; an adjudicated duplicate decided after all
        ("submitted", "deleted"), ("approved", "deleted"), ("printed", "deleted"), ("duplicate", "deleted"),
        ("duplicate", "approved"), ("duplicate", "rejected"),
    }


def test_deleted_is_terminal_and_frees_the_nik(store: RecordStore) -> None:
    rid = record_in(store, S.DELETED)
    assert TRANSITIONS[S.DELETED] == frozenset()
    ident = store.identity(rid)
    again = store.create_draft(ident, actor="op1")  # the central freed the NIK: so does the station
    assert again.state is S.DRAFT


@pytest.mark.parametrize("src,dst", [(a, b) for a, ts in TRANSITIONS.items() for b in sorted(ts)])
def test_every_allowed_edge_moves_and_writes_one_audit_row(store: RecordStore, src: RecordState,
                                                            dst: RecordState) -> None:
    rid = record_in(store, src)
    before = len(store.audit(rid))
    store.transition(rid, dst, actor="op7", reason="because")
    assert store.get(rid).state is dst
    entries = store.audit(rid)
    assert len(entries) == before + 1
    last = entries[-1]
    assert (last.actor, last.from_state, last.to_state, last.reason) == ("op7", src.value, dst.value, "because")


@pytest.mark.parametrize("src,dst", [(a, b) for a in RecordState for b in RecordState if b not in TRANSITIONS[a]])
def test_every_illegal_edge_raises_and_changes_nothing(store: RecordStore, src: RecordState, dst: RecordState) -> None:
    rid = record_in(store, src)
    before_rec, before_audit = store.get(rid), store.audit()
    with pytest.raises(IllegalTransition) as info:
        store.transition(rid, dst, actor="op1")
    assert info.value.params["from_state"] == src.value
    assert store.get(rid) == before_rec
    assert store.audit() == before_audit


def test_expect_guard_refuses_a_raced_transition(store: RecordStore) -> None:
    rid = record_in(store, S.SUBMITTED)
    with pytest.raises(IllegalTransition):
        store.transition(rid, S.APPROVED, actor="sync", expect=S.QUEUED)
    assert store.get(rid).state is S.SUBMITTED


def test_extra_work_rolls_back_with_a_failed_transition(store: RecordStore) -> None:
    rid = record_in(store, S.QUEUED)

    def extra(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute("CREATE TABLE side (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.transition(rid, S.SUBMITTED, actor="sync", extra=extra)
    assert store.get(rid).state is S.QUEUED
    tables = {name for (name,) in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "side" not in tables


class LifecycleMachine(RuleBasedStateMachine):
    """Random sequences of transitions against a plain model of the table."""

    def __init__(self) -> None:
        super().__init__()
        import tempfile
        from pathlib import Path

        from kiosk.config import PolicyConfig

        self.tmp = tempfile.TemporaryDirectory()
        self.store = RecordStore(Path(self.tmp.name), policy=PolicyConfig(required_fingers=(), require_face=False,
                                                                          require_signature=False))
        self.model: dict[str, RecordState] = {}
        self.serial = 0

    @initialize()
    def first(self) -> None:
        self.new_record()

    @rule()
    def new_record(self) -> None:
        self.serial += 1
        rec = self.store.create_draft(resident(self.serial), actor="op")
        self.model[rec.id] = S.DRAFT

    @rule(pick=st.integers(0, 10_000), to=st.sampled_from(list(RecordState)))
    def move(self, pick: int, to: RecordState) -> None:
        rid = sorted(self.model)[pick % len(self.model)]
        if to in TRANSITIONS[self.model[rid]]:
            self.store.transition(rid, to, actor="op")
            self.model[rid] = to
        else:
            with pytest.raises(IllegalTransition):
                self.store.transition(rid, to, actor="op")

    @invariant()
    def states_match_the_model(self) -> None:
        assert {r.id: r.state for r in self.store.list()} == self.model

    @invariant()
    def audit_chain_holds(self) -> None:
        assert self.store.verify_audit() is None

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = settings(max_examples=30, stateful_step_count=25, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])


def test_local_duplicate_nik_is_refused_naming_the_record(store: RecordStore) -> None:
    first = store.create_draft(resident(42), actor="op1")
    with pytest.raises(DuplicateNik) as info:
        store.create_draft(resident(42, full_name="SOMEONE ELSE"), actor="op2")
    assert info.value.params == {"record_id": first.id, "state": "draft"}


@pytest.mark.parametrize("state", [s for s in RecordState if s not in (S.CANCELLED, S.DELETED)])
def test_duplicate_check_covers_every_state_but_cancelled_and_deleted(store: RecordStore, state: RecordState) -> None:
    rid = record_in(store, state)
    nik = store.identity(rid).nik
    from kiosk.identity import Identity

    with pytest.raises(DuplicateNik) as info:
        store.create_draft(Identity.from_dict({**store.identity(rid).to_dict(), "nik": nik}), actor="op")
    assert info.value.params["state"] == state.value


def test_a_cancelled_nik_may_be_recorded_again(store: RecordStore) -> None:
    rid = record_in(store, S.CANCELLED)
    again = store.create_draft(store.identity(rid), actor="op")
    assert again.id != rid


def test_editing_identity_into_a_held_nik_is_refused(store: RecordStore) -> None:
    a = store.create_draft(resident(1), actor="op")
    b = store.create_draft(resident(2), actor="op")
    with pytest.raises(DuplicateNik):
        store.update_identity(b.id, store.identity(a.id), actor="op")


def test_records_count_for_the_day_of_the_station_time_zone(store: RecordStore) -> None:
    """A record queued at 06:30 WIB (23:30 UTC the day before) counted for yesterday on the home
    screen's "recorded today" and the progress chart: days were cut at UTC midnight."""
    import datetime as dt

    rec = store.create_draft(resident(41), actor="op")
    store.transition(rec.id, RecordState.CAPTURED, actor="op")
    store.transition(rec.id, RecordState.QUEUED, actor="op")
    now = dt.datetime.now(dt.timezone.utc)
    late_utc = (now - dt.timedelta(days=1)).replace(hour=23, minute=30, second=0, microsecond=0)
    store.conn.execute("UPDATE audit SET ts = ? WHERE record_id = ? AND to_state = 'queued'",
                       (late_utc.isoformat(), rec.id))
    wib = dt.timezone(dt.timedelta(hours=7))
    assert dict(store.enrolled_per_day(3, wib)) == {(late_utc + dt.timedelta(hours=7)).date().isoformat(): 1}
    assert dict(store.enrolled_per_day(3)) == {late_utc.date().isoformat(): 1}


def test_a_second_store_in_the_process_leaves_the_first_ones_database_to_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Opening a second store (the sync worker's, a service's) opened and closed ``station.db``,
    which dropped every POSIX lock the process held on it: the next other process to close its
    connection (``kiosk queue`` while the UI ran) deleted the -shm under the UI, and the UI's
    reads failed with "disk I/O error", then "database disk image is malformed"."""
    import subprocess
    import sys

    first = RecordStore(tmp_path)
    first.counts()
    RecordStore(tmp_path).close()
    other = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "c.execute('SELECT COUNT(*) FROM records').fetchall(); c.close()")
    subprocess.run([sys.executable, "-c", other, str(tmp_path / "station.db")], check=True, timeout=60)
    assert (tmp_path / "station.db-shm").exists()  # still the first store's: it is still open
    rid = first.create_draft(resident(5), actor="op").id
    seen = subprocess.run([sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
                           ".execute('SELECT id FROM records').fetchall())", str(tmp_path / "station.db")],
                          check=True, timeout=60, capture_output=True, text=True).stdout
    assert rid in seen
    first.close()
