"""The sync_link bench's TLS record tally (benchmarks/link_proxy.py): however the link splits
the stream into reads, it finds the same records, counts the handshake flight (handshake and
change_cipher_spec records plus the first application_data record, TLS 1.3's encrypted
Finished) apart from the others, and says how many delivered bytes follow the last whole record."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.link_proxy import TlsRecordTally


def record(kind: int, body: bytes) -> bytes:
    return bytes([kind, 3, 3]) + len(body).to_bytes(2, "big") + body


# a connection: ClientHello (handshake type 1), change_cipher_spec, Finished, then data records
FLIGHT = record(22, b"\x01" + b"h" * 300) + record(20, b"\x01") + record(23, b"f" * 69)


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(0, 1100), max_size=12), cuts=st.lists(st.integers(1, 700), max_size=30),
       delivered_frac=st.floats(0, 1))
def test_records_are_found_whatever_the_reads(sizes: list[int], cuts: list[int], delivered_frac: float) -> None:
    data = [record(23, b"d" * n) for n in sizes]
    stream = FLIGHT + b"".join(data)
    tally = TlsRecordTally()
    pos = 0
    for step in cuts:
        tally.feed(stream[pos:pos + step])
        pos += step
    tally.feed(stream[pos:])
    assert tally.client_hellos == 1
    assert tally.handshake_bytes == len(FLIGHT)
    assert tally.app_records == len(sizes)
    ends, at = [], 0
    for r in [FLIGHT[:306], FLIGHT[306:312], FLIGHT[312:], *data]:
        at += len(r)
        ends.append(at)
    delivered = int(len(stream) * delivered_frac)
    assert tally.split_tail(delivered) == delivered - max([0] + [e for e in ends if e <= delivered])
