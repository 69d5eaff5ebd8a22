"""The byte ranges of an upload the central holds: a contiguous prefix plus ranges after holes.

On a link cut every few seconds, asking where the upload stands (HEAD) after every cut costs a
round trip of idle link each time (600 ms on the field's links), and that time lets more cuts
happen. So a station that was cut goes on at once with the bytes after the chunk it was
sending; the central keeps what arrived of the cut chunk AND the chunks after it, and says
which ranges it holds (``Upload-Ranges``); the station fills the holes in a later sweep
(issue 13 §3). tus 1.0.0 has no such extension (its Concatenation extension is the nearest: parts
uploaded separately, then joined); the contiguous ``Upload-Offset`` keeps its tus meaning.

Chunks live in ``upload_chunks`` keyed by (record, submission, offset); chunks may overlap (a
resent range), and the packet is assembled by taking, in offset order, each chunk's bytes
beyond what earlier ones covered (:func:`assemble_with`). Its SHA-256 is checked against the
signed hash at completion, so nothing here is trusted beyond its position.
"""

from __future__ import annotations

import sqlite3

Range = tuple[int, int]  # [start, end)


def keep(c: sqlite3.Connection, record_id: str, submission: int, offset: int, data: bytes) -> None:
    """Store a chunk at ``offset``; of two at the same offset the longer stays (a cut resend
    never shortens what arrived before)."""
    c.execute("INSERT INTO upload_chunks(record_id, submission, offset, data) VALUES (?,?,?,?)"
              " ON CONFLICT(record_id, submission, offset) DO UPDATE SET data=excluded.data"
              " WHERE length(excluded.data) > length(upload_chunks.data)", (record_id, submission, offset, data))


def held(c: sqlite3.Connection, record_id: str, submission: int, after: int) -> list[Range]:
    """The merged ranges of stored bytes that end after ``after``."""
    out: list[Range] = []
    for start, n in c.execute("SELECT offset, length(data) FROM upload_chunks WHERE record_id=? AND submission=?"
                              " AND offset + length(data) > ? ORDER BY offset", (record_id, submission, after)):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], start + n))
        else:
            out.append((start, start + n))
    return out


def contiguous_end(c: sqlite3.Connection, record_id: str, submission: int, end: int) -> int:
    """How far the bytes run without a hole from ``end`` (the prefix is already whole)."""
    for start, stop in held(c, record_id, submission, end):
        if start > end:
            break
        end = max(end, stop)
    return end


def assemble_with(c: sqlite3.Connection, record_id: str, submission: int, offset: int, data: bytes) -> bytes:
    """The stored bytes in order, each byte once, with one more chunk (``data`` at ``offset``,
    not stored) laid over them: the packet its completing chunk makes, before anything is
    written. Of two chunks at one offset the longer counts, as in :func:`keep`."""
    rows = [(start, bytes(chunk)) for start, chunk in c.execute(
        "SELECT offset, data FROM upload_chunks WHERE record_id=? AND submission=? ORDER BY offset",
        (record_id, submission))]
    return _merge(sorted(rows + [(offset, data)], key=lambda r: (r[0], -len(r[1]))))


def _merge(chunks: list[tuple[int, bytes]]) -> bytes:
    """Chunks sorted by offset, each byte once (the caller knows they are gap-free)."""
    parts: list[bytes] = []
    pos = 0
    for start, data in chunks:
        if start + len(data) <= pos:
            continue
        parts.append(data[pos - start:] if start < pos else data)
        pos = start + len(data)
    return b"".join(parts)


def format_ranges(ranges: list[Range]) -> str:
    """``Upload-Ranges`` header value: ``start-end`` (end exclusive), comma-separated."""
    return ",".join(f"{a}-{b}" for a, b in ranges)


def parse_ranges(value: str | None, length: int) -> list[Range]:
    """The ranges of an ``Upload-Ranges`` header; anything malformed or out of [0, length] is
    left out (the station then merely sends those bytes again)."""
    out: list[Range] = []
    for item in (value or "").split(","):
        a, sep, b = item.strip().partition("-")
        if not sep:
            continue
        try:
            start, end = int(a), int(b)
        except ValueError:
            continue
        if 0 <= start < end <= length:
            out.append((start, end))
    return sorted(out)
