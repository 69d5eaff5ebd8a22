"""Request signatures: every call a station makes to the central is signed with its Ed25519 key.

Headers: ``X-Kiosk-Station`` (station id), ``X-Kiosk-Time`` (Unix seconds) and
``X-Kiosk-Signature`` (base64 Ed25519) over the four lines::

    METHOD
    /path?query        (exactly as sent)
    TIME
    hex SHA-256 of the body (of b"" when there is none)

A chunk of a resumable upload (PATCH /v1/uploads/...) is signed over ``chunk:OFFSET:LENGTH``
instead of its body's hash (:func:`chunk_digest`), as tus's PATCH is authenticated by its
headers: the central can then keep the bytes of a chunk the link cut half-way and the
station resumes from the byte where it was cut. The bytes themselves are checked once, when
the upload completes: their SHA-256 must be the packet hash the station signed when it
created the upload (and the packet carries the station's own signature inside).

The central refuses an unknown station, a bad signature and a time more than
``MAX_SKEW_S`` away from its own clock. Replaying a captured request within that window
gains nothing: every operation is idempotent (an upload of the same record is never stored
twice; the packet itself carries its own signature).
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import KioskError

H_STATION = "X-Kiosk-Station"
H_TIME = "X-Kiosk-Time"
H_SIGNATURE = "X-Kiosk-Signature"
MAX_SKEW_S = 300


class AuthError(KioskError):
    code = "auth.invalid"


def chunk_digest(offset: int, length: int) -> str:
    """What a chunk's signature covers in place of the body hash (see the module docstring)."""
    return f"chunk:{offset}:{length}"


def message(method: str, target: str, ts: str, body: bytes, digest: str | None = None) -> bytes:
    digest = digest if digest is not None else hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{target}\n{ts}\n{digest}".encode()


def sign_headers(key: Ed25519PrivateKey, station_id: str, method: str, target: str, body: bytes,
                 now: float | None = None, digest: str | None = None) -> dict[str, str]:
    ts = str(int(now if now is not None else time.time()))
    sig = base64.b64encode(key.sign(message(method, target, ts, body, digest))).decode()
    return {H_STATION: station_id, H_TIME: ts, H_SIGNATURE: sig}


def verify_headers(headers: Any, method: str, target: str, body: bytes,
                   lookup: Callable[[str], Ed25519PublicKey | None], now: float | None = None,
                   digest: str | None = None) -> str:
    """The authenticated station id, or :class:`AuthError` (auth.missing, auth.unknown_station,
    auth.signature, auth.clock). ``headers``: anything with ``.get(name)``."""
    station, ts, sig = headers.get(H_STATION), headers.get(H_TIME), headers.get(H_SIGNATURE)
    if not station or not ts or not sig:
        raise AuthError("auth.missing")
    key = lookup(station)
    if key is None:
        raise AuthError("auth.unknown_station", station=station)
    try:
        skew = abs(int(ts) - (now if now is not None else time.time()))
        key.verify(base64.b64decode(sig, validate=True), message(method, target, ts, body, digest))
    except (InvalidSignature, ValueError):
        raise AuthError("auth.signature", station=station) from None
    if skew > MAX_SKEW_S:
        raise AuthError("auth.clock", station=station, skew_s=int(skew))
    return station
