"""HTTP client of the central API (docs/central-api.yaml), on httpx with per-request timeouts.

Every request is signed (:mod:`kiosk.central.auth`). Failures come back typed:
:class:`CentralUnavailable` for anything worth retrying (timeouts, resets, 5xx) and
:class:`CentralRefused` for a definite no (4xx with the central's code).
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.central.answers import AnswerError
from kiosk.central.auth import chunk_digest, sign_headers
from kiosk.central.upload_ranges import parse_ranges
from kiosk.central.tus import Creation, creation_digest, creation_headers
from kiosk.errors import KioskError
from kiosk.sync.pacing import LinkPace
from kiosk.sync.tls_transport import ResumingBackend, ResumingTransport, SessionCache

CHUNK_TYPE = "application/offset+octet-stream"
#: bytes/s of the slowest link a body's write timeout allows for (16 kbit/s)
MIN_LINK_BPS = 2000
#: smallest write of upload bytes over plain http (see CentralClient.request)
PIECE = 4096
#: size of each write of upload bytes over https while the link is being cut, one TLS record
#: each (CentralClient.request). The central can decrypt only whole records, so a cut loses the
#: record it splits (half a record per cut on average) against 22 bytes of framing per record
#: (TLS 1.3 AES-GCM: 5 header, 1 content type, 16 tag): sqrt(2 * 22 * bytes between cuts) is
#: best, about 1.1 KB for 64 kbit/s cut every 2-5 s. Measured in ``sync_link``: 4 KB records
#: lost 0.17x of the packet bytes in split records. On a slow link that holds, the records are
#: PIECE (0.5 % framing instead of 2.1 %: goodput).
TLS_RECORD = 1024


class CentralUnavailable(KioskError):
    """Could not get an answer (offline, timeout, reset, 5xx): try again later."""

    code = "sync.unavailable"


class CentralRefused(KioskError):
    """The central answered no; ``code`` is its reason (upload.conflict, packet.signature ...)."""

    code = "sync.refused"

    def __init__(self, code: str | None = None, /, *, status: int = 400, **params: Any) -> None:
        super().__init__(code, status=status, **params)
        self.status = status


@dataclass(frozen=True)
class UploadAnswer:
    url: str
    offset: int
    complete: bool
    #: ranges [start, end) the central holds after a hole beyond ``offset`` (kiosk.central.upload_ranges)
    ranges: tuple[tuple[int, int], ...] = ()


def _header_bytes(request: httpx.Request) -> int:
    """The request line and header block as sent (HTTP/1.1)."""
    line = len(request.method) + len(request.url.raw_path) + len(" HTTP/1.1\r\n") + 1
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2


def _json_ranges(value: Any, length: int) -> tuple[tuple[int, int], ...]:
    """The ``ranges`` of an upload answer; malformed ones are left out (those bytes are sent again)."""
    if not isinstance(value, list):
        return ()
    out = [(r[0], r[1]) for r in value if isinstance(r, list) and len(r) == 2
           and all(type(x) is int for x in r) and 0 <= r[0] < r[1] <= length]
    return tuple(sorted(out))


class CentralClient:
    def __init__(self, base_url: str, station_id: str, key: Ed25519PrivateKey, *, timeout_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None,
                 on_exchange: Callable[[httpx.Request, httpx.Response], None] | None = None,
                 verify: ssl.SSLContext | bool = True) -> None:
        self.base_url = base_url.rstrip("/")
        #: https: upload bytes on a slow link go out in TLS_RECORD writes
        self.tls = self.base_url.lower().startswith("https:")
        self.station_id = station_id
        self.key = key
        self.timeout_s = timeout_s
        hooks = {"response": [self._hook]} if on_exchange else {}
        self._on_exchange = on_exchange
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=8)
        #: TLS sessions kept and resumed after a cut (None with a transport given by the caller)
        self.tls_sessions: SessionCache | None = None
        self._backend: ResumingBackend | None = None
        if transport is None:
            # small requests go out at once (no Nagle wait for the previous segment's ACK)
            # ``verify``: the pinned CA/certificate context for https (kiosk.sync.worker.central_transport)
            resuming = ResumingTransport(verify, limits=limits,
                                         socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
            self.tls_sessions, self._backend, transport = resuming.sessions, resuming.backend, resuming
        self.http = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(timeout_s),
                                 transport=transport, event_hooks=hooks, limits=limits)
        # every request header is paid for on a metered link, again after each cut: send only
        # what the central reads (no Accept, Accept-Encoding or Connection: keep-alive, the
        # HTTP/1.1 default; a short User-Agent)
        for name in ("Accept", "Accept-Encoding", "Connection"):
            del self.http.headers[name]
        self.http.headers["User-Agent"] = "kiosk"
        #: body length -> bytes per write of upload bytes; the outbox sets it from the measured
        #: throughput (kiosk.sync.link.ChunkSizer.piece): PIECE until the link is measured
        self.piece_size: Callable[[int], int] = lambda length: PIECE
        #: the link's rate and round trip as the requests show them; paces upload writes while
        #: the link is being cut (kiosk.sync.pacing)
        self.pace = LinkPace()

    def _hook(self, response: httpx.Response) -> None:
        response.read()
        assert self._on_exchange is not None
        self._on_exchange(response.request, response)

    def close(self) -> None:
        self.http.close()

    def tls_handshakes(self) -> tuple[int, int]:
        """(TLS handshakes made, how many resumed a session): (0, 0) over plain http."""
        c = self.tls_sessions
        return (c.handshakes, c.resumed) if c is not None else (0, 0)

    # -- one signed request -------------------------------------------------------------------
    def request(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: bytes = b"",
                json_body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                digest: str | None = None) -> httpx.Response:
        target = path + ("?" + urlencode(query) if query else "")
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(sign_headers(self.key, self.station_id, method, target, body, digest=digest))
        # sending a body is one timed operation: give it time for the bytes at the slowest
        # link we serve (MIN_LINK_BPS) on top of the timeout, so a big chunk on a slow link is
        # not cut by our own timer (a dead link is still noticed: reads keep the plain timeout)
        timeout = httpx.Timeout(self.timeout_s, write=self.timeout_s + len(body) / MIN_LINK_BPS)
        content: bytes | Iterator[bytes] | None = body or None
        piece = len(body)
        upload = hdrs.get("Content-Type") == CHUNK_TYPE
        pacing = self.pace.next_upload() if upload else None
        if upload:
            piece = self.piece_size(len(body))
            if self.tls and piece <= PIECE and self.pace.being_cut():
                piece = min(piece, TLS_RECORD)  # a slow link over TLS being cut: records sized for cuts
        if piece < len(body) or pacing is not None:
            # upload bytes go out in small writes on a slow link: over TLS each write is its own
            # record, and a record the link cuts is lost whole (the central can keep only whole
            # records), so 16 KB records would lose up to 16 KB per cut, these at most ``piece``
            # (TLS_RECORD on a slow link being cut). On a fast link the pieces are large (each write costs
            # a system call and a timeout set, ~60 per packet at 4 KB) and a cut loses only
            # milliseconds of link time.
            hdrs["Content-Length"] = str(len(body))
            content = (body[i:i + piece] for i in range(0, len(body), piece))
            if pacing is not None:  # the link is being cut: what the modem queues, a cut loses
                content = self.pace.paced(content, pacing[0])
        marks = self._setup_marks()
        started = time.monotonic()
        try:
            response = self.http.request(method, target, content=content, headers=hdrs, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise CentralUnavailable("sync.timeout", kind=type(exc).__name__) from None
        except httpx.HTTPError as exc:  # connect errors, resets, protocol errors mid-body
            if not isinstance(exc, httpx.ConnectError):  # (the central not reached is not a cut)
                self.pace.cut()
            raise CentralUnavailable("sync.network", kind=type(exc).__name__) from None
        # a probe (paced above the estimate) is a sample; other paced uploads are the station's rate
        app_limited = pacing is not None and not pacing[1]
        self._measured(marks, time.monotonic() - started, upload, len(body), response.request, app_limited)
        if response.status_code >= 500:
            raise CentralUnavailable("sync.server", status=response.status_code)
        return response

    def _setup_marks(self) -> tuple[int, int] | None:
        """(TCP connections opened, TLS handshakes made) so far; None with a caller's transport."""
        if self._backend is None:
            return None
        return self._backend.connects, self._backend.sessions.handshakes

    def _measured(self, marks: tuple[int, int] | None, took: float, upload: bool, body: int,
                  request: httpx.Request, paced: bool) -> None:
        """Tell the pace what an answered request showed of the link (kiosk.sync.pacing)."""
        now = self._setup_marks()
        if marks is None or now is None:
            return
        setup = 0.0
        if now[1] != marks[1]:  # a TLS handshake during the request: one round trip, timed apart
            setup = self._backend.sessions.last_handshake_s if self._backend is not None else 0.0
            self.pace.round_trip(setup)
        if upload:
            self.pace.transfer(body + _header_bytes(request), took - setup, paced=paced)
        elif not body and now[0] == marks[0]:
            self.pace.round_trip(took)  # a bodiless request on a connection already open

    @staticmethod
    def refused(response: httpx.Response) -> CentralRefused:
        try:
            data = response.json()
            code, params = str(data["code"]), dict(data.get("params") or {})
        except (ValueError, KeyError, TypeError):
            code, params = "sync.refused", {}
        params.pop("status", None)
        return CentralRefused(code, status=response.status_code, **params)

    @staticmethod
    def _protocol_json(r: httpx.Response) -> dict[str, Any]:
        """An upload-protocol answer (nothing in it is applied): garbage is a failed request,
        retried like a reset."""
        try:
            d = r.json()
        except ValueError:
            raise CentralUnavailable("sync.bad_answer", status=r.status_code) from None
        if not isinstance(d, dict):
            raise CentralUnavailable("sync.bad_answer", status=r.status_code)
        return d

    @staticmethod
    def _answer_json(r: httpx.Response) -> dict[str, Any]:
        """An answer the station may apply: anything but a JSON object is :class:`AnswerError`
        with the raw bytes (for the quarantine's digest)."""
        try:
            d = r.json()
        except ValueError:
            raise AnswerError("answer.not_json", raw=r.content) from None
        if not isinstance(d, dict):
            raise AnswerError("answer.malformed", raw=r.content, detail="body:not_object")
        return d

    # -- API ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        r = self.request("GET", "/v1/health")
        if r.status_code != 200:
            raise self.refused(r)
        return r.json()  # type: ignore[no-any-return]

    def create_upload(self, record_id: str, submission: int, length: int, sha256: str,
                      first: bytes = b"") -> UploadAnswer:
        """Create or find the upload; an upload that already arrived whole comes back complete.

        With ``first`` the creation carries the packet's first bytes (tus creation with upload,
        :mod:`kiosk.central.tus`): one round trip instead of two. The answer's offset says how
        many bytes the central holds (on a retry whose first answer was lost, the bytes it kept
        then; ``first`` is not stored twice)."""
        if first:
            creation = Creation(record_id, submission, length, sha256)
            r = self.request("POST", "/v1/uploads", body=first,
                             headers={"Content-Type": CHUNK_TYPE, **creation_headers(creation)},
                             digest=creation_digest(creation, len(first)))
        else:
            r = self.request("POST", "/v1/uploads", json_body={"record_id": record_id, "submission": submission,
                                                               "station_id": self.station_id, "length": length,
                                                               "sha256": sha256})
        if r.status_code in (200, 201):
            d = self._protocol_json(r)
            try:
                return UploadAnswer(str(d["upload_url"]), int(d["offset"]), bool(d["complete"]))
            except (KeyError, TypeError, ValueError):
                raise CentralUnavailable("sync.bad_answer", status=r.status_code) from None
        err = self.refused(r)
        if err.code == "upload.already_complete":
            return UploadAnswer(f"/v1/uploads/{record_id}/{submission}", length, True)
        raise err

    def upload_offset(self, url: str) -> UploadAnswer | None:
        """How much of an upload arrived (HEAD); None when the central does not know it."""
        r = self.request("HEAD", url)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise CentralRefused("sync.refused", status=r.status_code)
        try:
            length = int(r.headers.get("Upload-Length") or 0)
            return UploadAnswer(url, int(r.headers["Upload-Offset"]), r.headers.get("Upload-Complete") == "1",
                                tuple(parse_ranges(r.headers.get("Upload-Ranges"), length)))
        except (KeyError, ValueError):
            raise CentralUnavailable("sync.bad_answer", status=r.status_code) from None

    def send_chunk(self, url: str, offset: int, chunk: bytes) -> UploadAnswer:
        r = self.request("PATCH", url, body=chunk, headers={"Content-Type": CHUNK_TYPE, "Upload-Offset": str(offset)},
                         digest=chunk_digest(offset, len(chunk)))
        if r.status_code == 200:
            d = self._protocol_json(r)
            try:
                return UploadAnswer(url, int(d["offset"]), bool(d["complete"]),
                                    _json_ranges(d.get("ranges"), int(d.get("length") or 0)))
            except (KeyError, TypeError, ValueError):
                raise CentralUnavailable("sync.bad_answer", status=r.status_code) from None
        err = self.refused(r)
        if err.code == "upload.already_complete":
            return UploadAnswer(url, int(err.params.get("offset", offset + len(chunk))), True)
        raise err

    def decisions(self, cursor: int, limit: int = 200) -> tuple[list[Any], int | None, bool]:
        """One page of decisions after ``cursor``: (items as received, the page's cursor, more).
        Items are NOT checked here (the inbox verifies each one); a page that is not one is
        :class:`AnswerError`."""
        r = self.request("GET", "/v1/decisions", query={"station": self.station_id, "cursor": cursor, "limit": limit})
        if r.status_code != 200:
            raise self.refused(r)
        d = self._answer_json(r)
        items = d.get("decisions")
        if not isinstance(items, list):
            raise AnswerError("answer.malformed", raw=r.content, detail="decisions:not_list")
        page_cursor = d.get("cursor")
        return items, page_cursor if type(page_cursor) is int else None, d.get("more") is True

    def request_deletion(self, record_id: str, reason: str, request_id: str | None = None) -> dict[str, Any]:
        """The central's signed answer (verified by the caller)."""
        body: dict[str, Any] = {"record_id": record_id, "reason": reason}
        if request_id:
            body["request_id"] = request_id
        r = self.request("POST", "/v1/deletion-requests", json_body=body)
        if r.status_code not in (200, 201):
            raise self.refused(r)
        return self._answer_json(r)

    def deletion_status(self, request_id: str) -> dict[str, Any]:
        r = self.request("GET", f"/v1/deletion-requests/{request_id}")
        if r.status_code != 200:
            raise self.refused(r)
        return self._answer_json(r)

    def request_reprint(self, record_id: str, reason: str, permit_id: str | None = None,
                        request_id: str | None = None) -> dict[str, Any]:
        """A new permit for a spoiled card: the central's answer ``{"permit", "answer"}``, where
        ``answer`` is the signed binding of ``request_id`` to the permit (the caller verifies
        both). A retry with the same ``request_id`` gets the same permit."""
        body: dict[str, Any] = {"record_id": record_id, "reason": reason}
        if permit_id:
            body["permit_id"] = permit_id
        if request_id:
            body["request_id"] = request_id
        r = self.request("POST", "/v1/reprint-requests", json_body=body)
        if r.status_code != 201:
            raise self.refused(r)
        return self._answer_json(r)

    def send_checkpoint(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        """Give the central the station's newest signed audit checkpoint (it keeps it)."""
        r = self.request("POST", "/v1/checkpoints", json_body=checkpoint)
        if r.status_code != 200:
            raise self.refused(r)
        return self._protocol_json(r)
