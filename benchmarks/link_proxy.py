"""A shaping TCP proxy on 127.0.0.1: the rural link in a box, for the sync benchmarks.

Each direction is one shared link of ``rate_bps`` bytes/s with a one-way delay of ``rtt_s / 2``
(a byte leaves when the link is free and its serialisation time has passed, and arrives one
delay later), behind a small modem buffer (``buffer_s`` seconds of traffic: beyond it the proxy
stops reading, so the sender's socket fills up as on a real slow link). ``bytes_up`` counts
the bytes the station put on the uplink, which is what a metered link bills: every byte that
entered the modem buffer; bytes still in the station's socket buffer never crossed the link
and are not counted.

``cuts=(lo, hi)`` breaks the radio at random intervals of lo..hi seconds, seeded, as a mobile
link that keeps breaking. The cut is at the bottleneck, the station's end of the link: what
waits in the modem buffer (not yet serialised) is lost, was counted, and the link is free at
once for the next connection; bytes the uplink had already serialised are past the cut and
reach the central, which then sees the connection reset; answers on their way down are lost
(the station's radio is gone) and the station sees a reset at once. Not modelled: TCP's
handshake (a real link carries nothing for one round trip after a connect; on loopback the
proxy cannot hold the station's connect back, so a new connection is usable at once here).
``cut_model="legacy"`` keeps the older model, in which a cut also lost the bytes already past
the bottleneck (on their way, up to one delay of traffic) and the lost modem bytes kept the
link busy after the cut: only to compare figures with earlier runs.

Where those bytes go is counted per connection (:class:`Flow`): what the link carried and what
it handed to the central before a cut, and, for TLS (``scheme="https"``: the proxy only
forwards bytes, the TLS is end to end), the record framing of the uplink read from the
5-byte record headers (RFC 8446 §5.1): the handshake flight, the per-record overhead, and the
tail of a record a cut split (the central cannot decrypt part of a record, so those bytes
are lost even though they arrived).

Runs an asyncio loop in a daemon thread: ``with LinkProxy(target_port, ...) as proxy: proxy.url``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

#: TLS record content types (RFC 8446 §5.1): handshake, change_cipher_spec (middlebox
#: compatibility in 1.3) and application data (which in 1.3 also hides the client's Finished)
HANDSHAKE, CHANGE_CIPHER_SPEC, APPLICATION_DATA = 22, 20, 23
RECORD_HEADER = 5


class TlsRecordTally:
    """The TLS record framing of one direction's byte stream, fed as it goes on the link.

    Counts the handshake flight (handshake and change_cipher_spec records, plus the first
    application_data record, which in TLS 1.3 is the client's encrypted Finished), the
    framing of the other records, and where each record ends, so a cut can say how many of
    the bytes that arrived belong to a record that never arrived whole."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.offset = 0  # stream bytes consumed into whole-record headers so far
        self.handshake_bytes = 0
        self.app_records = 0
        self.client_hellos = 0
        self.ends: list[int] = []  # stream offset where each record ends

    def feed(self, data: bytes) -> None:
        self._buf += data
        while len(self._buf) >= RECORD_HEADER:
            kind, length = self._buf[0], int.from_bytes(self._buf[3:5], "big")
            if len(self._buf) < RECORD_HEADER + length:
                return
            size = RECORD_HEADER + length
            if kind in (HANDSHAKE, CHANGE_CIPHER_SPEC) or (kind == APPLICATION_DATA and not self._finished_seen):
                self.handshake_bytes += size
                self.client_hellos += kind == HANDSHAKE and self._buf[5] == 1
            else:
                self.app_records += 1
            self._finished_seen = self._finished_seen or kind == APPLICATION_DATA
            del self._buf[:size]
            self.offset += size
            self.ends.append(self.offset)

    _finished_seen = False

    def split_tail(self, delivered: int) -> int:
        """Bytes of ``delivered`` (a prefix of the stream) after the last whole record in it."""
        whole = 0
        for end in reversed(self.ends):
            if end <= delivered:
                whole = end
                break
        return delivered - whole


@dataclass
class Flow:
    """One connection's uplink: bytes the link carried, bytes it handed to the central, and
    (over TLS) their record framing."""

    carried: int = 0
    delivered: int = 0
    cut: bool = False
    tls: TlsRecordTally | None = None
    #: bytes handed over after the last whole TLS record (useless to the central)
    lost_tail: int = 0

    @property
    def lost_in_flight(self) -> int:
        """Carried but never handed over: in the modem buffer at a cut (the legacy model: or on the way)."""
        return self.carried - self.delivered


class _Link:
    """One direction of the link: serialisation at ``rate`` then propagation ``delay``."""

    def __init__(self, rate: float, delay: float, buffer_s: float) -> None:
        self.rate, self.delay, self.buffer_s = rate, delay, buffer_s
        self.busy_until = 0.0
        self.carried = 0
        #: bytes handed to the far end (carried minus what cuts lost on the way)
        self.delivered = 0

    def book(self, n: int) -> tuple[float, float]:
        """Put ``n`` bytes on the link now: (when their serialisation ends, when they arrive)."""
        now = time.monotonic()
        depart = max(now, self.busy_until) + n / self.rate
        self.busy_until = depart
        self.carried += n
        return depart, depart + self.delay

    def backlog(self) -> float:
        return max(0.0, self.busy_until - time.monotonic())

    def flush(self, now: float) -> None:
        """A cut: the modem buffer's bytes are dropped, so the link is free from ``now``."""
        self.busy_until = min(self.busy_until, now)


@dataclass(eq=False)
class _Conn:
    """One proxied connection: the station's side, the central's side, the uplink's flow, and
    when the link cut it (None while it holds)."""

    station: asyncio.StreamWriter
    central: asyncio.StreamWriter
    flow: Flow
    cut_at: float | None = None


CUT_MODELS = ("bottleneck", "legacy")


class LinkProxy:
    def __init__(self, target_port: int, *, rate_bps: float, rtt_s: float, cuts: tuple[float, float] | None = None,
                 seed: int = 1, buffer_s: float = 0.15, segment: int = 1024, scheme: str = "http",
                 cut_model: str = "bottleneck") -> None:
        if cut_model not in CUT_MODELS:
            raise ValueError(f"cut_model must be one of {CUT_MODELS}")
        self.target_port = target_port
        self.scheme = scheme
        self.cut_model = cut_model
        #: the uplink of every connection, in the order they were opened
        self.flows: list[Flow] = []
        self.up = _Link(rate_bps, rtt_s / 2, buffer_s)
        self.down = _Link(rate_bps, rtt_s / 2, buffer_s)
        self.cuts = cuts
        self.rng = random.Random(seed)
        self.segment = segment
        self.port = 0
        self.cut_count = 0
        self._conns: set[_Conn] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="link-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def bytes_up(self) -> int:
        return self.up.carried

    def uplink_account(self) -> dict[str, int]:
        """Where the uplink bytes went, summed over connections (TLS rows are 0 for http)."""
        tls = [f.tls for f in self.flows if f.tls is not None]
        return {"connections": len(self.flows),
                "handshakes": sum(t.client_hellos for t in tls),
                "lost_in_flight": sum(f.lost_in_flight for f in self.flows),
                "tls_handshake_bytes": sum(t.handshake_bytes for t in tls),
                "tls_record_overhead": sum(t.app_records for t in tls) * (RECORD_HEADER + 17),
                "tls_split_record_tails": sum(f.lost_tail for f in self.flows)}

    def cut_now(self) -> None:
        """Break the link now (what the seeded cutter does; tests call it directly)."""
        self._loop.call_soon_threadsafe(self._cut)

    def __enter__(self) -> "LinkProxy":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        async def shut() -> None:  # cancel the pumps first, so none is left pending at exit
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shut(), self._loop)
        self._thread.join(5)

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        if self.cuts:
            self._loop.create_task(self._cutter())
        self._ready.set()
        self._loop.run_forever()

    async def _cutter(self) -> None:
        assert self.cuts is not None
        while True:
            await asyncio.sleep(self.rng.uniform(*self.cuts))
            self._cut()

    def _cut(self) -> None:
        now = time.monotonic()
        self.cut_count += 1
        if self.cut_model == "bottleneck":
            self.up.flush(now)
            self.down.flush(now)
        for conn in list(self._conns):
            conn.cut_at = now
            conn.station.transport.abort()  # RST: the station's unread answers are lost
            if self.cut_model == "legacy":
                conn.central.transport.abort()  # and everything on its way up with them
            # (bottleneck: the uplink's pump hands over what was past the cut, then resets the central)
        self._conns.clear()

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            c_writer.transport.abort()
            return
        flow = Flow(tls=TlsRecordTally() if self.scheme == "https" else None)
        conn = _Conn(c_writer, s_writer, flow)
        self._conns.add(conn)
        self.flows.append(flow)
        try:
            await asyncio.gather(self._pump(c_reader, s_writer, self.up, conn, flow),
                                 self._pump(s_reader, c_writer, self.down, conn), return_exceptions=True)
        except asyncio.CancelledError:  # the proxy is closing (asyncio would print a cancelled accept)
            for w in (c_writer, s_writer):
                w.transport.abort()
            return
        flow.cut = conn.cut_at is not None
        if flow.tls is not None:
            flow.lost_tail = flow.tls.split_tail(flow.delivered)
        self._conns.discard(conn)
        for w in (c_writer, s_writer):
            w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link, conn: _Conn,
                    flow: Flow | None = None) -> None:
        # (serialised by, arrives at, bytes), in the order they went on the link
        queue: deque[tuple[float, float, bytes]] = deque()
        arrived = asyncio.Event()
        done = False

        def past_the_cut(depart: float) -> bool:
            """Were these bytes still in the modem buffer when the link was cut?"""
            return conn.cut_at is not None and depart > conn.cut_at

        async def deliver() -> None:
            while True:
                while not queue:
                    if done:
                        return
                    arrived.clear()
                    await arrived.wait()
                depart, at, data = queue.popleft()
                wait = at - time.monotonic()
                if wait > 0 and not past_the_cut(depart):
                    await asyncio.sleep(wait)
                if past_the_cut(depart) or writer.transport.is_closing():  # (the cut may come while waiting)
                    return
                writer.write(data)
                link.delivered += len(data)
                if flow is not None:
                    flow.delivered += len(data)
                await writer.drain()

        sender = asyncio.get_running_loop().create_task(deliver())
        try:
            while True:
                while link.backlog() > link.buffer_s:  # the modem buffer is full: stop reading
                    await asyncio.sleep(link.backlog() - link.buffer_s + 0.005)
                data = await reader.read(self.segment)
                if not data or conn.cut_at is not None or writer.transport.is_closing():
                    break  # a cut connection's leftovers (still in the reader's buffer) never use the link
                depart, at = link.book(len(data))
                queue.append((depart, at, data))
                if flow is not None:
                    flow.carried += len(data)
                    if flow.tls is not None:
                        flow.tls.feed(data)
                arrived.set()
        except (ConnectionError, OSError):
            pass
        finally:
            done = True
            if not asyncio.get_running_loop().is_closed():
                arrived.set()
        try:
            await sender
            if conn.cut_at is not None:
                writer.transport.abort()  # the far end learns of the cut once the last bytes are in
            elif not writer.transport.is_closing() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):  # RuntimeError: the loop is stopping
            pass
