"""Upload writes are paced to the link's rate while the link is being cut (kiosk/sync/pacing.py),
so the bottleneck's buffer, which a cut drops, holds about one piece instead of all it can.

The estimate follows BBR (windowed max of delivery-rate samples, application-limited samples
left out, windowed min round trip); the pacing is a token bucket of one piece."""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.link_proxy import LinkProxy
from kiosk.sync.pacing import MIN_SAMPLE_BYTES, PACE_BELOW, PACED_PIECE, LinkPace
from tests.sync.test_link_proxy_cuts import Sink, wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@given(pieces=st.lists(st.binary(min_size=0, max_size=5000), max_size=20), rate=st.floats(100.0, 1e6),
       stalls=st.lists(st.floats(0.0, 3.0), max_size=40))
def test_paced_writes_never_run_ahead_of_the_rate_by_more_than_one_piece(pieces: list[bytes], rate: float,
                                                                        stalls: list[float]) -> None:
    clock = FakeClock()
    pace = LinkPace(clock=clock, sleep=clock.sleep)
    start, sent, out = clock.now, 0, []
    for i, part in enumerate(pace.paced(iter(pieces), rate)):
        assert len(part) <= PACED_PIECE
        sent += len(part)
        # a writer that stalls (a loaded machine) gets no credit for the time it lost
        assert sent <= rate * (clock.now - start) + PACED_PIECE + 1e-6
        out.append(part)
        if i < len(stalls):
            clock.now += stalls[i]
            start = max(start, clock.now - PACED_PIECE / rate)  # credit is capped at one piece
            sent = 0
    assert b"".join(out) == b"".join(pieces)


def test_the_rate_is_the_best_recent_sample_and_paced_or_small_ones_do_not_count() -> None:
    clock = FakeClock()
    pace = LinkPace(clock=clock, sleep=clock.sleep)
    pace.transfer(32_000, 4.6, paced=False)
    assert pace.rate() is None  # no round trip known yet: a sample cannot be told from the wait
    pace.round_trip(0.9)
    pace.round_trip(0.6)  # the windowed minimum
    pace.transfer(32_000, 4.6, paced=False)
    assert pace.rate() == pytest.approx(8000.0)
    pace.transfer(32_000, 9.0, paced=False)  # a slower sample (a stall, a reconnect) does not lower it
    pace.transfer(64_000, 20.0, paced=True)  # the station set that rate, not the link
    pace.transfer(MIN_SAMPLE_BYTES - 1, 0.61, paced=False)  # the round trip's error would dominate
    assert pace.rate() == pytest.approx(8000.0)


def test_writes_are_paced_only_while_the_link_is_being_cut() -> None:
    clock = FakeClock()
    pace = LinkPace(clock=clock, sleep=clock.sleep, share=0.97, calm_s=30.0)
    pace.cut()
    assert pace.pacing_rate() is None  # not measured yet
    pace.round_trip(0.6)
    pace.transfer(32_000, 4.6, paced=False)
    assert pace.pacing_rate() == pytest.approx(0.97 * 8000.0)
    clock.now += 31.0
    assert pace.pacing_rate() is None  # 30 s without a cut: the link holds, nothing queued is lost


def test_every_eighth_paced_upload_probes_above_the_estimate_and_a_faster_link_is_found() -> None:
    clock = FakeClock()
    pace = LinkPace(clock=clock, sleep=clock.sleep, share=0.97)
    pace.round_trip(0.6)
    pace.transfer(32_000, 4.6, paced=False)  # 8 kB/s
    pace.cut()
    plans = [pace.next_upload() for _ in range(16)]
    assert [p[1] for p in plans if p] == [False] * 7 + [True] + [False] * 7 + [True]
    probe = plans[7]
    assert probe is not None and probe[0] == pytest.approx(1.25 * 8000.0)
    pace.transfer(32_000, 0.6 + 32_000 / 10_000, paced=not probe[1])  # the link now carries 10 kB/s
    assert pace.rate() == pytest.approx(10_000.0)


def test_a_fast_link_is_not_paced_even_while_it_is_being_cut() -> None:
    clock = FakeClock()
    pace = LinkPace(clock=clock, sleep=clock.sleep)
    pace.round_trip(0.001)
    pace.transfer(1 << 20, 0.001 + (1 << 20) / PACE_BELOW, paced=False)
    pace.cut()
    assert pace.rate() == pytest.approx(PACE_BELOW)
    assert pace.pacing_rate() is None


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


def lost_at_a_cut(sink: Sink, pace_at: float | None) -> int:
    """60 kB through a 10 kB/s link with a 1 s modem buffer, cut once 15 kB went on it: the
    bytes the cut found in the modem buffer."""
    rate = 10_000.0
    with LinkProxy(sink.port, rate_bps=rate, rtt_s=0.4, buffer_s=1.0) as proxy:
        station = socket.create_connection(("127.0.0.1", proxy.port))
        data = [bytes(4096)] * 15
        pieces = LinkPace().paced(iter(data), pace_at * rate) if pace_at else iter(data)

        def write() -> None:
            try:
                for piece in pieces:
                    station.sendall(piece)
            except OSError:  # the cut
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        wait_for(lambda: proxy.bytes_up >= 15_000)
        proxy.cut_now()
        wait_for(sink.ended.is_set)
        wait_for(lambda: proxy.flows[0].cut)
        writer.join(30)
        station.close()
        return proxy.flows[0].lost_in_flight


def test_pacing_keeps_what_a_cut_finds_in_the_modem_to_about_one_piece(sink: Sink) -> None:
    lost = lost_at_a_cut(sink, pace_at=0.9)
    assert lost <= 3 * PACED_PIECE  # a piece on the air, one queued, one the proxy read late


def test_unpaced_writes_fill_the_modem_buffer_and_a_cut_loses_it(sink: Sink) -> None:
    assert lost_at_a_cut(sink, pace_at=None) >= 8000  # about the 1 s buffer (10 kB)


def test_an_upload_after_a_cut_goes_in_paced_pieces_and_one_before_does_not(make_station, central) -> None:  # type: ignore[no-untyped-def]
    from tests.central.conftest import enroll
    from tests.conftest import resident
    from tests.sync.test_write_pieces import ONE_CHUNK, Writes

    st = make_station(settings=ONE_CHUNK)
    writes = Writes()
    st.client.http._transport = writes
    def slow_link(cut: bool) -> LinkPace:
        pace = LinkPace()
        pace.round_trip(0.01)
        pace.transfer(1 << 20, 0.01 + (1 << 20) / 100_000, paced=False)  # a 100 kB/s link (800 kbit/s)
        if cut:
            pace.cut()
        return pace

    st.client.pace = slow_link(cut=False)
    assert st.worker.upload_record(enroll(st.store, resident(71))) == "confirmed"
    assert max(writes.pieces[-1]) > PACED_PIECE  # the link holds: not paced
    st.client.pace = pace = slow_link(cut=True)
    rate = pace.pacing_rate()
    assert rate is not None
    started = time.monotonic()
    assert st.worker.upload_record(enroll(st.store, resident(72))) == "confirmed"
    took = time.monotonic() - started
    body = writes.pieces[-1]
    assert max(body) <= PACED_PIECE and pace.paced_bytes == sum(body)
    assert took >= (sum(body) - PACED_PIECE) / rate  # released no faster than the pace
