"""Upload bytes over https go out in small TLS records while the link is being cut (4 KB ones
while it holds: less framing), and a chunk cut mid-way keeps every whole record that reached
the central (issue 13 §3). A record the cut splits is lost (the
central can only decrypt whole records), so the record size bounds what a cut costs; the sizes
are read from the 5-byte TLS record headers on the wire (RFC 8446 §5.1)."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.central.tls import self_signed_certificate, tls_context
from kiosk.sync.client import PIECE, TLS_RECORD, CentralClient, CentralUnavailable
from kiosk.sync.worker import central_transport
from tests.sync.tls_rig import Forwarder

APPLICATION_DATA = 23
#: TLS 1.3 AEAD record: inner content type byte + 16-byte tag around the plaintext
AEAD_EXTRA = 17
RECORD_ID = "00000000-0000-4000-8000-000000000001"


def records(stream: bytes) -> list[tuple[int, int, int]]:
    """(content type, record length, offset where the record ends) of each whole record."""
    out, pos = [], 0
    while pos + 5 <= len(stream):
        length = int.from_bytes(stream[pos + 3:pos + 5], "big")
        if pos + 5 + length > len(stream):
            break
        pos += 5 + length
        out.append((stream[pos - 5 - length], length, pos))
    return out


@pytest.fixture
def station(tmp_path: Path) -> Iterator[SimpleNamespace]:
    cert, key = self_signed_certificate(tmp_path, "central", "central.test")
    reg = CentralRegistry(tmp_path / "central")
    server = CentralServer(reg, tls=tls_context(cert, key)).start()
    relay = Forwarder(int(server.url.rsplit(":", 1)[1]))
    url = f"https://127.0.0.1:{relay.port}"
    keys = StationKeys.init(tmp_path / "st")
    reg.register_station("ST-01", keys.public, "320101")
    cfg = SimpleNamespace(path=Path("config.toml"), station=SimpleNamespace(simulated=False),
                          central=SimpleNamespace(url=url, ca_file=cert, allow_plain_http=False))
    client = CentralClient(url, "ST-01", keys.signing, verify=central_transport(cfg, url), timeout_s=5.0)
    packet = random.Random(5).randbytes(40 * TLS_RECORD)
    upload = client.create_upload(RECORD_ID, 1, len(packet), hashlib.sha256(packet).hexdigest())
    yield SimpleNamespace(client=client, relay=relay, reg=reg, packet=packet, url=upload.url)
    client.close()
    relay.close()
    server.stop()
    reg.close()


def test_an_upload_chunk_goes_out_in_records_of_at_most_tls_record_bytes(station: SimpleNamespace) -> None:
    station.client.pace.cut()  # the link is being cut
    start = len(station.relay.uplink)
    answer = station.client.send_chunk(station.url, 0, station.packet[:20 * TLS_RECORD])
    assert answer.offset == 20 * TLS_RECORD
    sent = [length - AEAD_EXTRA for kind, length, _ in records(bytes(station.relay.uplink))
            if kind == APPLICATION_DATA]
    body = [n for n in sent if n == TLS_RECORD]
    assert len(body) == 20  # the chunk's bytes, one record per TLS_RECORD
    assert max(sent) <= TLS_RECORD  # the request headers are one small record too
    assert len(station.relay.uplink) - start < 20 * TLS_RECORD * 1.05


def test_a_slow_link_that_holds_gets_records_of_a_piece(station: SimpleNamespace) -> None:
    start = len(station.relay.uplink)
    station.client.send_chunk(station.url, 0, station.packet[:20 * TLS_RECORD])
    sent = [length - AEAD_EXTRA for kind, length, _ in records(bytes(station.relay.uplink[start:]))
            if kind == APPLICATION_DATA]
    assert sent.count(PIECE) == 20 * TLS_RECORD // PIECE  # no cut seen: 4 KB records, 0.5 % framing


def test_a_cut_chunk_keeps_every_whole_record_that_arrived(station: SimpleNamespace) -> None:
    station.client.pace.cut()  # the link is being cut: 1 KB records
    relay = station.relay
    start = len(relay.uplink)
    relay.cut_after = start + 12 * TLS_RECORD + 700  # inside the body, mid-record
    with pytest.raises(CentralUnavailable):
        station.client.send_chunk(station.url, 0, station.packet[:30 * TLS_RECORD])
    arrived = records(bytes(relay.uplink[start:]))
    whole_body_records = sum(1 for kind, length, _ in arrived
                             if kind == APPLICATION_DATA and length == TLS_RECORD + AEAD_EXTRA)
    assert whole_body_records >= 10
    held = station.client.upload_offset(station.url)
    assert held is not None
    # the central kept exactly the records that arrived whole; only the split one is lost
    assert held.offset == whole_body_records * TLS_RECORD
