"""A small IPP/1.1 (RFC 8010/8011) encoder and decoder: enough to talk to a CUPS server over httpx.

Requests carry the operation attributes the CUPS scheduler needs; responses decode into
``{group_tag: [{name: [values...]}, ...]}``. Malformed responses raise :class:`IppError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

# operations
PRINT_JOB, CANCEL_JOB, GET_JOB_ATTRIBUTES, GET_PRINTER_ATTRIBUTES = 0x0002, 0x0008, 0x0009, 0x000B
# delimiter tags
OPERATION, JOB, END, PRINTER, UNSUPPORTED = 0x01, 0x02, 0x03, 0x04, 0x05
# value tags
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME = 0x41, 0x42, 0x44, 0x45, 0x47, 0x48, 0x49
BEG_COLLECTION, END_COLLECTION, MEMBER_NAME = 0x34, 0x37, 0x4A

JOB_STATES = {3: "pending", 4: "pending-held", 5: "processing", 6: "processing-stopped", 7: "canceled",
              8: "aborted", 9: "completed"}
PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}


class IppError(Exception):
    """The server's answer is not valid IPP."""


@dataclass
class IppResponse:
    version: tuple[int, int]
    status: int
    request_id: int
    groups: list[tuple[int, dict[str, list[Any]]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status < 0x0100  # successful-ok and its variants

    def first(self, group: int) -> dict[str, list[Any]]:
        return next((attrs for tag, attrs in self.groups if tag == group), {})

    def get(self, group: int, name: str, default: Any = None) -> Any:
        values = self.first(group).get(name)
        return values[0] if values else default


def _attr(tag: int, name: str, values: list[Any]) -> bytes:
    out = b""
    for i, value in enumerate(values):
        if tag in (INTEGER, ENUM):
            raw = struct.pack(">i", int(value))
        elif tag == BOOLEAN:
            raw = b"\x01" if value else b"\x00"
        else:
            raw = str(value).encode("utf-8")
        key = name.encode() if i == 0 else b""
        out += struct.pack(">BH", tag, len(key)) + key + struct.pack(">H", len(raw)) + raw
    return out


def encode_request(operation: int, request_id: int, attrs: list[tuple[int, str, Any]],
                   job_attrs: list[tuple[int, str, Any]] | None = None, data: bytes = b"") -> bytes:
    body = struct.pack(">BBHi", 1, 1, operation, request_id) + bytes([OPERATION])
    base = [(CHARSET, "attributes-charset", "utf-8"), (LANGUAGE, "attributes-natural-language", "en")]
    for tag, name, value in base + attrs:
        body += _attr(tag, name, value if isinstance(value, list) else [value])
    if job_attrs:
        body += bytes([JOB])
        for tag, name, value in job_attrs:
            body += _attr(tag, name, value if isinstance(value, list) else [value])
    return body + bytes([END]) + data


def decode_response(raw: bytes) -> IppResponse:
    try:
        major, minor, status, request_id = struct.unpack(">BBHi", raw[:8])
    except struct.error:
        raise IppError("short header") from None
    resp = IppResponse((major, minor), status, request_id)
    pos, n = 8, len(raw)
    current: dict[str, list[Any]] | None = None
    last_name = ""
    depth = 0
    while pos < n:
        tag = raw[pos]
        pos += 1
        if tag == END:
            return resp
        if tag < 0x10:  # a new attribute group
            current = {}
            resp.groups.append((tag, current))
            continue
        if current is None or pos + 2 > n:
            raise IppError("attribute outside a group")
        (name_len,) = struct.unpack(">H", raw[pos:pos + 2])
        pos += 2
        name = raw[pos:pos + name_len].decode("utf-8", "replace")
        pos += name_len
        if pos + 2 > n:
            raise IppError("truncated attribute")
        (value_len,) = struct.unpack(">H", raw[pos:pos + 2])
        pos += 2
        value_raw = raw[pos:pos + value_len]
        if len(value_raw) != value_len:
            raise IppError("truncated value")
        pos += value_len
        if tag == BEG_COLLECTION:
            depth += 1
        elif tag == END_COLLECTION:
            depth = max(0, depth - 1)
            continue
        if depth and tag != BEG_COLLECTION:
            continue  # members of a collection: not needed here
        if tag in (INTEGER, ENUM) and value_len == 4:
            value: Any = struct.unpack(">i", value_raw)[0]
        elif tag == BOOLEAN and value_len == 1:
            value = bool(value_raw[0])
        elif 0x40 <= tag <= 0x5F:
            value = value_raw.decode("utf-8", "replace")
        else:
            value = value_raw
        if name:
            last_name = name
            current.setdefault(name, []).append(value)
        elif last_name:
            current.setdefault(last_name, []).append(value)
    raise IppError("no end-of-attributes tag")
