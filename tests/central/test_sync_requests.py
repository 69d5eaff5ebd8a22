"""Issue 13 §2/§3 parts owned by sync: request ids (a retry returns the first answer, never a
second permit), signed deletion answers, the audit checkpoint kept at the central, and the
central keeping the bytes of a cut chunk."""

from __future__ import annotations

import socket

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.central.answers import sign_answer
from kiosk.central.auth import chunk_digest, sign_headers
from kiosk.ops.audit import checkpoints, verify_audit_log
from kiosk.store import RecordState as S
from kiosk.sync.client import CentralUnavailable
from kiosk.sync.status import permits, quarantined
from kiosk.sync.worker import request_deletion
from tests.central.conftest import enroll
from tests.conftest import resident


def test_a_reprint_retried_after_lost_answers_mints_one_permit(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(21))
    st.worker.run_once()
    [first] = permits(st.store, rid)
    central.faults.set(rate=1.0, kinds=["lost_response"], seed=1)  # the central acts, the answer is lost
    for _ in range(3):
        try:
            st.worker.request_reprint(rid, "jam", first.permit_id, request_id=1)
        except CentralUnavailable:
            pass
    central.faults.set(rate=0.0)
    got = st.worker.request_reprint(rid, "jam", first.permit_id, request_id=1)
    minted = central.registry.conn.execute("SELECT permit_id FROM permits WHERE record_id=? AND reason LIKE"
                                           " 'reprint%'", (rid,)).fetchall()
    assert [r[0] for r in minted] == [got.permit_id]  # four requests, one permit
    # a different spoiled card (another request row) is a new request
    other = st.worker.request_reprint(rid, "jam", first.permit_id, request_id=2)
    assert other.permit_id != got.permit_id


def test_a_deletion_answer_not_signed_by_the_central_moves_nothing(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A"), make_station("ST-B", region="320102")
    enroll(a.store, resident(22))
    a.worker.run_once()
    second = enroll(b.store, resident(22))
    b.worker.run_once()
    assert b.store.get(second).state is S.DUPLICATE
    request_deletion(b.store, second, reason="resident moved", actor="op1")
    forged = sign_answer(Ed25519PrivateKey.generate(), "deletion", {
        "request_id": "00000000-0000-4000-8000-000000000000", "station_id": "ST-B", "record_id": second,
        "submission": 1, "status": "done"})
    b.worker.session.client.request_deletion = lambda *args, **kw: forged  # type: ignore[method-assign]
    b.worker.run_once()
    assert b.store.get(second).state is S.DUPLICATE
    assert [q["code"] for q in quarantined(b.store)] == ["answer.signature"]


def test_each_sync_exchange_leaves_the_newest_checkpoint_at_the_central(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    enroll(st.store, resident(23))
    st.worker.run_once()
    newest = checkpoints(st.store.conn)[-1]
    held = central.registry.newest_checkpoint("ST-01")
    assert held is not None and (held["seq"], held["hash"]) == (newest.seq, newest.hash)
    assert newest.seq == st.store.conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    enroll(st.store, resident(24))
    st.worker.run_once()
    assert central.registry.newest_checkpoint("ST-01")["seq"] > held["seq"]
    assert verify_audit_log(st.store, st.keys.public).ok


def _cut_patch(url: str, target: str, headers: dict[str, str], body: bytes, declared: int) -> None:
    """Send a PATCH announcing ``declared`` bytes, send only ``body``, then cut the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"PATCH {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {declared}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(100)


def test_the_central_keeps_the_bytes_of_a_cut_chunk(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(25))
    row = st.worker.ensure_packet(rid)
    blob = bytes(row.packet)
    up = st.client.create_upload(rid, 1, len(blob), row.sha256)
    target = f"/v1/uploads/{rid}/1"
    half = len(blob) // 2
    signed = sign_headers(st.keys.signing, "ST-01", "PATCH", target, b"", digest=chunk_digest(0, len(blob)))
    _cut_patch(central.url, target, {**signed, "Content-Type": "application/offset+octet-stream",
                                     "Upload-Offset": "0"}, blob[:half], len(blob))
    assert st.client.upload_offset(up.url).offset == half  # resumes from the byte where it was cut
    # bytes whose headers are not signed by the station are not kept
    forged = sign_headers(Ed25519PrivateKey.generate(), "ST-01", "PATCH", target, b"",
                          digest=chunk_digest(half, len(blob) - half))
    _cut_patch(central.url, target, {**forged, "Content-Type": "application/offset+octet-stream",
                                     "Upload-Offset": str(half)}, blob[half:half + 100], len(blob) - half)
    assert st.client.upload_offset(up.url).offset == half
    st.worker.run_once()  # the rest goes up; the whole packet verifies against the signed hash
    assert st.store.get(rid).state is S.APPROVED
