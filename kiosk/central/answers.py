"""Signed answers: what the central tells a station that changes the station's state.

A decision (approved / rejected / duplicate), the answer to a deletion request and the
answer to a reprint request are each signed with the central's Ed25519 key, the same key
that signs print permits and that the station pins (:mod:`kiosk.central.pinning`). The
signature covers the canonical JSON (:func:`kiosk.central.permit.canonical_json`) of the
whole answer except its ``signature`` field, including ``kind`` (so a deletion answer
cannot pass for a decision), ``v`` and ``station_id`` (so an answer for one station cannot
be replayed to another). docs/sync.md ("Signed answers") describes the fields.

The station applies nothing that does not verify (:func:`verify_answer`): a fake central,
or anyone on the path, can at worst withhold answers, never move a record.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.central.permit import canonical_json
from kiosk.errors import KioskError

ANSWER_VERSION = 1
AnswerKind = Literal["decision", "deletion", "reprint"]


class AnswerError(KioskError):
    """An answer from the central the station will not apply; ``code`` says why
    (answer.malformed, answer.kind, answer.station, answer.signature)."""

    code = "answer.invalid"

    def __init__(self, code: str | None = None, /, *, raw: Any = None, **params: Any) -> None:
        super().__init__(code, **params)
        #: the answer as received, for the quarantine's digest only (never logged: it may hold
        #: personal data, and it is not in ``params``)
        self.raw = raw


def sign_answer(key: Ed25519PrivateKey, kind: AnswerKind, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` plus ``kind``, ``v`` and the base64 Ed25519 ``signature`` over the rest."""
    payload = {**body, "kind": kind, "v": ANSWER_VERSION}
    payload.pop("signature", None)
    return {**payload, "signature": base64.b64encode(key.sign(canonical_json(payload))).decode()}


def verify_answer(key: Ed25519PublicKey, kind: AnswerKind, answer: Any, *, station_id: str) -> dict[str, Any]:
    """The answer's fields when it is a ``kind`` answer for ``station_id`` signed by ``key``;
    else :class:`AnswerError`. Checks the signature only: the caller validates the fields."""
    if not isinstance(answer, dict):
        raise AnswerError("answer.malformed", kind=kind)
    signature = answer.get("signature")
    if not isinstance(signature, str):
        raise AnswerError("answer.malformed", kind=kind, field="signature")
    payload = {k: v for k, v in answer.items() if k != "signature"}
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical_json(payload))
    except (InvalidSignature, ValueError, TypeError):
        raise AnswerError("answer.signature", kind=kind) from None
    if payload.get("kind") != kind or payload.get("v") != ANSWER_VERSION:
        raise AnswerError("answer.kind", kind=kind)
    if payload.get("station_id") != station_id:
        raise AnswerError("answer.station", kind=kind)
    return payload
