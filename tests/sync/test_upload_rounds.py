"""Fewer round trips per record (issue 13 §3): the upload's creation carries its first bytes
(tus 1.0.0 "Creation With Upload", https://tus.io/protocols/resumable-upload), idempotently;
a cut creation is kept and resumed from the byte the central confirms; no HEAD for an upload
the station has just created."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.central.auth import sign_headers
from kiosk.central.tus import Creation, creation_digest, creation_headers, parse_creation
from kiosk.store import RecordState
from kiosk.sync.session import SyncSettings
from tests.central.conftest import enroll
from tests.conftest import resident

S = RecordState
CHUNK_TYPE = "application/offset+octet-stream"
#: chunks big enough that a small test record goes up whole in its creation
ONE_CHUNK = SyncSettings(timeout_s=5.0, poll_interval_s=0.05, chunk_size=1 << 20, backoff_base_s=0.01,
                         backoff_cap_s=0.05, parallel=1, attempts_per_pass=50, chunk_target_s=0)


class Exchanges:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def __call__(self, request: httpx.Request, response: httpx.Response) -> None:
        self.seen.append((request.method, request.url.path, response.status_code))

    def uploads(self) -> list[tuple[str, str, int]]:
        return [e for e in self.seen if e[1].startswith("/v1/uploads")]


def test_a_record_that_fits_one_chunk_goes_up_in_one_request(make_station, central) -> None:  # type: ignore[no-untyped-def]
    log = Exchanges()
    st = make_station(settings=ONE_CHUNK, on_exchange=log)
    ids = [enroll(st.store, resident(40 + i)) for i in range(3)]
    assert st.worker.run_once()["confirmed"] == 3
    assert log.uploads() == [("POST", "/v1/uploads", 201)] * 3  # no HEAD, no PATCH
    assert all(st.store.get(r).state in (S.SUBMITTED, S.APPROVED, S.REJECTED, S.DUPLICATE) for r in ids)
    assert central.registry.counts()["uploads_complete"] == 3


def test_a_fresh_upload_asks_no_head_and_a_chunked_one_patches_from_the_creation_offset(make_station) -> None:  # type: ignore[no-untyped-def]
    log = Exchanges()
    small = SyncSettings(**{**ONE_CHUNK.__dict__, "chunk_size": 4096})
    st = make_station(settings=small, on_exchange=log)
    rid = enroll(st.store, resident(44))
    assert st.worker.run_once()["confirmed"] == 1
    methods = [m for m, _, _ in log.uploads()]
    assert methods[0] == "POST" and "HEAD" not in methods and set(methods[1:]) == {"PATCH"}
    length = st.store.conn.execute("SELECT length FROM sync_packets WHERE record_id=?", (rid,)).fetchone()[0]
    assert len(methods) == -(-length // 4096)  # one request per 4 KB chunk, the first one the creation


def test_creation_with_upload_retried_with_its_id_stores_the_bytes_once(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(45))
    row = st.worker.ensure_packet(rid)
    blob, sha = bytes(row.packet), row.sha256
    first = st.client.create_upload(rid, 1, len(blob), sha, blob[:1000])
    assert (first.offset, first.complete) == (1000, False)
    again = st.client.create_upload(rid, 1, len(blob), sha, blob[:1000])  # the first answer was "lost"
    assert (again.url, again.offset, again.complete) == (first.url, 1000, False)  # kept once, not appended
    done = st.client.send_chunk(first.url, 1000, blob[1000:])
    assert done.complete
    replay = st.client.create_upload(rid, 1, len(blob), sha, blob[:1000])
    assert replay.complete  # after completion a retry is "already complete", never a second record
    assert central.registry.counts()["records"] == 1
    st.worker.run_once()
    assert st.store.get(rid).state is not S.QUEUED


def test_creation_headers_round_trip() -> None:
    c = Creation("0f8fad5b-d9cb-469f-a165-70867728950e", 2, 123456, "ab" * 32)
    assert parse_creation(creation_headers(c)) == c


def _cut_post(url: str, headers: dict[str, str], body: bytes, declared: int) -> None:
    """Send a creation announcing ``declared`` bytes, send only ``body``, then cut."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST /v1/uploads HTTP/1.1\r\nHost: {host}\r\nContent-Length: {declared}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        sock.recv(100)


def _signed_creation(key: Ed25519PrivateKey, c: Creation, declared: int) -> dict[str, Any]:
    return {**sign_headers(key, "ST-01", "POST", "/v1/uploads", b"", digest=creation_digest(c, declared)),
            **creation_headers(c), "Content-Type": CHUNK_TYPE}


def test_a_cut_creation_is_kept_and_the_upload_resumes_from_the_confirmed_byte(make_station, central) -> None:  # type: ignore[no-untyped-def]
    log = Exchanges()
    st = make_station(settings=ONE_CHUNK, on_exchange=log)
    rid = enroll(st.store, resident(46))
    row = st.worker.ensure_packet(rid)
    blob = bytes(row.packet)
    c = Creation(rid, 1, len(blob), row.sha256)
    half = len(blob) // 2
    # a creation whose signature is not the station's keeps nothing
    _cut_post(central.url, _signed_creation(Ed25519PrivateKey.generate(), c, len(blob)), blob[:half], len(blob))
    with pytest.raises(Exception):
        central.registry.upload_state("ST-01", rid, 1)
    _cut_post(central.url, _signed_creation(st.keys.signing, c, len(blob)), blob[:half], len(blob))
    assert central.registry.upload_state("ST-01", rid, 1).offset == half  # the cut creation's bytes are kept
    assert st.worker.run_once()["confirmed"] == 1
    # the station asked where the upload stands (it built the packet earlier) and sent only the rest
    assert log.uploads()[:2] == [("HEAD", f"/v1/uploads/{rid}/1", 200), ("PATCH", f"/v1/uploads/{rid}/1", 200)]
    assert len(log.uploads()) == 2


def test_a_creation_reset_mid_body_resumes_without_resending_what_arrived(make_station, central) -> None:  # type: ignore[no-untyped-def]
    sent: list[tuple[str, int, int]] = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.read()
            sent.append((request.method, int(request.headers.get("Upload-Offset", 0)), len(request.content)))
            return super().handle_request(request)

    st = make_station(settings=ONE_CHUNK)
    st.client.http._transport = Counting()
    rid = enroll(st.store, resident(47))
    central.faults.set(rate=1.0, kinds=["reset"], seed=1)  # the central reads half the body, then resets
    assert st.worker.upload_record(rid, max_attempts=1) == "deferred"
    central.faults.set(rate=0.0)
    length = st.store.conn.execute("SELECT length FROM sync_packets WHERE record_id=?", (rid,)).fetchone()[0]
    kept = central.registry.upload_state("ST-01", rid, 1).offset
    assert 0 < kept < length
    sent.clear()
    assert st.worker.upload_record(rid) == "confirmed"
    assert [m for m, _, _ in sent] == ["HEAD", "PATCH"]
    assert sent[1][1:] == (kept, length - kept)  # from the confirmed byte, only the rest
