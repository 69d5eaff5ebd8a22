"""What a cut of the sync_link bench's link (benchmarks/link_proxy.py) loses and what it counts.

The cut is at the bottleneck, the station's end of the link: the bytes waiting in the modem
buffer are lost (and were counted as sent), bytes the link had already serialised are past the
cut and reach the central, the link is free at once for the next connection, and bytes still in
the station's socket never crossed the link, so they are not counted. The older ("legacy")
model also lost the bytes on their way (up to one delay of traffic)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator

import pytest

from benchmarks.link_proxy import LinkProxy

RATE = 10_000.0  # bytes/s
RTT = 2.0  # a one-way delay of 1 s: 10 kB on their way when the link is busy
BUFFER_S = 0.15
SEGMENT = 1024
#: the most a cut can find in the modem buffer: the proxy reads a segment while <= BUFFER_S is
#: queued, and the segment on the air at the cut is lost whole (as a radio frame is)
MODEM_MAX = int(BUFFER_S * RATE) + 2 * SEGMENT


class Sink:
    """The central's side: counts what arrives on each connection and notices its end."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[int] = []
        self.ended = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        got = 0
        try:
            while data := conn.recv(65536):
                got += len(data)
        except OSError:  # the reset at the end of a cut connection
            pass
        self.received.append(got)
        conn.close()
        self.ended.set()

    def close(self) -> None:
        self.listener.close()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


def cut_mid_upload(sink: Sink, cut_model: str) -> tuple[int, int, int, float]:
    """Send 60 kB at once through the link, cut once 20 kB have gone on it; (carried, delivered,
    received by the central, backlog of the uplink right after the cut)."""
    with LinkProxy(sink.port, rate_bps=RATE, rtt_s=RTT, buffer_s=BUFFER_S, segment=SEGMENT,
                   cut_model=cut_model) as proxy:
        station = socket.create_connection(("127.0.0.1", proxy.port))
        station.sendall(bytes(60_000))  # into the socket buffers: the link takes it at its own pace
        wait_for(lambda: proxy.bytes_up >= 20_000)
        proxy.cut_now()
        wait_for(lambda: proxy.cut_count == 1)
        backlog = proxy.up.backlog()
        wait_for(sink.ended.is_set)
        wait_for(lambda: proxy.flows[0].cut)
        with pytest.raises(OSError):  # the station's side was reset at the cut
            station.settimeout(10)
            for _ in range(100):
                if not station.recv(1):
                    raise ConnectionResetError
        station.close()
        flow = proxy.flows[0]
        return flow.carried, flow.delivered, sink.received[0], backlog


def test_a_cut_loses_only_the_modem_buffer_and_what_crossed_reaches_the_central(sink: Sink) -> None:
    carried, delivered, received, backlog = cut_mid_upload(sink, "bottleneck")
    assert received == delivered  # the flow counts what the central got
    assert 20_000 <= carried < 60_000  # the station's unsent bytes were not counted
    assert carried - delivered <= MODEM_MAX  # lost: at most what waited in the modem buffer
    # the one-way delay's worth of bytes on their way at the cut arrived
    assert delivered >= carried - MODEM_MAX
    assert backlog == 0.0  # the modem buffer was dropped: the link is free for the next connection


def test_the_legacy_model_also_lost_the_bytes_on_their_way(sink: Sink) -> None:
    carried, delivered, received, _ = cut_mid_upload(sink, "legacy")
    assert received == delivered
    assert carried - delivered > MODEM_MAX  # bytes past the bottleneck were lost too


def test_an_unknown_cut_model_is_refused() -> None:
    with pytest.raises(ValueError):
        LinkProxy(1, rate_bps=RATE, rtt_s=RTT, cut_model="somewhere")
