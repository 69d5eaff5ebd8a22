"""`kiosk audit verify` cross-checks records, permits and the trail (issue 13 §2): each kind of
tampering the chain alone cannot see gets its own exit code and message."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk import permits as station_permits
from kiosk.central.permit import PrintPermit
from kiosk.i18n import translate
from kiosk.ops.audit import EXIT_CODES
from kiosk.store import RecordState, RecordStore
from tests.conftest import run_kiosk
from tests.ops.conftest import advance, queue_record
from tests.ops.test_audit_verify import raw, verify_cli


def first(report: dict) -> dict:  # type: ignore[type-arg]
    return report["findings"][0]  # type: ignore[no-any-return]


def test_state_changed_without_an_audit_row_exits_7(history: RecordStore, station: Path, config_file: Path) -> None:
    rid = history.list(RecordState.QUEUED)[0].id
    raw(station).execute("UPDATE records SET state = 'approved' WHERE id = ?", (rid,))
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["unaudited"] == 7
    assert first(report)["reason"] == "ops.audit_state_unaudited"
    assert first(report)["params"] == {"record": rid, "state": "approved", "audited": "queued"}


def test_deleted_record_exits_8(history: RecordStore, station: Path, config_file: Path) -> None:
    rid = history.list(RecordState.QUEUED)[2].id
    raw(station).execute("DELETE FROM records WHERE id = ?", (rid,))
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["deleted"] == 8
    assert first(report)["reason"] == "ops.audit_record_deleted" and first(report)["params"]["record"] == rid


def test_emptied_trail_exits_9_even_with_its_checkpoints_gone(history: RecordStore, station: Path,
                                                              config_file: Path) -> None:
    conn = raw(station)
    conn.execute("DELETE FROM audit")
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["emptied"] == 9 and first(report)["reason"] == "ops.audit_emptied"
    conn.execute("DELETE FROM audit_checkpoints")  # the forger is thorough: the records still tell
    code, report = verify_cli(config_file)
    assert code == 9 and first(report)["params"]["records"] == 5
    text = run_kiosk("--config", str(config_file), "--lang", "en", "audit", "verify")
    assert text.returncode == 9 and "5 records" in text.stdout


def _permit(record_id: str) -> PrintPermit:
    now = dt.datetime.now(dt.timezone.utc)
    return PrintPermit.issue(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), permit_id=str(uuid.uuid4()),
                             record_id=record_id, station_id="ST-01", card_hash="a" * 64, now=now)


def test_two_prints_under_one_permit_exit_10(station_store: RecordStore, station: Path, config_file: Path) -> None:
    rid = queue_record(station_store, 1)
    advance(station_store, rid, RecordState.SUBMITTED, RecordState.APPROVED)
    permit = _permit(rid)
    station_permits.store_permit(station_store, rid, permit)
    with station_store.transaction() as conn:
        conn.execute("UPDATE print_permits SET status = 'spent' WHERE permit_id = ?", (permit.permit_id,))
    for state in (RecordState.PRINTING, RecordState.PRINTED):  # what the gate writes for one card
        station_store.transition(rid, state, actor="op", params={"permit_id": permit.permit_id})
    assert verify_cli(config_file)[0] == 0
    raw(station).execute("UPDATE records SET state = 'approved' WHERE id = ?", (rid,))  # the reset
    for state in (RecordState.PRINTING, RecordState.PRINTED):  # and a second card, audited as the first
        station_store.transition(rid, state, actor="op", params={"permit_id": permit.permit_id})
    code, report = verify_cli(config_file)
    assert code == EXIT_CODES["reused"] == 10
    assert first(report)["reason"] == "ops.audit_permit_reused"
    assert first(report)["params"]["permit"] == permit.permit_id


def test_permit_status_reset_without_an_audit_row_exits_7(station_store: RecordStore, station: Path,
                                                          config_file: Path) -> None:
    rid = queue_record(station_store, 1)
    advance(station_store, rid, RecordState.SUBMITTED, RecordState.APPROVED)
    permit = _permit(rid)
    station_permits.store_permit(station_store, rid, permit)
    assert verify_cli(config_file)[0] == 0
    raw(station).execute("UPDATE print_permits SET status = 'spent' WHERE permit_id = ?", (permit.permit_id,))
    code, report = verify_cli(config_file)
    assert code == 7 and first(report)["reason"] == "ops.audit_permit_unaudited"


def test_every_finding_kind_has_words_in_both_languages() -> None:
    for kind in EXIT_CODES:
        for lang in ("id", "en"):
            assert translate("ops.finding." + kind, lang) != "ops.finding." + kind
