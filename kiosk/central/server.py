"""The local central's HTTP server (docs/central-api.yaml), on the standard library's
ThreadingHTTPServer so it needs nothing beyond the project's own dependencies.

Every /v1 request is authenticated by the station's Ed25519 request signature
(:mod:`kiosk.central.auth`); /admin (fault injection, station registration) is for the
machine the local central runs on and listens only where the server does.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kiosk.central.auth import AuthError, chunk_digest, verify_headers
from kiosk.central.faults import FaultInjector
from kiosk.central.keys import ed25519_public_from_pem, public_pem
from kiosk.central.registry import CentralError, CentralRegistry
from kiosk.central.upload_ranges import format_ranges
from kiosk.central.tus import Creation, CreationError, create_with_upload, creation_digest, parse_creation
from kiosk.errors import KioskError

log = logging.getLogger(__name__)
API_VERSION = "1.0.0"
UPLOAD_PATH = re.compile(r"^/v1/uploads/([0-9a-fA-F-]{36})/(\d+)$")
DELETION_PATH = re.compile(r"^/v1/deletion-requests/([0-9a-fA-F-]{36})$")
RESIDENT_PATH = re.compile(r"^/v1/residents/(\d{16})$")
CHUNK_TYPE = "application/offset+octet-stream"


class _Abort(Exception):
    """Drop the connection without an answer (injected fault)."""


class CentralHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes: without this, Nagle + delayed ACK add 40 ms
    disable_nagle_algorithm = True
    #: a link that stalls without a reset must not hold a handler thread forever
    timeout = 120
    server: "CentralServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)

    # -- plumbing -----------------------------------------------------------------------------
    def _reset(self) -> None:
        """Close with RST, as a dropped mobile link looks to the station."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        raise _Abort()

    def _body(self, fault: str | None) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 70 * 1024 * 1024:
            raise CentralError("request.too_large", status=413)
        if fault == "reset":
            self.rfile.read(length // 2)
            self._reset()
        self.server.faults.throttle(length)
        return self.rfile.read(length) if length else b""

    def _chunk_body(self, fault: str | None) -> tuple[bytes, bool]:
        """An upload chunk's body as far as it arrives: (bytes, cut). A cut chunk's bytes are
        kept (tus PATCH semantics), so the station resumes from the byte where the link broke."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 70 * 1024 * 1024:
            raise CentralError("request.too_large", status=413)
        want = length // 2 if fault == "reset" else length
        self.server.faults.throttle(want)
        parts: list[bytes] = []
        got = 0
        try:
            while got < want:
                piece = self.rfile.read1(want - got)  # whatever has arrived, up to the rest: few large reads
                if not piece:
                    break
                parts.append(piece)
                got += len(piece)
        except (ConnectionError, socket.timeout, OSError):
            pass
        return b"".join(parts), got < length

    def _chunk_auth(self, creating: bool) -> tuple[str, Creation | None, int]:
        """(what the signature covers, the creation or None, the offset) of a chunk-carrying
        request: a PATCH, or a creation with upload (:mod:`kiosk.central.tus`). Both are signed
        over their headers and declared length, so a cut one can be kept."""
        length = int(self.headers.get("Content-Length") or 0)
        if creating:
            try:
                creation = parse_creation(self.headers)
            except CreationError as exc:
                raise CentralError("request.bad_fields", status=400, **exc.params) from None
            return creation_digest(creation, length), creation, 0
        try:
            offset = int(self.headers.get("Upload-Offset", ""))
        except ValueError:
            raise CentralError("upload.bad_offset", status=400) from None
        return chunk_digest(offset, length), None, offset

    def _keep_cut_chunk(self, path: str, body: bytes, creating: bool) -> None:
        """Store what arrived of a cut chunk (authenticated by its signed headers), then drop
        the connection: there is no one left to answer."""
        try:
            digest, creation, offset = self._chunk_auth(creating)
            station = verify_headers(self.headers, self.command, self.path, body, self.server.registry.station_key,
                                     digest=digest)
            if body and self.headers.get("Content-Type") == CHUNK_TYPE:
                if creation is not None:
                    create_with_upload(self.server.registry, station, creation, body)
                else:
                    m = UPLOAD_PATH.match(path)
                    assert m is not None
                    self.server.registry.append_chunk(station, m.group(1), int(m.group(2)), offset, body)
                log.debug("central: kept %d bytes of a cut chunk at offset %d", len(body), offset)
        except (ValueError, KioskError):  # unauthenticated or out of place: keep nothing
            log.debug("central: cut chunk not kept", exc_info=True)
        self._reset()

    def _send(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Cache-Control", "no-store")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.server.faults.throttle(len(data))
            self.wfile.write(data)

    def _error(self, exc: KioskError, status: int) -> None:
        self._send(status, {"code": exc.code, "params": {k: v for k, v in exc.params.items()}})

    def _handle(self) -> None:
        faults = self.server.faults
        path = urlsplit(self.path).path
        try:
            if path.startswith("/admin/"):
                self._admin(path)
                return
            if faults.in_outage():
                self._reset()
            if faults.config.latency_s:
                time.sleep(faults.config.latency_s)
            fault = faults.draw() if path != "/v1/health" else None
            if fault == "5xx":
                self._body(None)
                self._send(503, {"code": "central.unavailable", "params": {}}, {"Retry-After": "1"})
                return
            if fault == "timeout":
                time.sleep(faults.config.hang_s)
                self._reset()
            digest = None
            creating = self.command == "POST" and path == "/v1/uploads" \
                and self.headers.get("Content-Type") == CHUNK_TYPE
            if (self.command == "PATCH" and UPLOAD_PATH.match(path)) or creating:
                body, cut = self._chunk_body(fault)
                if cut:
                    self._keep_cut_chunk(path, body, creating)
                digest = self._chunk_auth(creating)[0]
            else:
                body = self._body(fault)
            station = None
            if path != "/v1/health":
                # self.headers looks names up case-insensitively (proxies may lower-case them)
                station = verify_headers(self.headers, self.command, self.path, body,
                                         self.server.registry.station_key, digest=digest)
            status, payload, headers = self._route(path, station, body)
            if fault == "lost_response":
                self._reset()
            self._send(status, payload, headers)
        except _Abort:
            return
        except AuthError as exc:
            self._error(exc, 401)
        except CentralError as exc:
            headers = {}
            if "offset" in exc.params:
                headers["Upload-Offset"] = str(exc.params["offset"])
            if self.command == "HEAD":
                self._send(exc.status, None, headers)
            else:
                self._send(exc.status, {"code": exc.code, "params": dict(exc.params)}, headers)
        except (ConnectionError, socket.timeout, ssl.SSLError):
            # the station is gone (over TLS its end shows as ssl.SSLEOFError, not a
            # ConnectionError): a cut link, nothing to answer and nothing to log as a failure
            self.close_connection = True
        except Exception:
            log.exception("central: unexpected failure on %s %s", self.command, self.path)
            self._send(500, {"code": "central.internal", "params": {}})

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    # -- routes -------------------------------------------------------------------------------
    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise CentralError("request.bad_json", status=400) from None
        if not isinstance(data, dict):
            raise CentralError("request.bad_json", status=400)
        return data

    def _route(self, path: str, station: str | None, body: bytes) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        reg = self.server.registry
        method = self.command
        if path == "/v1/health" and method == "GET":
            return 200, {"status": "ok", "api_version": API_VERSION}, {}
        assert station is not None
        if path == "/v1/uploads" and method == "POST" and self.headers.get("Content-Type") == CHUNK_TYPE:
            state, created = create_with_upload(reg, station, self._chunk_auth(True)[1], body)  # type: ignore[arg-type]
            return (201 if created else 200), {"upload_url": state.url, "offset": state.offset,
                                               "length": state.length, "complete": state.complete}, \
                {"Location": state.url, "Upload-Offset": str(state.offset)}
        if path == "/v1/uploads" and method == "POST":
            d = self._json(body)
            try:
                record_id, submission = str(d["record_id"]), int(d.get("submission", 1))
                length, sha = int(d["length"]), str(d["sha256"])
                claimed = str(d["station_id"])
            except (KeyError, TypeError, ValueError):
                raise CentralError("request.bad_fields", status=400) from None
            if claimed != station:
                raise CentralError("upload.forbidden", status=403, record=record_id)
            state, created = reg.create_upload(station, record_id, submission, length, sha)
            return (201 if created else 200), {"upload_url": state.url, "offset": state.offset,
                                               "length": state.length, "complete": False}, \
                {"Location": state.url, "Upload-Offset": str(state.offset)}
        m = UPLOAD_PATH.match(path)
        if m:
            record_id, submission = m.group(1), int(m.group(2))
            if method == "HEAD":
                st = reg.upload_state(station, record_id, submission)
                held = {"Upload-Ranges": format_ranges(list(st.ranges))} if st.ranges else {}
                return 200, None, {"Upload-Offset": str(st.offset), "Upload-Length": str(st.length),
                                   "Upload-Complete": "1" if st.complete else "0", **held}
            if method == "PATCH":
                if self.headers.get("Content-Type") != CHUNK_TYPE:
                    raise CentralError("upload.content_type", status=415)
                try:
                    offset = int(self.headers.get("Upload-Offset", ""))
                except ValueError:
                    raise CentralError("upload.bad_offset", status=400) from None
                st = reg.append_chunk(station, record_id, submission, offset, body)
                progress: dict[str, Any] = {"offset": st.offset, "length": st.length, "complete": st.complete}
                if st.ranges:
                    progress["ranges"] = [list(r) for r in st.ranges]
                return 200, progress, {"Upload-Offset": str(st.offset)}
        if path == "/v1/decisions" and method == "GET":
            q = parse_qs(urlsplit(self.path).query)
            try:
                who = q["station"][0]
                cursor = int(q.get("cursor", ["0"])[0])
                limit = max(1, min(500, int(q.get("limit", ["200"])[0])))
            except (KeyError, ValueError):
                raise CentralError("request.bad_fields", status=400) from None
            if who != station:
                raise CentralError("decisions.forbidden", status=403, station=who)
            items, new_cursor, more = reg.decisions(station, cursor, limit)
            return 200, {"decisions": items, "cursor": new_cursor, "more": more}, {}
        if path == "/v1/deletion-requests" and method == "POST":
            d = self._json(body)
            if not isinstance(d.get("record_id"), str) or not isinstance(d.get("reason", ""), str):
                raise CentralError("request.bad_fields", status=400)
            station_request = d.get("request_id")
            if station_request is not None and not isinstance(station_request, str):
                raise CentralError("request.bad_fields", status=400)
            req, created = reg.request_deletion(station, d["record_id"], d.get("reason", ""), station_request)
            return (201 if created else 200), req, {}
        m = DELETION_PATH.match(path)
        if m and method == "GET":
            return 200, reg.deletion(station, m.group(1)), {}
        m = RESIDENT_PATH.match(path)
        if m and method == "GET":
            return 200, reg.nik_status(station, m.group(1)), {}
        if path == "/v1/reprint-requests" and method == "POST":
            d = self._json(body)
            if not isinstance(d.get("record_id"), str) or not isinstance(d.get("reason"), str):
                raise CentralError("request.bad_fields", status=400)
            request_id = d.get("request_id")
            if request_id is not None and not isinstance(request_id, str):
                raise CentralError("request.bad_fields", status=400)
            permit = reg.reprint(station, d["record_id"], d["reason"], d.get("permit_id"), request_id)
            # the permit, plus the signed answer binding it to the station's request id
            return 201, {"permit": permit.to_dict(), "answer": reg.reprint_answer(station, request_id, permit)}, {}
        if path == "/v1/checkpoints" and method == "POST":
            return 200, reg.keep_checkpoint(station, self._json(body)), {}
        raise CentralError("request.not_found", status=404, path=path)

    def _admin(self, path: str) -> None:
        reg, faults = self.server.registry, self.server.faults
        body = self._body(None)
        if path == "/admin/faults" and self.command == "GET":
            self._send(200, {**faults.config.to_dict(), "injected": dict(faults.injected)})
        elif path == "/admin/faults" and self.command == "PUT":
            try:
                cfg = faults.set(**self._json(body))
            except (TypeError, ValueError) as exc:
                self._send(400, {"code": "request.bad_fields", "params": {"reason": str(exc)}})
                return
            self._send(200, {**cfg.to_dict(), "injected": dict(faults.injected)})
        elif path == "/admin/stations" and self.command == "POST":
            d = self._json(body)
            reg.register_station(str(d["station_id"]), ed25519_public_from_pem(str(d["public_key"]).encode()),
                                 str(d.get("region", "")))
            self._send(201, {"station_id": d["station_id"]})
        elif path == "/admin/keys" and self.command == "GET":
            self._send(200, {"signing_key": public_pem(reg.keys.signing_public).decode(),
                             "sealing_key": public_pem(reg.keys.sealing_public).decode()})
        elif path == "/admin/counts" and self.command == "GET":
            self._send(200, reg.counts())
        else:
            self._send(404, {"code": "request.not_found", "params": {"path": path}})


class CentralServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, registry: CentralRegistry, host: str = "127.0.0.1", port: int = 0,
                 faults: FaultInjector | None = None, tls: "ssl.SSLContext | None" = None) -> None:
        self.registry = registry
        self.faults = faults or FaultInjector()
        super().__init__((host, port), CentralHandler)
        #: https: the server side of the certificate a station pins (``[central] ca_file``)
        self.tls = tls
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._decider: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("central: connection error from %s", client_address, exc_info=True)

    def _decide_loop(self) -> None:
        interval = max(0.05, min(0.5, self.registry.decision_delay_s / 4))
        while not self._stop.wait(interval):
            try:
                self.registry.decide_due()
            except Exception:  # keep deciding; the next round retries
                log.exception("central: deciding failed")

    def start(self) -> "CentralServer":
        """Serve and decide in background threads."""
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="central-http",
                         daemon=True).start()
        self._decider = threading.Thread(target=self._decide_loop, name="central-decider", daemon=True)
        self._decider.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.shutdown()
        self.server_close()
