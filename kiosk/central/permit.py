"""PrintPermit: the central's signed "yes, print exactly this card" for one record.

Signed with the central's Ed25519 key over a canonical JSON body. The station pins the
central's public key in config.toml; a permit is accepted only for this station, this record,
the exact card data to print (SHA-256 of its canonical form), within its validity window.
Whether a permit was already used is the print gate's business (kiosk.printer), recorded in
the same transaction that starts the print.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import KioskError

VERSION = 1


class PermitError(KioskError):
    """A permit was refused; ``code`` says why (permit.signature, permit.expired, ...)."""

    code = "permit.invalid"


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def card_data_hash(card_data: dict[str, Any]) -> str:
    """SHA-256 over the canonical form of exactly what will be printed on the card."""
    return hashlib.sha256(canonical_json(card_data)).hexdigest()


@dataclass(frozen=True)
class PrintPermit:
    permit_id: str
    record_id: str
    station_id: str
    card_hash: str
    issued_at: str  # ISO 8601 UTC
    expires_at: str
    signature: str = ""  # base64 Ed25519 over body()
    version: int = VERSION

    def body(self) -> bytes:
        d = asdict(self)
        d.pop("signature")
        return canonical_json(d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PrintPermit":
        try:
            return cls(**{k: d[k] for k in ("permit_id", "record_id", "station_id", "card_hash", "issued_at",
                                            "expires_at", "signature", "version")})
        except (KeyError, TypeError):
            raise PermitError("permit.malformed") from None

    @classmethod
    def issue(cls, key: Ed25519PrivateKey, *, permit_id: str, record_id: str, station_id: str, card_hash: str,
              valid_for: dt.timedelta = dt.timedelta(days=30), now: dt.datetime | None = None) -> "PrintPermit":
        now = now or dt.datetime.now(dt.timezone.utc)
        unsigned = cls(permit_id, record_id, station_id, card_hash, now.isoformat(), (now + valid_for).isoformat())
        sig = base64.b64encode(key.sign(unsigned.body())).decode()
        return cls(**{**asdict(unsigned), "signature": sig})

    def verify(self, central_key: Ed25519PublicKey, *, station_id: str, record_id: str, card_hash: str,
               now: dt.datetime | None = None) -> None:
        """Raise PermitError unless this permit authorises exactly this card, here, now."""
        try:
            central_key.verify(base64.b64decode(self.signature, validate=True), self.body())
        except (InvalidSignature, ValueError):
            raise PermitError("permit.signature", permit_id=self.permit_id) from None
        if self.version != VERSION:
            raise PermitError("permit.version", version=self.version)
        if self.station_id != station_id:
            raise PermitError("permit.station", permit_station=self.station_id, station=station_id)
        if self.record_id != record_id:
            raise PermitError("permit.record", permit_record=self.record_id, record=record_id)
        if self.card_hash != card_hash:
            raise PermitError("permit.card_data", record=record_id)
        now = now or dt.datetime.now(dt.timezone.utc)
        try:
            issued, expires = dt.datetime.fromisoformat(self.issued_at), dt.datetime.fromisoformat(self.expires_at)
        except ValueError:
            raise PermitError("permit.malformed") from None
        if now < issued - dt.timedelta(minutes=5):  # small allowance for clock skew
            raise PermitError("permit.not_yet_valid", issued_at=self.issued_at)
        if now >= expires:
            raise PermitError("permit.expired", expires_at=self.expires_at)
