"""Reading a permit document the central sent: every field checked for its JSON type and form.

A permit arrives as JSON (with an approval decision, in answer to a reprint request, or read
back from ``print_permits``). Anything that is not exactly a version-1 permit is refused with
:class:`MalformedPermit` (a PermitError, code ``permit.bad.<problem>``) naming the field and what is
wrong with it, never a TypeError/ValueError further down (a signature ``5`` used to reach
``base64.b64decode``, a naive ``issued_at`` used to be compared with an aware clock).

The rules follow the permit the central issues (:meth:`kiosk.central.permit.PrintPermit.issue`):
ids and hashes are non-empty strings, ``card_hash`` is 64 lowercase hex digits (SHA-256),
``signature`` is base64 of a 64-byte Ed25519 signature, timestamps are ISO 8601 with a UTC
offset (RFC 3339 ``date-time`` requires one), ``version`` is the integer 1 (JSON ``true`` is not).
Whether the signature verifies is :meth:`PrintPermit.verify`'s business, after this.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from kiosk.central.permit import VERSION, PermitError, PrintPermit

TEXT_FIELDS = ("permit_id", "record_id", "station_id")
TIME_FIELDS = ("issued_at", "expires_at")
FIELDS = (*TEXT_FIELDS, "card_hash", *TIME_FIELDS, "signature", "version")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: the longest id we keep (a UUID is 36); anything longer is not the central's
MAX_ID = 128


class MalformedPermit(PermitError):
    """A permit document that is not a well-formed version-1 permit. The code names the problem
    (``permit.bad.not_text``, ``permit.bad.no_utc_offset`` ...); ``field`` names the field."""

    code = "permit.bad.document"


def malformed(field: str, problem: str) -> MalformedPermit:
    return MalformedPermit(f"permit.bad.{problem}", field=field, problem=problem)


def parse_timestamp(value: object, field: str) -> dt.datetime:
    """An ISO 8601 timestamp with a UTC offset; naive times are refused (whose clock?)."""
    if not isinstance(value, str):
        raise malformed(field, "not_text")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise malformed(field, "not_a_time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise malformed(field, "no_utc_offset")
    return when


def parse_permit(doc: object) -> PrintPermit:
    """The permit in ``doc`` (a decoded JSON object), or :class:`MalformedPermit`."""
    if not isinstance(doc, dict):
        raise malformed("permit", "not_an_object")
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        raise malformed(missing[0], "missing")
    for name in TEXT_FIELDS:
        value = doc[name]
        if not isinstance(value, str):
            raise malformed(name, "not_text")
        if not value.strip() or len(value) > MAX_ID:
            raise malformed(name, "bad_length")
    if not isinstance(doc["card_hash"], str) or not _HEX64.fullmatch(doc["card_hash"]):
        raise malformed("card_hash", "not_sha256")
    issued, expires = (parse_timestamp(doc[f], f) for f in TIME_FIELDS)
    if expires <= issued:
        raise malformed("expires_at", "before_issue")
    signature = doc["signature"]
    if not isinstance(signature, str):
        raise malformed("signature", "not_text")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise malformed("signature", "not_base64") from None
    if len(raw) != 64:
        raise malformed("signature", "bad_length")
    version = doc["version"]
    if type(version) is not int:  # bool is an int subclass; JSON true is no version
        raise malformed("version", "not_integer")
    if version != VERSION:
        raise PermitError("permit.version", version=version)
    return PrintPermit(permit_id=doc["permit_id"], record_id=doc["record_id"], station_id=doc["station_id"],
                       card_hash=doc["card_hash"], issued_at=doc["issued_at"], expires_at=doc["expires_at"],
                       signature=signature, version=version)


def permit_fields(doc: Any) -> dict[str, str]:
    """What can be said about a refused document in an audit row (strings, bounded)."""
    if not isinstance(doc, dict):
        return {}
    return {k: str(doc.get(k))[:MAX_ID] for k in ("permit_id", "record_id") if k in doc}
