"""The earlier station receives the central's signed ``deleted`` decision (issue 14 §2): the
record moves to ``deleted`` in one transaction with its audit row, its permits are void, it
leaves the queue and can never print, even with a permit already received."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk import permits as station_permits
from kiosk.central.answers import sign_answer
from kiosk.central.permit import PermitError
from kiosk.errors import KioskError
from kiosk.ops.retention import due_for_purge
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.store.records_schema import RECORDS_MIGRATIONS, SCHEMA_VERSION, connect
from kiosk.store.schema import current_version, migrate
from kiosk.sync.inbox import DEFERRED
from tests.central.conftest import enroll
from tests.conftest import resident


def deleted_decision(central, station, record_id: str, *, seq: int = 10_000, key=None) -> dict:  # type: ignore[no-untyped-def]
    """A ``deleted`` decision as the registry writes it (kiosk.central.registry._delete_record)."""
    submission = station.store.conn.execute("SELECT submission FROM sync_packets WHERE record_id=?",
                                            (record_id,)).fetchone()[0]
    return sign_answer(key or central.registry.keys.signing, "decision", {
        "seq": seq, "station_id": station.id, "record_id": record_id, "submission": submission,
        "decision": "deleted", "decided_at": dt.datetime.now(dt.timezone.utc).isoformat(), "permit": None,
        "duplicate_of": None, "reason": {"code": "central.deleted", "params": {"why": "deletion request"}}})


@pytest.fixture
def printer(tmp_path: Path):  # type: ignore[no-untyped-def]
    mock = EvolisMock(tmp_path / "evolis", cards=10, ribbon_left=100)
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5, print_timeout_s=2.0),
                              connection=usb_connection(mock))
    drv.open()
    yield mock, drv
    drv.close()


def test_a_deleted_record_leaves_the_queue_and_never_prints_even_with_a_permit(make_station, central, printer) -> None:  # type: ignore[no-untyped-def]
    mock, drv = printer
    st = make_station("ST-A")
    rid = enroll(st.store, resident(1))
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    [permit] = station_permits.permits_for(st.store, rid)
    assert permit.status == "received"  # a usable permit, already here

    assert st.worker.apply_decision(deleted_decision(central, st, rid)) == "applied"
    assert st.store.get(rid).state is S.DELETED
    assert rid not in [r.id for r in st.store.list(S.APPROVED)]  # left the print queue
    move = [e for e in st.store.audit(rid) if e.to_state == "deleted"]
    assert len(move) == 1 and move[0].from_state == "approved" and move[0].reason == "central.deleted"
    assert station_permits.permits_for(st.store, rid)[0].status == "void"
    assert any(e.action == "permits_void" and e.params["permits"] == [permit.permit_id] for e in st.store.audit(rid))
    assert st.worker.cursor() == 10_000
    assert st.store.verify_audit() is None

    gate = PrintGate(st.store, central_key=central.registry.keys.signing_public, station_id="ST-A")
    with pytest.raises(KioskError) as refused:
        gate.print_record(rid, drv, actor="op")
    assert refused.value.code == "print.not_approved"
    # even when someone puts the row back to approved and the permit to received behind the
    # audit trail's back, the gate reads the trail and refuses
    st.store.conn.execute("UPDATE records SET state='approved' WHERE id=?", (rid,))
    st.store.conn.execute("UPDATE print_permits SET status='received' WHERE record_id=?", (rid,))
    with pytest.raises((KioskError, PermitError)) as again:
        gate.print_record(rid, drv, actor="op")
    assert again.value.code in ("print.permit_spent", "print.state_unaudited")
    assert mock.printed_cards() == []


def test_a_deleted_decision_applied_twice_changes_nothing_more(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(2))
    st.worker.run_once()
    decision = deleted_decision(central, st, rid)
    assert st.worker.apply_decision(decision) == "applied"
    entries = len(st.store.audit())
    assert st.worker.apply_decision(decision) == "stale"
    assert len(st.store.audit()) == entries and st.store.get(rid).state is S.DELETED


def test_a_deleted_decision_not_signed_by_the_central_moves_nothing(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(3))
    st.worker.run_once()
    forged = deleted_decision(central, st, rid, key=Ed25519PrivateKey.generate())
    assert st.worker.apply_decision(forged) == "quarantined"
    assert st.store.get(rid).state is S.APPROVED
    assert station_permits.permits_for(st.store, rid)[0].status == "received"
    assert st.store.conn.execute("SELECT code FROM sync_quarantine").fetchone()[0] == "answer.signature"


def test_a_deletion_during_a_print_waits_for_the_print_to_end(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(4))
    st.worker.run_once()
    [permit] = station_permits.permits_for(st.store, rid)
    st.store.transition(rid, S.PRINTING, actor="op", params={"permit_id": permit.permit_id})
    assert st.worker.apply_decision(deleted_decision(central, st, rid)) == "applied"
    assert st.store.get(rid).state is S.PRINTING  # the print under way is not cut short
    note = st.store.conn.execute("SELECT note FROM sync_decisions WHERE record_id=?", (rid,)).fetchone()[0]
    assert note == DEFERRED
    st.store.transition(rid, S.APPROVED, actor="op", params={"permit_id": permit.permit_id, "card_fed": False})
    st.worker.pull_decisions()  # the next pass applies what waited
    assert st.store.get(rid).state is S.DELETED
    assert st.store.conn.execute("SELECT note FROM sync_decisions WHERE record_id=?", (rid,)).fetchone()[0] is None


def test_a_deleted_record_s_biometrics_follow_the_retention_rules(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(5))
    st.worker.run_once()
    st.worker.apply_decision(deleted_decision(central, st, rid))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)
    assert [c.record_id for c in due_for_purge(st.store, 30, now=later)] == [rid]
    assert due_for_purge(st.store, 30) == []  # not before the retention period


def test_a_v2_database_migrates_and_its_approved_record_can_be_deleted(tmp_path: Path) -> None:
    from kiosk.config import PolicyConfig

    data = tmp_path / "st"
    data.mkdir()
    conn = connect(data / "station.db")
    migrate(conn, "records", RECORDS_MIGRATIONS, target=2)
    with pytest.raises(sqlite3.OperationalError):  # v2 has no local_matches
        conn.execute("SELECT * FROM local_matches")
    conn.close()
    store = RecordStore(data, policy=PolicyConfig(require_face=False, required_fingers=(), require_signature=False))
    assert current_version(store.conn, "records") == SCHEMA_VERSION >= 3
    assert store.conn.execute("SELECT COUNT(*) FROM local_matches").fetchone()[0] == 0
    rec = store.create_draft(resident(6), actor="op")
    for step in (S.CAPTURED, S.QUEUED, S.SUBMITTED, S.APPROVED, S.DELETED):
        store.transition(rec.id, step, actor="op")
    assert store.get(rec.id).state is S.DELETED


def test_audit_verify_finds_a_deletion_s_void_permit_consistent_but_a_forged_void_not(make_station, central) -> None:  # type: ignore[no-untyped-def]
    from kiosk.ops.audit import verify_audit_log

    st = make_station("ST-A")
    rid = enroll(st.store, resident(7))
    other = enroll(st.store, resident(8))
    for _ in range(20):
        st.worker.run_once()
        if st.store.get(rid).state is S.APPROVED and st.store.get(other).state is S.APPROVED:
            break
    assert st.store.get(rid).state is S.APPROVED and st.store.get(other).state is S.APPROVED
    st.worker.apply_decision(deleted_decision(central, st, rid))
    assert station_permits.permits_for(st.store, rid)[0].status == "void"
    assert verify_audit_log(st.store, st.keys.public).findings == ()  # the trail shows the deletion
    st.store.conn.execute("UPDATE print_permits SET status='void' WHERE record_id=?", (other,))
    [finding] = verify_audit_log(st.store, st.keys.public).findings  # a void the trail does not explain
    assert finding.reason == "ops.audit_permit_unaudited" and finding.params["record"] == other
