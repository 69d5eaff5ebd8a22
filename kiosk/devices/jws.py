"""Compact JWS verification with an X.509 certificate carried in the header (``x5c``), as SBI uses.

An SBI device signs ``deviceInfo``, ``digitalId`` and every biometric's ``data`` as
``base64url(header).base64url(payload).base64url(signature)`` where the header is
``{"alg": "RS256", "typ": "JWT", "x5c": ["<base64 DER certificate>"]}``. The certificate must be
one the station trusts: pinned as is, or issued directly by a pinned CA (the device provider's).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class JwsError(ValueError):
    """Why a token was refused: ``reason`` is a short code (malformed, untrusted, bad_signature...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class VerifiedToken:
    header: dict[str, Any]
    payload: bytes
    certificate: x509.Certificate

    def json(self) -> Any:
        try:
            return json.loads(self.payload)
        except ValueError as exc:
            raise JwsError("malformed", f"payload is not JSON: {exc}") from None


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise JwsError("malformed", f"bad base64url: {exc}") from None


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_trusted(path: Path | None) -> tuple[x509.Certificate, ...]:
    """All certificates of a PEM file (device certificates or device-provider CAs)."""
    if path is None:
        return ()
    return tuple(x509.load_pem_x509_certificates(path.read_bytes()))


def _trusted(cert: x509.Certificate, trusted: tuple[x509.Certificate, ...], now: dt.datetime) -> bool:
    if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
        return False
    for anchor in trusted:
        if cert == anchor:
            return True
        try:
            cert.verify_directly_issued_by(anchor)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


def decode_unverified(token: str) -> tuple[dict[str, Any], bytes]:
    """Header and payload without any check (for logging and for unsigned SBI fields)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("malformed", f"{len(parts)} parts instead of 3")
    try:
        header = json.loads(b64url_decode(parts[0]))
    except ValueError as exc:
        raise JwsError("malformed", f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise JwsError("malformed", "header is not an object")
    return header, b64url_decode(parts[1])


def verify(token: str, trusted: tuple[x509.Certificate, ...], *, now: dt.datetime | None = None) -> VerifiedToken:
    """Check ``token``'s signature with its x5c certificate and that certificate's trust."""
    header, payload = decode_unverified(token)
    head_b64, payload_b64, sig_b64 = token.split(".")
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
        raise JwsError("malformed", "no x5c certificate in the header")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
        # cryptography parses fields lazily: touch the ones used below so a damaged
        # certificate is refused here, as malformed, and not with a stray ValueError later
        subject = cert.subject.rfc4514_string()
        _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.public_key())
    except (ValueError, binascii.Error, TypeError, x509.InvalidVersion, UnsupportedAlgorithm) as exc:
        raise JwsError("malformed", f"x5c certificate unreadable: {exc}") from None
    if not _trusted(cert, trusted, now or dt.datetime.now(dt.UTC)):
        raise JwsError("untrusted", subject)
    signature = b64url_decode(sig_b64)
    signed = f"{head_b64}.{payload_b64}".encode("ascii")
    alg = header.get("alg")
    key = cert.public_key()
    try:
        if alg == "RS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "PS256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        elif alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                raise InvalidSignature()
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        else:
            raise JwsError("unsupported_alg", f"{alg!r} with a {type(key).__name__}")
    except InvalidSignature:
        raise JwsError("bad_signature", subject) from None
    return VerifiedToken(header, payload, cert)
