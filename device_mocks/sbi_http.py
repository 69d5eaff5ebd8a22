"""The SBI emulator's HTTP face: MOSIP's verbs (MOSIPDISC, MOSIPDINFO, RCAPTURE, STREAM) on a
:class:`device_mocks.sbi.SbiDeviceService`, answered the way MockMDS's ``SBIServiceResponse.java``
(mosip/mosip-mock-services) writes them, plus the emulator's own ``POST /mock/fault`` control."""

from __future__ import annotations

import datetime as dt
import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from device_mocks.sbi_requests import MESSAGES, RequestRefused, read_stream_request

if TYPE_CHECKING:
    from device_mocks.sbi import SbiDeviceService

FAULTS = ("busy", "not_ready", "not_registered", "no_finger", "silence", "bad_signature", "untrusted",
          "broken_hash", "garbage")


def sbi_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: MockMDS's multipart boundary, declared and written exactly like this (SBIServiceResponse)
BOUNDARY = "--BoundaryString"


def make_handler(service: SbiDeviceService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "KioskSimSBI/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
            pass  # quiet: tests and the station log the driver side

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            service.requests.append((self.command, self.path, body))
            return body

        def _send(self, payload: Any) -> None:
            if service.fault == "silence":
                service._stop.wait(30)  # hold the connection, answer nothing
                return
            data = b"<html>garbage" if service.fault == "garbage" else json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_MOSIPDISC(self) -> None:  # noqa: N802 (the verb's name)
            self._send(service.discovery(self._body()))

        def do_MOSIPDINFO(self) -> None:  # noqa: N802
            self._body()
            self._send(service.device_info())

        def do_RCAPTURE(self) -> None:  # noqa: N802
            self._send(service.capture(self._body()))

        def do_STREAM(self) -> None:  # noqa: N802
            body = self._body()
            if service.fault == "silence":
                service._stop.wait(30)
                return
            try:
                device_id, timeout_s = read_stream_request(body)
                if not device_id.strip():
                    raise RequestRefused("604")
                if device_id != service.device_id:
                    raise RequestRefused("605")
            except RequestRefused as refused:
                # MockMDS: getErrorJson (a list) for 123, the bare ErrorInfo object otherwise
                code = refused.code
                self._send(service.error_list(code) if code == "123" else
                           {"errorCode": code, "errorInfo": MESSAGES.get(code, "")})
                return
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.end_headers()
            deadline = time.monotonic() + min(timeout_s, 10.0)
            try:
                for jpeg in service.stream_frames(50):
                    if time.monotonic() > deadline or service._stop.is_set():
                        break
                    self.wfile.write(f"{BOUNDARY}\r\nAccess-Control-Allow-Origin:*\r\nContent-Type:image/jpeg\r\n"
                                     f"Content-Length:{len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                    self.wfile.flush()
                    time.sleep(0.04)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def do_POST(self) -> None:  # noqa: N802 (mock control, not part of SBI)
            body = self._body()
            if self.path == "/mock/fault" and isinstance(body, dict) and body.get("fault") in (None, *FAULTS):
                service.fault = body.get("fault")
                data = json.dumps({"fault": service.fault}).encode()
                self.send_response(200)
            else:
                data = json.dumps({"error": f"unknown control {self.path} {body!r}; faults: {FAULTS}"}).encode()
                self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
