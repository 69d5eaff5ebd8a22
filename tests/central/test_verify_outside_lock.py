"""The central verifies and opens a completed packet (signature, AEAD, sample hashes) without
holding its registry lock, so concurrent uploads verify side by side and other requests are
answered meanwhile; the completion then re-checks that the upload did not change."""

from __future__ import annotations

import hashlib
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

import kiosk.central.uploads as uploads_module
from kiosk.central.registry import CentralError, UploadState
from tests.central.upload_rig import small_packet, upload_world


def _created(reg: Any, blob: bytes, record_id: str) -> None:
    reg.create_upload("ST-01", record_id, 1, len(blob), hashlib.sha256(blob).hexdigest())


def test_two_uploads_verify_their_packets_at_the_same_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each verification waits until the other has started: with the lock held while verifying,
    the second could not start and the barrier would break."""
    reg, keys = upload_world(tmp_path)
    both_verifying = threading.Barrier(2, timeout=30)
    real_open = uploads_module.open_packet

    def open_when_both_verify(blob: bytes, **kw: Any) -> Any:
        both_verifying.wait()
        return real_open(blob, **kw)

    monkeypatch.setattr(uploads_module, "open_packet", open_when_both_verify)
    records = [str(uuid.UUID(int=i + 1)) for i in range(2)]
    blobs = [small_packet(reg, keys, r) for r in records]
    for r, b in zip(records, blobs):
        _created(reg, b, r)
    results: dict[str, UploadState | BaseException] = {}

    def upload(record_id: str, blob: bytes) -> None:
        try:
            results[record_id] = reg.append_chunk("ST-01", record_id, 1, 0, blob)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            results[record_id] = exc

    threads = [threading.Thread(target=upload, args=(r, b)) for r, b in zip(records, blobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(isinstance(results.get(r), UploadState) and results[r].complete for r in records), results  # type: ignore[union-attr]
    assert reg.counts()["records"] == 2
    reg.close()


def test_the_registry_answers_while_a_packet_is_being_verified(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    reg, keys = upload_world(tmp_path)
    verifying, release = threading.Event(), threading.Event()
    real_open = uploads_module.open_packet

    def slow_open(blob: bytes, **kw: Any) -> Any:
        verifying.set()
        assert release.wait(30)
        return real_open(blob, **kw)

    monkeypatch.setattr(uploads_module, "open_packet", slow_open)
    rid = str(uuid.UUID(int=7))
    blob = small_packet(reg, keys, rid)
    _created(reg, blob, rid)
    worker = threading.Thread(target=reg.append_chunk, args=("ST-01", rid, 1, 0, blob))
    worker.start()
    assert verifying.wait(30)
    answered: list[Any] = []
    asker = threading.Thread(target=lambda: answered.append(reg.upload_state("ST-01", rid, 1)))
    asker.start()
    asker.join(timeout=30)
    release.set()
    worker.join(timeout=30)
    assert answered and answered[0].complete is False  # answered during the verification, not after it
    assert reg.upload_state("ST-01", rid, 1).complete
    reg.close()


def test_an_upload_re_created_during_verification_is_not_completed_by_the_stale_packet(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The station re-sealed (other bytes, same submission) while the old packet was verified:
    the old one is not stored, the new upload starts from zero and completes with its own bytes."""
    reg, keys = upload_world(tmp_path)
    rid = str(uuid.UUID(int=9))
    old, new = small_packet(reg, keys, rid), small_packet(reg, keys, rid)
    assert old != new  # a fresh ephemeral key and nonce each time
    real_open = uploads_module.open_packet
    calls = []

    def open_while_resealed(blob: bytes, **kw: Any) -> Any:
        if not calls:
            _created(reg, new, rid)  # another request, between the two steps
        calls.append(blob)
        return real_open(blob, **kw)

    monkeypatch.setattr(uploads_module, "open_packet", open_while_resealed)
    _created(reg, old, rid)
    with pytest.raises(CentralError) as err:
        reg.append_chunk("ST-01", rid, 1, 0, old)
    assert err.value.code == "upload.offset_mismatch"
    assert reg.counts()["records"] == 0
    assert reg.upload_state("ST-01", rid, 1).offset == 0
    assert reg.append_chunk("ST-01", rid, 1, 0, new).complete
    with reg.lock:
        stored = reg.conn.execute("SELECT packet FROM records WHERE record_id=?", (rid,)).fetchone()[0]
    assert bytes(stored) == new
    reg.close()


def test_a_completion_raced_by_its_own_retry_answers_complete_once(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer to the completing chunk was lost and the station sent it again while the first
    was still being verified: both are answered complete, the packet is stored once."""
    reg, keys = upload_world(tmp_path)
    rid = str(uuid.UUID(int=11))
    blob = small_packet(reg, keys, rid)
    _created(reg, blob, rid)
    both_verifying = threading.Barrier(2, timeout=30)
    real_open = uploads_module.open_packet

    def open_when_both_verify(b: bytes, **kw: Any) -> Any:
        both_verifying.wait()
        return real_open(b, **kw)

    monkeypatch.setattr(uploads_module, "open_packet", open_when_both_verify)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(reg.append_chunk("ST-01", rid, 1, 0, blob)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 2 and all(a.complete for a in answers)
    assert reg.counts() == {"records": 1, "uploads_complete": 1, "decisions": {}, "refusals": 0}
    reg.close()
