"""Sealed enrollment packets: what a station sends the central for one record.

Layout (docs/packet-format.md has the full description)::

    b"KPKT" | version (1 byte) | header length (4 bytes, big endian) | header (canonical JSON)
            | ciphertext (AES-256-GCM, tag included) | Ed25519 signature (64 bytes)

The header names the record, the station, the submission number and the ephemeral X25519
public key; the content key is HKDF-SHA256 of the ECDH secret between that ephemeral key and
the central's X25519 key. The header is the AEAD's associated data, and the station's
Ed25519 signature covers every byte before it. The ephemeral private key is dropped at once,
so the station itself cannot read a sealed packet back.

Version 2 frames the content in binary: the record's metadata as
canonical JSON, then each sample's bytes as they are (their lengths in the metadata), so the
samples (a few hundred KB of WSQ, JPEG and ISO records) are neither base64-encoded nor
JSON-escaped, by the station or the central. Version 1 (the content one JSON document, the
samples in base64) is still opened: packets sealed before the upgrade, or on a stick.

Version 3 (what stations seal now) frames the content as version 2 does, and the station signs
the SHA-256 of the packet's bytes (domain-separated, :data:`PREHASH_DOMAIN`) instead of the bytes
themselves. Ed25519 hashes its whole message twice with SHA-512 (RFC 8032 §5.1.6), so signing a
200 KB packet took ~0.7 ms and verifying it ~0.45 ms per record; over the 32-byte digest both
cost ~0.05 ms, plus one SHA-256 pass (~0.1 ms) that also yields the upload's SHA-256
(:func:`digest_packet`: the same pass, continued over the signature). Every byte is still
covered: changing one changes the digest. Precedent: minisign's prehashed "ED" signatures
(Ed25519 over the BLAKE2b-512 of the file, https://jedisct1.github.io/minisign/) and RFC 8032's
Ed25519ph; ours uses SHA-256 because the upload protocol checks the packet's SHA-256 anyway.
The domain prefix keeps a version 3 signature from passing as a signature over other bytes (the
gap minisign's prehashed mode had, jedisct1/minisign#104), and the version byte is in the hashed
bytes, so a packet cannot be relabelled version 2 or 3 without its signature failing.
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
#: the version stations seal (framed content, prehashed signature); VERSIONS are those the central opens
VERSION = 3
VERSIONS = (1, 2, 3)
#: what a version 3 signature covers: this prefix, then SHA-256 of every byte before the signature
PREHASH_DOMAIN = b"kiosk packet v3 sha256\x00"
ALG = "X25519-HKDF-SHA256-AES256GCM+Ed25519"
#: content format of a version 1 packet (one JSON document, samples in base64)
CONTENT_FORMAT = "kiosk-packet-content/1"
#: content format of a version 2 or 3 packet (:func:`frame_content`)
FRAMED_FORMAT = "kiosk-packet-content/2"
#: first bytes of framed content: how :func:`seal` knows it seals a framed (version 3) packet
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


@dataclass(frozen=True)
class Sealed:
    """A sealed packet and the SHA-256 (hex) of all its bytes, the upload's checksum."""

    blob: bytes
    sha256: str


@dataclass(frozen=True)
class PacketDigest:
    """One SHA-256 pass over a packet (:func:`digest_packet`): of the signed part, what a
    version 3 signature covers, and of the whole packet, what the upload protocol checks."""

    signed: bytes
    sha256: str


def digest_packet(blob: bytes) -> PacketDigest:
    """Both digests of a packet in one pass over its bytes (the hash of the signed part is
    continued over the 64-byte signature for the whole packet's)."""
    h = hashlib.sha256(memoryview(blob)[:-SIG_LEN] if len(blob) >= SIG_LEN else b"")
    signed = h.digest()
    h.update(memoryview(blob)[-SIG_LEN:] if len(blob) >= SIG_LEN else blob)
    return PacketDigest(signed, h.hexdigest())


def seal(content: bytes, *, record_id: str, station_id: str, submission: int, station_key: Ed25519PrivateKey,
         central_key: X25519PublicKey, created_at: str | None = None, version: int | None = None) -> bytes:
    """Encrypt ``content`` to the central and sign the whole packet with the station key.

    ``content`` framed by :func:`frame_content` makes a version 3 packet; a JSON document (the
    old content) a version 1 packet, as stations sealed before version 2. ``version=2`` seals
    framed content as stations did before version 3 (tests of old packets)."""
    return sealed(content, record_id=record_id, station_id=station_id, submission=submission,
                  station_key=station_key, central_key=central_key, created_at=created_at, version=version).blob


def sealed(content: bytes, *, record_id: str, station_id: str, submission: int, station_key: Ed25519PrivateKey,
           central_key: X25519PublicKey, created_at: str | None = None, version: int | None = None) -> Sealed:
    """:func:`seal`, with the packet's SHA-256 computed in the same pass as its signature."""
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
    framed = content[:len(FRAMED_MAGIC)] == FRAMED_MAGIC
    if version is None:
        version = VERSION if framed else 1
    if version not in VERSIONS or (version == 1) == framed:
        raise ValueError(f"cannot seal this content as version {version}")
    body = b"".join((_PREFIX.pack(MAGIC, version, len(header)), header, AESGCM(key).encrypt(nonce, content, header)))
    h = hashlib.sha256(body)
    signature = station_key.sign(PREHASH_DOMAIN + h.digest() if version >= 3 else body)
    h.update(signature)
    return Sealed(b"".join((body, signature)), h.hexdigest())


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
                central_key: X25519PrivateKey, digest: PacketDigest | None = None) -> OpenedPacket:
    """Verify the station's signature, then decrypt. Raises :class:`PacketError` with a code:
    packet.malformed, packet.unknown_station, packet.signature, packet.recipient, packet.tampered.

    ``digest``: :func:`digest_packet` of this very ``blob``, when the caller computed it already
    (the central checks the upload's SHA-256 first), so the bytes are hashed once."""
    header = read_header(blob)
    pub = station_key(header.station_id)
    if pub is None:
        raise PacketError("packet.unknown_station", station=header.station_id)
    body, signature = memoryview(blob)[:-SIG_LEN], blob[-SIG_LEN:]  # a view: the packet is not copied
    try:
        if header.version >= 3:
            signed = (digest or digest_packet(blob)).signed
            pub.verify(signature, PREHASH_DOMAIN + signed)
        else:
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
    content = read_framed_content(plain) if header.version >= 2 else _json_content(plain)
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
    """Version 2 and 3 content: ``FRAMED_MAGIC | u32 metadata length | metadata | parts``, where the
    metadata (canonical JSON) lists the samples with their ``length`` and the parts are the
    samples' bytes back to back, in that order."""
    head = canonical_json(meta)
    return b"".join((_FRAME.pack(FRAMED_MAGIC, len(head)), head, *parts))


def read_framed_content(plain: bytes) -> dict[str, Any]:
    """Version 2 and 3 content: each sample's ``data`` is its part of the frame; the parts must
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
    """The packet's clear content for one station record (framed, :func:`frame_content`):
    identity, every sample with its metadata, finger and iris exceptions. ``store`` is a
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
        "iris_exceptions": [{"eye": e.eye, "reason": e.reason, "approved_by": e.approved_by}
                            for e in store.iris_exceptions(record_id)],
    }, parts)
