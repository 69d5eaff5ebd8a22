"""A shaping TCP proxy on 127.0.0.1: the rural link in a box, for the sync benchmarks.

Each direction is one shared link of ``rate_bps`` bytes/s with a one-way delay of ``rtt_s / 2``
(a byte leaves when the link is free and its serialisation time has passed, and arrives one
delay later), behind a small modem buffer (``buffer_s`` seconds of traffic: beyond it the proxy
stops reading, so the sender's socket fills up as on a real slow link). ``cuts=(lo, hi)``
drops every open connection (RST, queued bytes lost) at random intervals of lo..hi seconds,
seeded, as a mobile link that keeps breaking. ``bytes_up`` counts the bytes the station put
on the uplink, which is what a metered link bills.

Runs an asyncio loop in a daemon thread: ``with LinkProxy(target_port, ...) as proxy: proxy.url``.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import deque
from typing import Any


class _Link:
    """One direction of the link: serialisation at ``rate`` then propagation ``delay``."""

    def __init__(self, rate: float, delay: float, buffer_s: float) -> None:
        self.rate, self.delay, self.buffer_s = rate, delay, buffer_s
        self.busy_until = 0.0
        self.carried = 0
        #: bytes handed to the far end (carried minus what cuts lost on the way)
        self.delivered = 0

    def book(self, n: int) -> float:
        """Put ``n`` bytes on the link now; returns when they arrive at the far end."""
        now = time.monotonic()
        depart = max(now, self.busy_until) + n / self.rate
        self.busy_until = depart
        self.carried += n
        return depart + self.delay

    def backlog(self) -> float:
        return max(0.0, self.busy_until - time.monotonic())


class LinkProxy:
    def __init__(self, target_port: int, *, rate_bps: float, rtt_s: float, cuts: tuple[float, float] | None = None,
                 seed: int = 1, buffer_s: float = 0.15, segment: int = 1024) -> None:
        self.target_port = target_port
        self.up = _Link(rate_bps, rtt_s / 2, buffer_s)
        self.down = _Link(rate_bps, rtt_s / 2, buffer_s)
        self.cuts = cuts
        self.rng = random.Random(seed)
        self.segment = segment
        self.port = 0
        self.cut_count = 0
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="link-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def bytes_up(self) -> int:
        return self.up.carried

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
            self.cut_count += 1
            for a, b in list(self._conns):
                for w in (a, b):
                    w.transport.abort()  # RST: what is queued is lost
            self._conns.clear()

    async def _accept(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            c_writer.transport.abort()
            return
        pair = (c_writer, s_writer)
        self._conns.add(pair)
        await asyncio.gather(self._pump(c_reader, s_writer, self.up), self._pump(s_reader, c_writer, self.down),
                             return_exceptions=True)
        self._conns.discard(pair)
        for w in pair:
            w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, link: _Link) -> None:
        queue: deque[tuple[float, bytes]] = deque()
        arrived = asyncio.Event()
        done = False

        async def deliver() -> None:
            while True:
                while not queue:
                    if done:
                        return
                    arrived.clear()
                    await arrived.wait()
                at, data = queue.popleft()
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if writer.transport.is_closing():
                    return
                writer.write(data)
                link.delivered += len(data)
                await writer.drain()

        sender = asyncio.get_running_loop().create_task(deliver())
        try:
            while True:
                while link.backlog() > link.buffer_s:  # the modem buffer is full: stop reading
                    await asyncio.sleep(link.backlog() - link.buffer_s + 0.005)
                data = await reader.read(self.segment)
                if not data or writer.transport.is_closing():
                    break  # a cut connection's leftovers (still in the reader's buffer) never use the link
                queue.append((link.book(len(data)), data))
                arrived.set()
        except (ConnectionError, OSError):
            pass
        finally:
            done = True
            if not asyncio.get_running_loop().is_closed():
                arrived.set()
        try:
            await sender
            if not writer.transport.is_closing() and writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):  # RuntimeError: the loop is stopping
            pass
