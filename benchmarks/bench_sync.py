"""Sync throughput over loopback, and draining a queue through a faulty central.

``python benchmarks/run.py sync`` prints:
- sync_loopback: records/s and MB/s of a full sync pass (resumable upload, confirm)
  against a plain httpx POST of the same packet bytes to a server that only reads them (same
  run, same machine, measured right after each pass): the ratio is what the protocol and
  durability cost. Each record's packet is sealed before the pass, as a station seals it when
  the record is queued (kiosk.sync.sealer: the link window goes to uploading); that sealing
  is timed apart and printed as ``seal_ms_per_record`` (CPU per record). Two rows:
  ``records_per_s_default_parallel`` is the goal's row (issue 13 §3, >= 0.5): how fast a
  station with its default settings (``SyncSettings().parallel`` uploads in flight, also
  printed as ``default_uploads_in_flight``) drains its queue; ``records_per_s`` is the same
  pass with one upload at a time (every round trip's wait is on the path).
  The central runs in a process of its own (benchmarks/loopback_peer.py), as it is another
  machine in the field, and so does the baseline's sink (both sides pay the same process hop).
  Packets are version 3 (samples framed as bytes, ~187 kB; the signature over the packet's
  SHA-256): the baseline posts those same bytes, so a smaller packet speeds both sides. On a
  loaded machine the ratio moves with the load (the pass runs four threads in two processes,
  the baseline one request at a time): compare runs at similar load, with ``uptime``. The
  ``*_cpu_ms_per_record_default`` rows say where the time goes whatever the load: CPU per
  record of the station's process and of the central's during the default pass, against the
  plain POST's client and sink (Linux: the peer's CPU is read from /proc).
- sync_drain_1000_faults10: seconds to drain 1,000 queued records (uploaded and decided)
  through a central failing 10% of requests (all fault kinds, 1 s client timeout), next to
  the same drain with no faults.
- sync_link: records of realistic size (``kiosk simulate enroll``'s: ten 500 ppi WSQ fingers
  with their templates, a 480x640 JPEG face, the signature) through the shaping proxy
  (benchmarks/link_proxy.py) at 64 kbit/s with 600 ms round trips: goodput (packet bytes /
  time of the whole pass, decisions and checkpoint included) against the link's capacity
  (goal >= 0.9); and the same link cut every 2-5 s: every record arrives, and bytes on the
  uplink (HTTP headers, retries and bytes lost in cuts included) / packet bytes (goal <= 1.3).
  The same two runs again over TLS (``tls_*`` rows), configured as a real station is: a
  certificate made at bench time (ECDSA P-256, self-signed for 127.0.0.1) served by the central
  (:func:`kiosk.central.tls.tls_context`) and pinned by the station as its ``[central] ca_file``
  (:func:`kiosk.sync.worker.central_transport`), through the same proxy; with the number of
  full and resumed TLS handshakes. ``*_split_*`` rows say where the cut runs' uplink bytes went,
  per packet byte (link_proxy.LinkProxy.uplink_account), and ``*_requests_*`` rows how many
  requests of each method the station started. ``SYNC_LINK_SEED`` picks the proxy's cut seed
  (default 7); ``SYNC_LINK_CUT_MODEL=legacy`` runs the proxy's older cut model (bytes already past
  the bottleneck lost too), to compare with figures measured before it changed;
  ``SYNC_LINK_PACING=0`` turns the station's pacing of upload writes under cuts off
  (kiosk.sync.pacing), to see what it buys.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import httpx

from benchmarks.link_proxy import LinkProxy
from benchmarks.loopback_peer import Peer
from benchmarks.run import result
from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.central.tls import self_signed_certificate, tls_context
from kiosk.store import RecordStore
from kiosk.sync.client import CentralClient
from kiosk.sync.synthetic import enroll_synthetic
from kiosk.sync.worker import SyncSettings, SyncWorker, central_transport


def _station(tmp: Path, name: str, count: int, settings: SyncSettings, delay: float) -> tuple[Any, ...]:
    reg = CentralRegistry(tmp / f"{name}-central", decision_delay_s=delay)
    server = CentralServer(reg).start()
    store = RecordStore(tmp / name)
    keys = StationKeys.init(tmp / name)
    reg.register_station(name, keys.public, "320101")
    store.conn.execute("PRAGMA synchronous=OFF")  # setup, not measured
    ids = enroll_synthetic(store, count, district="320101", seed=1)
    store.conn.execute("PRAGMA synchronous=FULL")
    client = CentralClient(server.url, name, keys.signing, timeout_s=settings.timeout_s)
    worker = SyncWorker(store, client, station_id=name, station_key=keys.signing,
                        sealing_key=reg.keys.sealing_public, permit_key=reg.keys.signing_public, settings=settings)
    return reg, server, store, client, worker, ids


class LoopbackPass(NamedTuple):
    seconds: float
    #: the packets the central stored
    blobs: list[bytes]
    #: CPU seconds of the pass in the station's process and in the central's (None off Linux)
    station_cpu: float
    central_cpu: float | None
    #: CPU seconds sealing the ``n`` packets at queue time, before the pass
    seal_cpu: float


class PlainPosts(NamedTuple):
    seconds: float
    client_cpu: float
    sink_cpu: float | None


def _cpu_delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _loopback_pass(tmp: Path, name: str, n: int, parallel: int) -> LoopbackPass:
    """One timed sync pass of ``n`` queued records."""
    central_dir = tmp / f"{name}-central"
    reg = CentralRegistry(central_dir, decision_delay_s=3600)  # keys and registration, then closed
    store = RecordStore(tmp / name)
    keys = StationKeys.init(tmp / name)
    reg.register_station(name, keys.public, "320101")
    sealing, signing = reg.keys.sealing_public, reg.keys.signing_public
    reg.close()
    store.conn.execute("PRAGMA synchronous=OFF")  # setup, not measured
    enroll_synthetic(store, n, district="320101", seed=1)
    store.conn.execute("PRAGMA synchronous=FULL")
    settings = SyncSettings(parallel=parallel, poll_interval_s=0.1)
    with Peer("central", central_dir) as peer:
        url = peer.url
        client = CentralClient(url, name, keys.signing, timeout_s=settings.timeout_s)
        worker = SyncWorker(store, client, station_id=name, station_key=keys.signing, sealing_key=sealing,
                            permit_key=signing, settings=settings)
        # each record's packet sealed as the station does when the record is queued
        # (kiosk.sync.sealer), before the link window the pass stands for: timed apart
        cpu = time.process_time()
        sealed = worker.seal_queued()
        seal_cpu = time.process_time() - cpu
        assert sealed == n, sealed
        t, cpu, peer_cpu = time.perf_counter(), time.process_time(), peer.cpu_seconds()
        report = worker.run_once()
        took = time.perf_counter() - t
        station_cpu, central_cpu = time.process_time() - cpu, _cpu_delta(peer_cpu, peer.cpu_seconds())
        assert report["confirmed"] == n, report
        worker.close()
        client.close()
    store.close()
    reg = CentralRegistry(central_dir, decision_delay_s=3600)
    blobs = reg.packets()
    reg.close()
    return LoopbackPass(took, blobs, station_cpu, central_cpu, seal_cpu)


def _plain_posts(blobs: list[bytes]) -> PlainPosts:
    """POST each packet with plain httpx to a sink that only reads it (the baseline)."""
    with Peer("sink") as sink, httpx.Client(base_url=sink.url) as plain:
        t, cpu, sink_cpu = time.perf_counter(), time.process_time(), sink.cpu_seconds()
        for b in blobs:
            plain.post("/", content=b).raise_for_status()
        return PlainPosts(time.perf_counter() - t, time.process_time() - cpu, _cpu_delta(sink_cpu, sink.cpu_seconds()))


def bench_sync_loopback() -> list[dict[str, Any]]:
    n = 200
    with tempfile.TemporaryDirectory() as d:
        # each pass is compared with the baseline measured right after it, on its own packets:
        # other work on the machine changes both alike within a minute, less so across minutes
        default = _loopback_pass(Path(d), "BENCH-02", n, SyncSettings().parallel)  # the goal's row
        default_base = _plain_posts(default.blobs)
        one = _loopback_pass(Path(d), "BENCH-01", n, 1)
        base = _plain_posts(one.blobs)
        total = sum(len(b) for b in one.blobs)
    ms = 1000 / n
    rows = [result("sync_loopback", "records_per_s", n / one.seconds, "1/s", n / base.seconds),
            result("sync_loopback", "MB_per_s", total / one.seconds / 1e6, "MB/s", total / base.seconds / 1e6),
            result("sync_loopback", "records_per_s_default_parallel", n / default.seconds, "1/s",
                   n / default_base.seconds),
            result("sync_loopback", "default_uploads_in_flight", SyncSettings().parallel, "uploads", None),
            result("sync_loopback", "packet_kb_each", total / n / 1000, "kB", None),
            # sealing is done when a record is queued, not in the pass: its cost, in full
            result("sync_loopback", "seal_ms_per_record", default.seal_cpu * ms, "ms", None),
            # where the time goes, robust to other load: CPU per record of each side against the
            # plain POST's own client and sink (ratio: how many times the baseline's CPU)
            result("sync_loopback", "station_cpu_ms_per_record_default", default.station_cpu * ms, "ms",
                   default_base.client_cpu * ms)]
    if default.central_cpu is not None and default_base.sink_cpu is not None:
        rows.append(result("sync_loopback", "central_cpu_ms_per_record_default", default.central_cpu * ms, "ms",
                           default_base.sink_cpu * ms))
    return rows


def _drain(tmp: Path, name: str, n: int, rate: float) -> float:
    settings = SyncSettings(timeout_s=1.0, poll_interval_s=0.05, backoff_base_s=0.05, backoff_cap_s=1.0,
                            parallel=4, attempts_per_pass=20, offline_after=8)
    reg, server, store, client, worker, ids = _station(tmp, name, n, settings, delay=0.0)
    server.faults.set(rate=rate, hang_s=1.2, seed=3)
    t = time.perf_counter()
    while store.counts()["approved"] < n:
        worker.run_once()
    took = time.perf_counter() - t
    client.close()
    server.stop()
    reg.close()
    return took


def bench_sync_drain_faults() -> list[dict[str, Any]]:
    n = 1000
    with tempfile.TemporaryDirectory() as d:
        faulty = _drain(Path(d), "DRAIN-F", n, 0.10)
        clean = _drain(Path(d), "DRAIN-C", n, 0.0)
    return [result("sync_drain_1000_faults10", "seconds", faulty, "s", clean)]


# -- the rural link -------------------------------------------------------------------------------
LINK_BPS = 64_000 / 8
LINK_RTT_S = 0.6


class LinkRun(NamedTuple):
    took: float
    packet_bytes: int
    uplink_bytes: int
    arrived: int
    cuts: int
    #: header bytes of each answered request
    headers: list[int]
    #: where the uplink bytes went (benchmarks.link_proxy.LinkProxy.uplink_account)
    account: dict[str, int]
    #: TLS handshakes the station made, and how many of them resumed a session
    tls_handshakes: int = 0
    tls_resumed: int = 0
    #: requests the station started (answered or not), per method
    methods: dict[str, int] = {}
    #: upload bytes the station wrote paced (kiosk.sync.pacing), and the link rate it estimated
    paced_bytes: int = 0
    rate_estimate: float = 0.0


def _link_run(tmp: Path, name: str, n: int, cuts: tuple[float, float] | None, *, tls: bool = False,
              budget_s: float = 900.0, seed: int = 7, cut_model: str = "bottleneck") -> LinkRun:
    reg = CentralRegistry(tmp / f"{name}-central", decision_delay_s=3600)
    verify: Any = True
    server_tls = None
    if tls:
        cert, key = self_signed_certificate(tmp / f"{name}-central", "central", "central.bench")
        server_tls = tls_context(cert, key)
    server = CentralServer(reg, tls=server_tls).start()
    store = RecordStore(tmp / name)  # the default policy: all ten fingers
    keys = StationKeys.init(tmp / name)
    reg.register_station(name, keys.public, "320101")
    store.conn.execute("PRAGMA synchronous=OFF")  # setup, not measured
    enroll_synthetic(store, n, district="320101", seed=1)  # realistic records, as `kiosk simulate enroll`
    store.conn.execute("PRAGMA synchronous=FULL")
    settings = SyncSettings(timeout_s=30.0, poll_interval_s=0.1, backoff_base_s=0.3, backoff_cap_s=2.0,
                            attempts_per_pass=20)
    port = int(server.url.rsplit(":", 1)[1])
    with LinkProxy(port, rate_bps=LINK_BPS, rtt_s=LINK_RTT_S, cuts=cuts, seed=seed,
                   scheme="https" if tls else "http", cut_model=cut_model) as proxy:
        headers: list[int] = []
        if tls:  # the pinned certificate, as a real station's config gives it
            cfg = SimpleNamespace(path=Path("config.toml"), station=SimpleNamespace(simulated=False),
                                  central=SimpleNamespace(url=proxy.url, ca_file=cert, allow_plain_http=False))
            verify = central_transport(cfg, proxy.url)

        def count(request: httpx.Request, response: httpx.Response) -> None:
            # the request line and header block as sent (HTTP/1.1), what every request pays on the link
            line = len(request.method) + len(request.url.raw_path) + len(" HTTP/1.1\r\n") + 1
            headers.append(line + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2)

        client = CentralClient(proxy.url, name, keys.signing, timeout_s=settings.timeout_s, on_exchange=count,
                               verify=verify)
        if os.environ.get("SYNC_LINK_PACING") == "0":  # compare: writes never paced (records still sized for cuts)
            client.pace.next_upload = lambda: None  # type: ignore[method-assign]
        methods: Counter[str] = Counter()
        client.http.event_hooks["request"].append(lambda request: methods.update([request.method]))
        worker = SyncWorker(store, client, station_id=name, station_key=keys.signing,
                            sealing_key=reg.keys.sealing_public, permit_key=reg.keys.signing_public,
                            settings=settings, seed=3)
        start = time.perf_counter()
        while time.perf_counter() - start < budget_s:
            worker.run_once()
            if store.counts()["submitted"] == n:
                break
        took = time.perf_counter() - start
        arrived = reg.counts()["uploads_complete"]
        with reg.lock:
            packet_bytes = sum(r[0] for r in reg.conn.execute("SELECT length(packet) FROM records"))
        handshakes = getattr(client, "tls_handshakes", lambda: (0, 0))()
        run = LinkRun(took, packet_bytes, proxy.bytes_up, arrived, proxy.cut_count, headers,
                      proxy.uplink_account(), *handshakes, dict(methods), client.pace.paced_bytes,
                      client.pace.rate() or 0.0)
        worker.close()
        client.close()
    server.stop()
    reg.close()
    store.close()
    return run


def _split_rows(prefix: str, run: LinkRun) -> list[dict[str, Any]]:
    """Where a cut run's uplink bytes went, per packet byte."""
    a, p = run.account, run.packet_bytes
    rows = [result("sync_link", f"{prefix}split_lost_in_flight", a["lost_in_flight"] / p, "x", None)]
    if a["handshakes"]:
        rows += [result("sync_link", f"{prefix}split_tls_handshakes", a["tls_handshake_bytes"] / p, "x", None),
                 result("sync_link", f"{prefix}split_tls_record_overhead", a["tls_record_overhead"] / p, "x", None),
                 result("sync_link", f"{prefix}split_tls_cut_record_tails", a["tls_split_record_tails"] / p, "x",
                        None)]
    rows += [result("sync_link", f"{prefix}split_answered_http_headers", sum(run.headers) / p, "x", None),
             result("sync_link", f"{prefix}connections", a["connections"], "connections", None)]
    rows += [result("sync_link", f"{prefix}requests_{method.lower()}", count, "requests", None)
             for method, count in sorted(run.methods.items())]
    rows += [result("sync_link", f"{prefix}paced_bytes_per_packet_byte", run.paced_bytes / p, "x", None),
             result("sync_link", f"{prefix}estimated_link_rate", run.rate_estimate, "B/s", LINK_BPS)]
    return rows


def bench_sync_link() -> list[dict[str, Any]]:
    n = 3
    seed = int(os.environ.get("SYNC_LINK_SEED", "7"))
    cut_model = os.environ.get("SYNC_LINK_CUT_MODEL", "bottleneck")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        for tls, prefix in ((False, ""), (True, "tls_")):
            clear = _link_run(Path(d), f"LINK-64K{prefix}", n, None, tls=tls, seed=seed)
            assert clear.arrived == n
            cut = _link_run(Path(d), f"LINK-CUTS{prefix}", n, (2.0, 5.0), tls=tls, seed=seed, cut_model=cut_model)
            rows += [result("sync_link", f"{prefix}goodput_64kbit_600ms", clear.packet_bytes / clear.took, "B/s",
                            LINK_BPS)]
            if not tls:
                rows += [result("sync_link", "packet_kb_each", clear.packet_bytes / n / 1000, "kB", None),
                         result("sync_link", "uplink_bytes_per_packet_byte", clear.uplink_bytes / clear.packet_bytes,
                                "x", 1.0),
                         result("sync_link", "requests_per_record", len(clear.headers) / n, "requests", None),
                         result("sync_link", "http_header_bytes_per_request",
                                sum(clear.headers) / max(1, len(clear.headers)), "B", None)]
            rows += [result("sync_link", f"{prefix}cuts_records_arrived", cut.arrived, "records", n),
                     result("sync_link", f"{prefix}cuts_uplink_bytes_per_packet_byte",
                            cut.uplink_bytes / max(1, cut.packet_bytes), "x", 1.0),
                     result("sync_link", f"{prefix}cuts_goodput", cut.packet_bytes / cut.took, "B/s", LINK_BPS),
                     result("sync_link", f"{prefix}cuts_count", cut.cuts, "cuts", None)]
            if tls:
                rows += [result("sync_link", "tls_cuts_handshakes", cut.account["handshakes"], "handshakes", None),
                         result("sync_link", "tls_cuts_handshakes_resumed", cut.tls_resumed, "handshakes", None)]
            rows += _split_rows(f"{prefix}cuts_", cut)
    return rows


BENCHES = {"sync_loopback": bench_sync_loopback, "sync_drain_1000_faults10": bench_sync_drain_faults,
           "sync_link": bench_sync_link}
