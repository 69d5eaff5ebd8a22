"""Holes instead of round trips (issue 13 §3): after a cut the station goes on with the next
chunk at once; the central keeps chunks after a hole as ranges (kiosk.central.upload_ranges)
and says which it holds; a later sweep fills the holes. The packet is still stored once and
byte-identical, whatever order and cuts the chunks come in."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralError, CentralRegistry
from kiosk.central.upload_ranges import format_ranges, parse_ranges
from kiosk.sync.client import UploadAnswer
from kiosk.sync.link import next_gap
from kiosk.sync.session import SyncSettings
from tests.central.conftest import enroll
from tests.central.upload_rig import small_packet, upload_world
from tests.conftest import resident


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[CentralRegistry, StationKeys]:
    return upload_world(tmp_path_factory.mktemp("ranges"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sends=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 2000), st.floats(0, 1)), max_size=20),
       chunk=st.integers(200, 1500))
def test_chunks_in_any_order_with_cuts_then_sweeps_store_the_packet_once(world, sends, chunk) -> None:  # type: ignore[no-untyped-def]
    reg, keys = world
    rid = str(uuid.uuid4())
    blob = small_packet(reg, keys, rid)
    reg.create_upload("ST-01", rid, 1, len(blob), hashlib.sha256(blob).hexdigest())
    complete = False
    for where, size, kept in sends:  # anywhere, any size, cut after any share of its bytes
        start = int(where * (len(blob) - 1))
        data = blob[start:start + size][:max(1, int(size * kept))]
        try:
            complete = reg.append_chunk("ST-01", rid, 1, start, data).complete or complete
        except CentralError as exc:
            assert exc.code in ("upload.offset_mismatch", "upload.already_complete"), exc
            complete = complete or exc.code == "upload.already_complete"
    sweeps = 0
    while not complete:  # what the station does: ask, then send every hole
        head = reg.upload_state("ST-01", rid, 1)
        answer = UploadAnswer(head.url, head.offset, head.complete, head.ranges)
        cursor = 0
        while (gap := next_gap(answer, cursor, len(blob))) is not None:
            end = min(gap[1], gap[0] + chunk)
            state = reg.append_chunk("ST-01", rid, 1, gap[0], blob[gap[0]:end])
            answer, cursor = UploadAnswer(state.url, state.offset, state.complete, state.ranges), end
            if state.complete:
                complete = True
                break
        sweeps += 1
        assert sweeps <= 2  # without cuts one sweep fills every hole
    with reg.lock:
        rows = reg.conn.execute("SELECT packet FROM records WHERE record_id=?", (rid,)).fetchall()
        left = reg.conn.execute("SELECT COUNT(*) FROM upload_chunks WHERE record_id=?", (rid,)).fetchone()[0]
    assert len(rows) == 1 and rows[0][0] == blob and left == 0


@given(st.text(max_size=80), st.integers(0, 10_000))
def test_the_ranges_header_parser_never_fails_and_keeps_only_ranges_inside_the_upload(text, length) -> None:  # type: ignore[no-untyped-def]
    for a, b in parse_ranges(text, length):
        assert 0 <= a < b <= length


@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 500)), max_size=8))
def test_ranges_header_round_trips(pairs) -> None:  # type: ignore[no-untyped-def]
    ranges = sorted((a, a + n) for a, n in pairs)
    assert parse_ranges(format_ranges(ranges), 6000) == ranges


def test_next_gap_skips_what_the_central_holds() -> None:
    a = UploadAnswer("/u", 100, False, ((200, 300), (300, 350), (500, 600)))
    assert next_gap(a, 0, 1000) == (100, 200)
    assert next_gap(a, 150, 1000) == (150, 200)
    assert next_gap(a, 200, 1000) == (350, 500)
    assert next_gap(a, 600, 1000) == (600, 1000)
    assert next_gap(a, 1000, 1000) is None


def test_after_a_cut_the_station_sends_the_next_chunk_without_asking_and_fills_the_hole_later(make_station, central) -> None:  # type: ignore[no-untyped-def]
    central.registry.decision_delay_s = 3600
    sent: list[tuple[str, int, int]] = []
    patches = [0]

    class CutTheSecondPatch(httpx.HTTPTransport):
        """The central reads half of the second PATCH's body and resets the connection."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.read()
            if request.method == "PATCH":
                patches[0] += 1
            central.faults.set(rate=1.0 if patches[0] == 2 and request.method == "PATCH" else 0.0, kinds=["reset"])
            sent.append((request.method, int(request.headers.get("Upload-Offset", 0)), len(request.content)))
            return super().handle_request(request)

    settings_ = SyncSettings(timeout_s=5.0, poll_interval_s=0.05, chunk_size=2048, backoff_base_s=0.01,
                             backoff_cap_s=0.05, parallel=1, attempts_per_pass=50, chunk_target_s=0)
    st_ = make_station(settings=settings_)
    st_.client.http._transport = CutTheSecondPatch()
    rid = enroll(st_.store, resident(60))
    assert st_.worker.run_once()["confirmed"] == 1
    uploads = [(m, o, n) for m, o, n in sent if m in ("POST", "PATCH", "HEAD") and (m != "POST" or n > 500)]
    cut_at = [i for i, (m, _, _) in enumerate(uploads) if m == "PATCH"][1]
    m, o, n = uploads[cut_at]
    assert uploads[cut_at + 1][:2] == ("PATCH", o + n)  # straight on after the cut chunk: no HEAD
    assert "HEAD" not in [m for m, _, _ in uploads]  # the answers after the cut said which ranges are held
    hole = uploads[-1]
    assert hole[0] == "PATCH" and o < hole[1] < o + n and hole[1] + hole[2] == o + n  # only the missing half
    assert central.registry.counts()["uploads_complete"] == 1


def test_an_upload_the_central_lost_mid_sweep_is_created_again_not_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    central.registry.decision_delay_s = 3600
    sent: list[str] = []
    state = {"cut": False, "length": -1}

    class CutTheLastChunkThenForget(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.read()
            if request.url.path.startswith("/v1/uploads"):
                sent.append(request.method)
            if request.method == "POST" and "Upload-Length" in request.headers:
                state["length"] = int(request.headers["Upload-Length"])
            last = request.method == "PATCH" \
                and int(request.headers["Upload-Offset"]) + len(request.content) == state["length"]
            central.faults.set(rate=1.0 if last and not state["cut"] else 0.0, kinds=["reset"])
            if request.method == "HEAD" and state["cut"]:  # the central lost the upload meanwhile
                with central.registry.lock:
                    central.registry.conn.execute("DELETE FROM uploads")
                    central.registry.conn.execute("DELETE FROM upload_chunks")
            state["cut"] = state["cut"] or last
            return super().handle_request(request)

    settings_ = SyncSettings(timeout_s=5.0, poll_interval_s=0.05, chunk_size=2048, backoff_base_s=0.01,
                             backoff_cap_s=0.05, parallel=1, attempts_per_pass=50, chunk_target_s=0)
    st_ = make_station(settings=settings_)
    st_.client.http._transport = CutTheLastChunkThenForget()
    enroll(st_.store, resident(61))
    assert st_.worker.run_once()["confirmed"] == 1
    assert sent[0] == "POST" and sent.count("HEAD") == 1  # created with its first chunk, asked once after the cut
    assert sent[sent.index("HEAD") + 1] == "POST"  # heard "unknown": created again, not refused
    assert central.registry.counts()["uploads_complete"] == 1
