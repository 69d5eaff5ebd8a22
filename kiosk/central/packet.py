"""Sealed enrollment packets: what a station sends the central for one record.

Layout (docs/packet-format.md has the full description)::

    b"KPKT" | version (1 byte) | header length (4 bytes, big endian) | header (canonical JSON)
            | ciphertext (AES-256-GCM, tag included) | Ed25519 signature (64 bytes)

The header names the record, the station, the submission number and the ephemeral X25519
public key; the content key is HKDF-SHA256 of the ECDH secret between that ephemeral key and
the central's X25519 key. The header is the AEAD's associated data, and the station's
Ed25519 signature covers every byte before it. The ephemeral private key is dropped at once,
so the station itself cannot read a sealed packet back.

Version 2 (what stations seal now) frames the content in binary: the record's metadata as
canonical JSON, then each sample's bytes as they are (their lengths in the metadata), so the
samples (a few hundred KB of WSQ, JPEG and ISO records) are neither base64-encoded nor
JSON-escaped, by the station or the central. Version 1 (the content one JSON document, the
samples in base64) is still opened: packets sealed before the upgrade, or on a stick.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass
from typing import Any, Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kiosk.central.permit import canonical_json
from kiosk.errors import KioskError

MAGIC = b"KPKT"
#: the version stations seal (framed content); VERSIONS are those the central opens
VERSION = 2
VERSIONS = (1, 2)
ALG = "X25519-HKDF-SHA256-AES256GCM+Ed25519"
#: content format of a version 1 packet (one JSON document, samples in base64)
CONTENT_FORMAT = "kiosk-packet-content/1"
#: content format of a version 2 packet (:func:`frame_content`)
FRAMED_FORMAT = "kiosk-packet-content/2"
#: first bytes of framed content: how :func:`seal` knows which packet version it seals
FRAMED_MAGIC = b"KPC2"
SIG_LEN = 64
_PREFIX = struct.Struct(">4sBI")
_FRAME = struct.Struct(">4sI")


class PacketError(KioskError):
    """The central refused a packet; ``code`` says why (packet.signature, packet.tampered ...)."""

    code = "packet.invalid"


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: X25519PublicKey) -> str:
    """Short name of a sealing key: the first 16 hex digits of SHA-256 of its raw bytes."""
    return hashlib.sha256(_raw(key)).hexdigest()[:16]


def _content_key(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"kiosk packet v1" + epk + recipient).derive(shared)


def seal(content: bytes, *, record_id: str, station_id: str, submission: int, station_key: Ed25519PrivateKey,
         central_key: X25519PublicKey, created_at: str | None = None) -> bytes:
    """Encrypt ``content`` to the central and sign the whole packet with the station key.

    ``content`` framed by :func:`frame_content` makes a version 2 packet; a JSON document (the
    old content) a version 1 packet, as stations sealed before version 2."""
    ephemeral = X25519PrivateKey.generate()
    epk = _raw(ephemeral.public_key())
    key = _content_key(ephemeral.exchange(central_key), epk, _raw(central_key))
    del ephemeral  # never stored: only the central can open the packet
    nonce = secrets.token_bytes(12)
    header = canonical_json({
        "alg": ALG,
        "record_id": record_id,
        "station_id": station_id,
        "submission": submission,
        "created_at": created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "recipient": key_id(central_key),
        "epk": base64.b64encode(epk).decode(),
        "nonce": base64.b64encode(nonce).decode(),
    })
    version = 2 if content[:len(FRAMED_MAGIC)] == FRAMED_MAGIC else 1
    body = b"".join((_PREFIX.pack(MAGIC, version, len(header)), header, AESGCM(key).encrypt(nonce, content, header)))
    return b"".join((body, station_key.sign(body)))


@dataclass(frozen=True)
class PacketHeader:
    version: int
    record_id: str
    station_id: str
    submission: int
    created_at: str
    recipient: str
    epk: bytes
    nonce: bytes
    raw: bytes


def read_header(blob: bytes) -> PacketHeader:
    """The packet's clear header (not yet verified: see :func:`open_packet`)."""
    if len(blob) < _PREFIX.size + SIG_LEN:
        raise PacketError("packet.malformed", reason="short")
    magic, version, hlen = _PREFIX.unpack_from(blob)
    if magic != MAGIC:
        raise PacketError("packet.malformed", reason="magic")
    if version not in VERSIONS:
        raise PacketError("packet.version", version=version)
    raw = blob[_PREFIX.size:_PREFIX.size + hlen]
    if len(raw) != hlen or _PREFIX.size + hlen + 16 + SIG_LEN > len(blob):
        raise PacketError("packet.malformed", reason="header length")
    try:
        h = json.loads(raw)
        if h.get("alg") != ALG:
            raise PacketError("packet.malformed", reason="alg")
        return PacketHeader(version, str(h["record_id"]), str(h["station_id"]), int(h["submission"]), str(h["created_at"]),
                            str(h["recipient"]), base64.b64decode(h["epk"], validate=True),
                            base64.b64decode(h["nonce"], validate=True), raw)
    except (ValueError, KeyError, TypeError):
        raise PacketError("packet.malformed", reason="header") from None


@dataclass(frozen=True)
class OpenedPacket:
    header: PacketHeader
    content: dict[str, Any]


def open_packet(blob: bytes, *, station_key: Callable[[str], Ed25519PublicKey | None],
                central_key: X25519PrivateKey) -> OpenedPacket:
    """Verify the station's signature, then decrypt. Raises :class:`PacketError` with a code:
    packet.malformed, packet.unknown_station, packet.signature, packet.recipient, packet.tampered."""
    header = read_header(blob)
    pub = station_key(header.station_id)
    if pub is None:
        raise PacketError("packet.unknown_station", station=header.station_id)
    body, signature = memoryview(blob)[:-SIG_LEN], blob[-SIG_LEN:]  # a view: the packet is not copied
    try:
        pub.verify(signature, body)
    except InvalidSignature:
        raise PacketError("packet.signature", station=header.station_id, record=header.record_id) from None
    recipient = central_key.public_key()
    if header.recipient != key_id(recipient):
        raise PacketError("packet.recipient", recipient=header.recipient)
    key = _content_key(central_key.exchange(X25519PublicKey.from_public_bytes(header.epk)), header.epk,
                       _raw(recipient))
    start = _PREFIX.size + len(header.raw)
    try:
        plain = AESGCM(key).decrypt(header.nonce, body[start:], header.raw)
    except InvalidTag:
        raise PacketError("packet.tampered", record=header.record_id) from None
    content = read_framed_content(plain) if header.version == 2 else _json_content(plain)
    if content.get("record_id") != header.record_id or content.get("station_id") != header.station_id:
        raise PacketError("packet.malformed", reason="content")
    for s in content["samples"]:
        if hashlib.sha256(s["data"]).hexdigest() != s.get("sha256"):
            raise PacketError("packet.tampered", record=header.record_id)
    return OpenedPacket(header, content)


def _json_content(plain: bytes) -> dict[str, Any]:
    """Version 1 content: one JSON document, each sample's ``data`` in base64 (decoded here,
    so an opened packet's samples hold bytes whatever its version)."""
    try:
        content = json.loads(plain)
        if not isinstance(content, dict) or content.get("format") != CONTENT_FORMAT:
            raise ValueError("format")
        samples = content.get("samples", [])
        if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
            raise ValueError("samples")
        for s in samples:
            s["data"] = base64.b64decode(s["data"], validate=True)
        content["samples"] = samples
    except (ValueError, KeyError, TypeError):
        raise PacketError("packet.malformed", reason="content") from None
    return content


def frame_content(meta: dict[str, Any], parts: list[bytes]) -> bytes:
    """Version 2 content: ``FRAMED_MAGIC | u32 metadata length | metadata | parts``, where the
    metadata (canonical JSON) lists the samples with their ``length`` and the parts are the
    samples' bytes back to back, in that order."""
    head = canonical_json(meta)
    return b"".join((_FRAME.pack(FRAMED_MAGIC, len(head)), head, *parts))


def read_framed_content(plain: bytes) -> dict[str, Any]:
    """Version 2 content: each sample's ``data`` is its part of the frame; the parts must
    fill the rest of the content exactly."""
    try:
        magic, hlen = _FRAME.unpack_from(plain)
        if magic != FRAMED_MAGIC or _FRAME.size + hlen > len(plain):
            raise ValueError("frame")
        content = json.loads(plain[_FRAME.size:_FRAME.size + hlen])
        if not isinstance(content, dict) or content.get("format") != FRAMED_FORMAT:
            raise ValueError("format")
        samples = content.get("samples", [])
        if not isinstance(samples, list) or not all(isinstance(s, dict) for s in samples):
            raise ValueError("samples")
        pos = _FRAME.size + hlen
        for s in samples:
            n = s.pop("length")
            if type(n) is not int or n < 0 or pos + n > len(plain):
                raise ValueError("length")
            s["data"] = plain[pos:pos + n]
            pos += n
        if pos != len(plain):
            raise ValueError("trailing bytes")
        content["samples"] = samples
    except (ValueError, KeyError, TypeError, struct.error):
        raise PacketError("packet.malformed", reason="content") from None
    return content


def sample_bytes(sample: dict[str, Any]) -> bytes:
    """The bytes of one sample of an opened packet (:func:`open_packet` decoded them)."""
    data: bytes = sample["data"]
    return data


def build_content(store: Any, record_id: str, station_id: str) -> bytes:
    """The packet's clear content for one station record (version 2, :func:`frame_content`):
    identity, every sample with its metadata, finger exceptions. ``store`` is a
    :class:`kiosk.store.RecordStore`."""
    rec = store.get(record_id)
    samples, parts = [], []
    for meta in store.samples(record_id):
        data = store.sample_data(record_id, meta.kind, meta.position)
        samples.append({
            "kind": meta.kind, "position": meta.position, "format": meta.format, "quality": meta.quality,
            "metadata": meta.metadata, "captured_at": meta.captured_at,
            "sha256": hashlib.sha256(data).hexdigest(), "length": len(data),
        })
        parts.append(data)
    return frame_content({
        "format": FRAMED_FORMAT,
        "record_id": record_id,
        "station_id": station_id,
        "created_at": rec.created_at,
        "created_by": rec.created_by,
        "identity": store.identity(record_id).to_dict(),
        "samples": samples,
        "finger_exceptions": [{"position": e.position, "reason": e.reason, "approved_by": e.approved_by}
                              for e in store.exceptions(record_id)],
    }, parts)
