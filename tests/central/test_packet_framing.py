"""Packet versions 2 and 3: the samples travel as bytes (no base64, no JSON escaping), framed after
the metadata, still under the AEAD and the station's signature (version 3: over the packet's
SHA-256); version 1 and 2 packets still open."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.central.packet import (CONTENT_FORMAT, FRAMED_FORMAT, PREHASH_DOMAIN, PacketDigest, PacketError,
                                  build_content, digest_packet, frame_content, open_packet, read_header, seal, sealed)
from kiosk.central.permit import canonical_json
from tests.central.conftest import enroll
from tests.conftest import resident

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "packet_v1"
FIXTURE_V2 = Path(__file__).resolve().parent.parent / "fixtures" / "packet_v2"
RECORD = "0b6f6c1e-8a4e-4a43-9f7a-0d2c1c1f0002"
STATION = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"framing test station").digest())
CENTRAL = X25519PrivateKey.from_private_bytes(hashlib.sha256(b"framing test central").digest())


def _seal(content: bytes) -> bytes:
    return seal(content, record_id=RECORD, station_id="ST-01", submission=1, station_key=STATION,
                central_key=CENTRAL.public_key())


def _open(blob: bytes) -> dict:  # type: ignore[type-arg]
    return open_packet(blob, station_key=lambda sid: STATION.public_key() if sid == "ST-01" else None,
                       central_key=CENTRAL).content


def _meta(samples: list[dict], parts: list[bytes]) -> dict:  # type: ignore[type-arg]
    return {"format": FRAMED_FORMAT, "record_id": RECORD, "station_id": "ST-01", "identity": {"nik": "3201015705900001"},
            "samples": [{**s, "sha256": hashlib.sha256(p).hexdigest(), "length": len(p)} for s, p in zip(samples, parts)]}


def test_a_station_record_is_sealed_as_version_3_with_its_samples_as_raw_bytes(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(1))
    content = build_content(st.store, rid, st.id)
    stored = {(m.kind, m.position): st.store.sample_data(rid, m.kind, m.position) for m in st.store.samples(rid)}
    for data in stored.values():  # each sample's bytes appear as they are, not in base64
        assert data in content and base64.b64encode(data) not in content
    assert len(content) < sum(len(d) for d in stored.values()) + 4096  # the metadata is all it adds
    blob = seal(content, record_id=rid, station_id=st.id, submission=1, station_key=st.keys.signing,
                central_key=st.worker.sealing_key)
    assert read_header(blob).version == 3
    opened = central.registry.open(blob)
    assert {(s["kind"], s["position"]): s["data"] for s in opened.content["samples"]} == stored


@pytest.mark.parametrize("version", [2, 3])
def test_a_framed_packet_opens_with_every_sample_byte_for_byte(version: int) -> None:
    parts = [b"\xff\xd8face\x00\x22\\\"", b"", bytes(range(256)) * 40]
    samples = [{"kind": "face", "position": 0}, {"kind": "signature_points", "position": 0},
               {"kind": "finger", "position": 3}]
    blob = seal(frame_content(_meta(samples, parts), parts), record_id=RECORD, station_id="ST-01", submission=1,
                station_key=STATION, central_key=CENTRAL.public_key(), version=version)
    assert read_header(blob).version == version
    content = _open(blob)
    assert [s["data"] for s in content["samples"]] == parts
    assert [(s["kind"], s["position"]) for s in content["samples"]] == [("face", 0), ("signature_points", 0),
                                                                          ("finger", 3)]
    assert all("length" not in s for s in content["samples"])


@pytest.mark.parametrize("version", [1, 2])
def test_a_packet_sealed_by_an_older_version_still_opens(version: int) -> None:
    """The fixtures were sealed by the version 1 and version 2 code (tests/fixtures/packet_v1/ and
    packet_v2/README.md)."""
    fixture = {1: FIXTURE, 2: FIXTURE_V2}[version]
    blob = (fixture / "packet.kpkt").read_bytes()
    expected = json.loads((fixture / "samples.json").read_text())
    seed = lambda who: hashlib.sha256(f"kiosk test {who} v{version} packet".encode()).digest()  # noqa: E731
    station = Ed25519PrivateKey.from_private_bytes(seed("station"))
    central = X25519PrivateKey.from_private_bytes(seed("central"))
    assert read_header(blob).version == version
    opened = open_packet(blob, station_key=lambda sid: station.public_key() if sid == f"ST-V{version}" else None,
                         central_key=central)
    assert opened.header.record_id == expected["record_id"]
    got = [(s["kind"], s["position"], hashlib.sha256(s["data"]).hexdigest()) for s in opened.content["samples"]]
    assert got == [(s["kind"], s["position"], s["sha256"]) for s in expected["samples"]]
    if version == 1:
        assert opened.content["identity"]["nik"] == "3201015705900001"


def test_a_version_1_packet_sealed_now_opens_too() -> None:
    data = b"\xff\xa0wsq"
    content = canonical_json({"format": CONTENT_FORMAT, "record_id": RECORD, "station_id": "ST-01", "identity": {},
                              "samples": [{"kind": "finger", "position": 1, "sha256": hashlib.sha256(data).hexdigest(),
                                           "data": base64.b64encode(data).decode()}]})
    blob = _seal(content)
    assert read_header(blob).version == 1
    assert _open(blob)["samples"][0]["data"] == data


@pytest.mark.parametrize("sealed_as, relabelled", [(2, 1), (3, 2), (2, 3), (3, 1)])
def test_a_changed_version_byte_breaks_the_signature(sealed_as: int, relabelled: int) -> None:
    """The version byte is signed (directly, or in the hashed bytes of version 3), so a packet
    cannot be passed off as another version, whose signature covers other bytes."""
    parts = [b"abc"]
    blob = bytearray(seal(frame_content(_meta([{"kind": "face", "position": 0}], parts), parts), record_id=RECORD,
                          station_id="ST-01", submission=1, station_key=STATION, central_key=CENTRAL.public_key(),
                          version=sealed_as))
    blob[4] = relabelled
    with pytest.raises(PacketError) as err:
        _open(bytes(blob))
    assert err.value.code == "packet.signature"


def test_a_version_3_signature_covers_the_packet_sha256_under_its_domain_prefix() -> None:
    """What the station signs is PREHASH_DOMAIN + SHA-256(every byte before the signature), and
    the upload checksum sealed() returns is the SHA-256 of the whole packet (one pass for both)."""
    parts = [b"face bytes"]
    out = sealed(frame_content(_meta([{"kind": "face", "position": 0}], parts), parts), record_id=RECORD,
                 station_id="ST-01", submission=1, station_key=STATION, central_key=CENTRAL.public_key())
    body, signature = out.blob[:-64], out.blob[-64:]
    STATION.public_key().verify(signature, PREHASH_DOMAIN + hashlib.sha256(body).digest())  # raises if not
    assert out.sha256 == hashlib.sha256(out.blob).hexdigest()
    assert digest_packet(out.blob) == PacketDigest(hashlib.sha256(body).digest(), out.sha256)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(position=st.integers(0, 400), flip=st.integers(1, 255))
def test_any_byte_changed_in_a_version_3_packet_is_refused(position: int, flip: int) -> None:
    """The signature covers a digest, and still every byte: header, ciphertext or signature."""
    parts = [bytes(range(200))]
    blob = bytearray(_seal(frame_content(_meta([{"kind": "finger", "position": 1}], parts), parts)))
    at = position % len(blob)
    blob[at] ^= flip
    with pytest.raises(PacketError):
        _open(bytes(blob))


def test_a_framed_sample_whose_bytes_differ_from_its_hash_is_refused_as_tampered() -> None:
    parts = [b"the real face"]
    meta = _meta([{"kind": "face", "position": 0}], parts)
    blob = _seal(frame_content(meta, [b"another face!"]))  # same length, other bytes
    with pytest.raises(PacketError) as err:
        _open(blob)
    assert err.value.code == "packet.tampered"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.binary(max_size=300), max_size=5), cut=st.integers(-40, 40),
       lengths=st.lists(st.one_of(st.integers(-3, 400), st.text(max_size=3), st.none()), max_size=5))
def test_framed_content_that_does_not_add_up_is_malformed_never_a_crash(parts: list[bytes], cut: int,
                                                                         lengths: list[object]) -> None:
    """Signed and sealed by the station itself, so only the frame can be wrong: lengths that do
    not match the parts, bytes cut off or left over. Each is a typed refusal."""
    meta = _meta([{"kind": "finger", "position": i + 1} for i in range(len(parts))], parts)
    for s, n in zip(meta["samples"], lengths):
        s["length"] = n
    framed = frame_content(meta, parts)
    framed = framed[:len(framed) + cut] if cut < 0 else framed + b"\x00" * cut
    honest = cut == 0 and all(type(n) is int and n == len(p) for n, p in zip(lengths, parts))
    try:
        content = _open(_seal(framed))
    except PacketError as exc:
        assert exc.code in ("packet.malformed", "packet.tampered")
        assert not honest
    else:
        assert honest
        assert [s["data"] for s in content["samples"]] == parts
