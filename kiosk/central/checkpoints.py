"""A station's signed audit checkpoint, as the central receives and keeps it.

The body the station signs is :meth:`kiosk.ops.audit.Checkpoint.body` (canonical JSON of
seq, hash, entries, prev, signed_at, with ``"kind": "audit-checkpoint"``); the central
rebuilds it from the fields sent and checks the signature with the station's registered key.
Keeping the newest one per station anchors the station's trail outside the station: entries
cut from its tail show as missing against the central's copy (docs/sync.md).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.registry import CentralError
from kiosk.ops.audit import Checkpoint


def checkpoint_from_fields(d: Any) -> Checkpoint:
    if not isinstance(d, dict):
        raise CentralError("checkpoint.malformed", status=400)
    try:
        cp = Checkpoint(seq=d["seq"], hash=d["hash"], entries=d["entries"], prev=d["prev"],
                        signed_at=d["signed_at"], signature=d["signature"])
    except KeyError:
        raise CentralError("checkpoint.malformed", status=400) from None
    ints = (cp.seq, cp.entries, cp.prev)
    if not all(type(v) is int and v >= 0 for v in ints) or not all(
            isinstance(v, str) for v in (cp.hash, cp.signed_at, cp.signature)):
        raise CentralError("checkpoint.malformed", status=400)
    return cp


def verify_station_checkpoint(key: Ed25519PublicKey, d: Any) -> Checkpoint:
    """The checkpoint when its station signature verifies; else checkpoint.signature (422)."""
    cp = checkpoint_from_fields(d)
    try:
        key.verify(base64.b64decode(cp.signature, validate=True), cp.body())
    except (InvalidSignature, ValueError):
        raise CentralError("checkpoint.signature", status=422) from None
    return cp
