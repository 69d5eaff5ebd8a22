"""Station <-> central end to end: approvals with permits, rejections, duplicates and deletion
requests, resumable uploads, offline behaviour, refusals with clear codes."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.central.answers import sign_answer
from kiosk.central.auth import chunk_digest
from kiosk.central.carddata import card_data_from_store
from kiosk.central.permit import PermitError, PrintPermit, card_data_hash
from kiosk.store import RecordState
from kiosk.sync.client import CentralRefused
from kiosk.sync.worker import permits, queue_status, request_deletion, retry_refused
from kiosk.sync.synthetic import enroll_synthetic
from tests.central.conftest import enroll
from tests.conftest import resident

S = RecordState


def test_queued_records_end_approved_with_a_verified_permit(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = enroll_synthetic(st.store, 3, district="320101", seed=3)
    report = st.worker.run_once()
    assert report["confirmed"] == 3
    assert [st.store.get(i).state for i in ids] == [S.APPROVED] * 3
    for rid in ids:
        [permit] = permits(st.store, rid)
        card = card_data_from_store(st.store, rid, issued_at=permit.issued_at)
        permit.verify(st.worker.permit_key, station_id="ST-01", record_id=rid, card_hash=card_data_hash(card))
    assert queue_status(st.store)["network"]["state"] == "online"


def test_invalid_identity_is_rejected_with_reason(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(5, occupation=""))
    st.worker.run_once()
    assert st.store.get(rid).state is S.REJECTED
    move = [a for a in st.store.audit(rid) if a.to_state == "rejected"][0]
    assert move.reason == "central.reject.identity"
    assert move.params["reason"]["params"]["field"] == "occupation"


def test_duplicate_nik_names_where_then_deletion_request_lets_it_through(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320102")
    first = enroll(a.store, resident(7))
    a.worker.run_once()
    assert a.store.get(first).state is S.APPROVED
    second = enroll(b.store, resident(7))
    b.worker.run_once()
    assert b.store.get(second).state is S.DUPLICATE
    move = [e for e in b.store.audit(second) if e.to_state == "duplicate"][0]
    assert move.params["duplicate_of"] == {"station_id": "ST-A", "region": "320101", "record_id": first}

    request_deletion(b.store, second, reason="resident moved", actor="op1")
    b.worker.run_once()  # sends the request (answered after the delay)
    b.worker.run_once()  # sees it done: duplicate -> queued, resubmitted, decided
    assert b.store.get(second).state is S.APPROVED
    states = [e.to_state for e in b.store.audit(second) if e.action == "transition"]
    assert states[-4:] == ["duplicate", "queued", "submitted", "approved"]
    assert any(e.action == "deletion_request" for e in b.store.audit(second))
    row = central.registry.conn.execute("SELECT record_id FROM persons").fetchall()
    assert [r[0] for r in row] == [second]


def test_deletion_request_only_for_duplicates(make_station) -> None:  # type: ignore[no-untyped-def]
    # (a record not yet decided may carry a waiting request: tests/dedup/test_deletion_waiting.py)
    st = make_station()
    rid = enroll(st.store, resident(8))
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    with pytest.raises(Exception) as err:
        request_deletion(st.store, rid, reason="x", actor="op")
    assert getattr(err.value, "code", "") == "sync.not_duplicate"


def test_interrupted_upload_resumes_at_the_central_offset(make_station) -> None:  # type: ignore[no-untyped-def]
    sent: list[tuple[str, str | None]] = []
    st = make_station(on_exchange=lambda req, resp: sent.append((req.method, req.headers.get("Upload-Offset"))))
    rid = enroll(st.store, resident(9))
    row = st.worker.ensure_packet(rid)
    assert row.length > 3 * 4096
    answer = st.client.create_upload(rid, 1, row.length, row.sha256)
    st.client.send_chunk(answer.url, 0, row.packet[:4096])  # then the link "dropped"
    sent.clear()
    assert st.worker.upload_record(rid) == "confirmed"
    assert sent[0] == ("HEAD", None)
    assert sent[1] == ("PATCH", "4096")  # not from zero
    assert st.store.get(rid).state is S.SUBMITTED


def test_offline_keeps_records_queued_and_reports_offline(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    ids = enroll_synthetic(st.store, 2, district="320101", seed=4)
    central.faults.set(outage_s=60)
    report = st.worker.run_once()
    assert report["confirmed"] == 0
    assert all(st.store.get(i).state is S.QUEUED for i in ids)
    status = queue_status(st.store)
    assert status["network"]["state"] == "offline"
    assert status["pending_bytes"] > 0 and status["counts"]["queued"] == 2
    central.faults.set(outage_until=0.0)
    st.worker.run_once()
    assert all(st.store.get(i).state is S.APPROVED for i in ids)


def test_replayed_upload_is_refused_as_already_complete_and_stored_once(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(10))
    row = st.worker.ensure_packet(rid)
    blob, sha, length = row.packet, row.sha256, row.length
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    body = {"record_id": rid, "submission": 1, "station_id": "ST-01", "length": length, "sha256": sha}
    r = st.client.request("POST", "/v1/uploads", json_body=body)
    assert r.status_code == 409 and r.json()["code"] == "upload.already_complete"
    r = st.client.request("PATCH", f"/v1/uploads/{rid}/1", body=blob, digest=chunk_digest(0, len(blob)),
                          headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert r.status_code == 409 and r.json()["code"] == "upload.already_complete"
    # a whole-packet replay through offline import changes nothing either
    assert central.registry.ingest_packet(blob) == rid
    assert central.registry.counts()["records"] == 1
    assert central.registry.counts()["decisions"] == {"approved": 1}


def test_unknown_station_is_refused_and_keeps_its_records(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-X", register=False)
    rid = enroll(st.store, resident(11))
    with pytest.raises(CentralRefused) as err:
        st.client.create_upload(rid, 1, 100, "0" * 64)
    assert (err.value.code, err.value.status) == ("auth.unknown_station", 401)
    st.worker.run_once()
    assert st.store.get(rid).state is S.QUEUED


def test_tampered_stored_packet_is_refused_with_its_code(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(12))
    row = st.worker.ensure_packet(rid)
    bad = bytearray(row.packet)
    bad[-100] ^= 0xFF  # inside the ciphertext
    import hashlib

    st.store.conn.execute("UPDATE sync_packets SET packet=?, sha256=? WHERE record_id=?",
                          (bytes(bad), hashlib.sha256(bad).hexdigest(), rid))
    report = st.worker.run_once()
    assert report["refused"] == 1
    assert st.store.get(rid).state is S.QUEUED  # never submitted
    err = json.loads(st.store.conn.execute("SELECT error FROM sync_packets WHERE record_id=?", (rid,)).fetchone()[0])
    assert err["code"] == "packet.signature"
    assert queue_status(st.store)["refused"] == 1
    assert central.registry.counts()["records"] == 0 and central.registry.counts()["refusals"] == 1
    retry_refused(st.store, rid, actor="tech")  # sealed anew from the store: now it goes through
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED


def _approved_decision(st, rid: str, key: Ed25519PrivateKey, central_key: Ed25519PrivateKey | None = None,  # type: ignore[no-untyped-def]
                       **override: str) -> dict:  # type: ignore[type-arg]
    """An approval carrying a permit signed with ``key``, the decision itself signed by the
    central (``central_key``, default: the permit key): only the permit is at fault."""
    now = dt.datetime.now(dt.timezone.utc)
    permit = PrintPermit.issue(key, permit_id=str(uuid.uuid4()), record_id=rid, station_id="ST-01", now=now,
                               card_hash=card_data_hash(card_data_from_store(st.store, rid, issued_at=now.isoformat())))
    d = permit.to_dict()
    d.update(override)
    return sign_answer(central_key or key, "decision",
                       {"seq": 999, "station_id": "ST-01", "record_id": rid, "submission": 1, "decision": "approved",
                        "decided_at": permit.issued_at, "permit": d, "reason": None, "duplicate_of": None})


def test_forged_permit_is_refused_and_record_stays_submitted(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(13))
    central.registry.decision_delay_s = 3600  # the real decision will not come during this test
    st.worker.run_once()
    assert st.store.get(rid).state is S.SUBMITTED
    forged = _approved_decision(st, rid, Ed25519PrivateKey.generate(), central.registry.keys.signing)
    assert st.worker.apply_decision(forged) == "refused_permit"
    assert st.store.get(rid).state is S.SUBMITTED
    assert permits(st.store, rid) == []
    [entry] = [e for e in st.store.audit(rid) if e.action == "permit_refused"]
    assert entry.reason == "permit.signature"


def test_altered_permit_is_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(14))
    central.registry.decision_delay_s = 3600
    st.worker.run_once()
    d = _approved_decision(st, rid, central.registry.keys.signing, expires_at="2099-01-01T00:00:00+00:00")
    assert st.worker.apply_decision(d) == "refused_permit"
    assert st.store.get(rid).state is S.SUBMITTED


def test_permit_for_other_card_data_is_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(15))
    st.worker.run_once()
    [permit] = permits(st.store, rid)
    card = card_data_from_store(st.store, rid, issued_at=permit.issued_at)
    card["nama"] = "SOMEONE ELSE"
    with pytest.raises(PermitError) as err:
        permit.verify(st.worker.permit_key, station_id="ST-01", record_id=rid, card_hash=card_data_hash(card))
    assert err.value.code == "permit.card_data"


def test_reprint_request_returns_a_new_valid_permit(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(16))
    st.worker.run_once()
    [old] = permits(st.store, rid)
    new = st.worker.request_reprint(rid, "card jammed in printer", old.permit_id)
    assert new.permit_id != old.permit_id
    card = card_data_from_store(st.store, rid, issued_at=new.issued_at)
    new.verify(st.worker.permit_key, station_id="ST-01", record_id=rid, card_hash=card_data_hash(card))
    assert [p.permit_id for p in permits(st.store, rid)] == [old.permit_id, new.permit_id]
    assert any(e.action == "reprint_permit" for e in st.store.audit(rid))
    with pytest.raises(CentralRefused) as err:
        st.client.request_reprint(rid, " ")
    assert err.value.code == "reprint.reason_required"


def test_request_with_bad_signature_is_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    make_station()
    r = httpx.get(f"{central.url}/v1/decisions?station=ST-01&cursor=0",
                  headers={"X-Kiosk-Station": "ST-01", "X-Kiosk-Time": "1", "X-Kiosk-Signature": "AAAA"})
    assert r.status_code == 401 and r.json()["code"] == "auth.signature"


def test_packet_resealed_after_partial_upload_replaces_the_partial_one(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(17))
    row = st.worker.ensure_packet(rid)
    up = st.client.create_upload(rid, 1, row.length, row.sha256)
    st.client.send_chunk(up.url, 0, row.packet[:4096])
    # the station lost its stored packet (say, restored from an older backup): it seals again
    st.store.conn.execute("DELETE FROM sync_packets WHERE record_id=?", (rid,))
    assert st.worker.upload_record(rid) == "confirmed"
    assert central.registry.counts()["records"] == 1
    assert st.worker.outbox.packet_row(rid)["sha256"] != row.sha256  # confirmed: its row names the new packet


def test_signed_request_with_lowercased_header_names_is_accepted(make_station, central) -> None:  # type: ignore[no-untyped-def]
    from kiosk.central.auth import sign_headers

    st = make_station()
    target = "/v1/decisions?station=ST-01&cursor=0"
    headers = {k.lower(): v for k, v in sign_headers(st.keys.signing, "ST-01", "GET", target, b"").items()}
    r = httpx.get(central.url + target, headers=headers)
    assert r.status_code == 200 and r.json()["decisions"] == []


def test_a_decision_delivered_twice_is_applied_once(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(18))
    central.registry.decision_delay_s = 3600
    st.worker.run_once()
    central.registry.decide_due(now=float("inf"))
    [decision], _, _ = st.client.decisions(0)
    assert st.worker.apply_decision(decision) == "applied"
    assert st.worker.apply_decision(decision) == "stale"  # e.g. the cursor write was lost
    moves = [e.to_state for e in st.store.audit(rid) if e.action == "transition"]
    assert moves.count("approved") == 1 and len(permits(st.store, rid)) == 1
    assert st.worker.cursor() == decision["seq"]
