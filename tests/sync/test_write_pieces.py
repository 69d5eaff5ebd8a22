"""Upload bytes are written in pieces sized from the measured throughput: small (one short TLS
record each, so a cut loses little) on a slow or unmeasured link, the whole body at once on a
fast one (each write costs a system call; ~60 writes per packet at 4 KB); and a body written
whole still resumes from the byte where a cut left it."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from kiosk.sync.client import PIECE
from kiosk.sync.link import ChunkSizer
from kiosk.sync.session import SyncSettings
from tests.central.conftest import enroll
from tests.conftest import resident

#: the whole small test packet in its creation
ONE_CHUNK = SyncSettings(timeout_s=5.0, poll_interval_s=0.05, chunk_size=1 << 20, backoff_base_s=0.01,
                         backoff_cap_s=0.05, parallel=1, attempts_per_pass=50, chunk_target_s=0)


class Writes(httpx.HTTPTransport):
    """Records the pieces each upload body is handed to the connection in."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[list[int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Content-Type") == "application/offset+octet-stream":
            parts = list(request.stream)  # type: ignore[arg-type]
            self.pieces.append([len(p) for p in parts])
            request = httpx.Request(request.method, request.url, headers=request.headers, content=b"".join(parts))
        return super().handle_request(request)


def test_an_unmeasured_link_gets_small_writes_a_fast_one_the_whole_body() -> None:
    sizer = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    assert sizer.piece(200_000) == PIECE  # nothing measured yet: a cut may come at any byte
    sizer.observe(32768, 4.0)  # 64 kbit/s
    assert sizer.piece(200_000) == PIECE
    fast = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    fast.observe(200_000, 0.004)  # loopback: 50 MB/s
    assert fast.piece(200_000) == 200_000
    assert fast.piece(1000) == 1000
    mid = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    mid.observe(1_000_000, 1.0)  # 1 MB/s: 10 ms of link per write
    assert mid.piece(200_000) == 10_000


@given(st.lists(st.tuples(st.integers(1, 1 << 24), st.floats(1e-4, 100.0)), max_size=10), st.integers(1, 1 << 22))
def test_pieces_stay_between_the_small_write_and_the_body(events: list[tuple[int, float]], length: int) -> None:
    sizer = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    for nbytes, seconds in events:
        sizer.observe(nbytes, seconds)
    assert min(PIECE, length) <= sizer.piece(length) <= length


def test_the_body_goes_in_small_writes_until_the_link_is_measured_then_whole(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station(settings=ONE_CHUNK)
    writes = Writes()
    st.client.http._transport = writes
    first, second = enroll(st.store, resident(61)), enroll(st.store, resident(62))
    assert st.worker.outbox.sizer.rate is None
    assert st.worker.upload_record(first) == "confirmed"
    # whatever this loaded machine measured for the first upload, the link is now known fast
    for _ in range(3):
        st.worker.outbox.sizer.observe(1 << 30, 0.01)
    assert st.worker.upload_record(second) == "confirmed"
    one, two = writes.pieces
    assert len(one) > 1 and max(one) == PIECE  # unmeasured: small writes
    assert len(two) == 1  # measured fast: one write


def test_a_body_written_whole_resumes_from_the_byte_the_cut_left(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station(settings=ONE_CHUNK)
    writes = Writes()
    st.client.http._transport = writes
    st.worker.outbox.sizer.observe(1 << 30, 0.01)  # a fast link: whole-body writes
    rid = enroll(st.store, resident(63))
    central.faults.set(rate=1.0, kinds=["reset"], seed=1)  # the central reads half the body, then resets
    assert st.worker.upload_record(rid, max_attempts=1) == "deferred"
    central.faults.set(rate=0.0)
    assert writes.pieces[0] == [sum(writes.pieces[0])]  # it was written whole
    length = st.store.conn.execute("SELECT length FROM sync_packets WHERE record_id=?", (rid,)).fetchone()[0]
    kept = central.registry.upload_state("ST-01", rid, 1).offset
    assert 0 < kept < length
    writes.pieces.clear()
    assert st.worker.upload_record(rid) == "confirmed"
    assert [sum(p) for p in writes.pieces] == [length - kept]  # only the rest went again
