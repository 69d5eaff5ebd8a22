"""SBI device service emulator: a slap fingerprint scanner's MOSIP SBI service over HTTP.

Listens on 127.0.0.1, on a free port of 4501-4600 unless told one, and answers the SBI verbs
MOSIPDISC (/device), MOSIPDINFO (/info), RCAPTURE (/capture) and STREAM (/stream) with the
specification's JSON shapes. Signed fields are compact JWS (RS256) made with its own
self-signed test certificate, generated at start and written as PEM into the work folder so a
driver can pin it. Finger images come from the synthetic generator (device_mocks.fingerprints), wrapped in ISO/IEC
19794-4:2011 records with a JPEG 2000 (or PNG, or WSQ) image.

Fault injection (``service.fault = ...`` or, when run alone, ``POST /mock/fault {"fault": ...}``):
``busy``, ``not_ready``, ``not_registered`` (deviceStatus and capture error codes), ``no_finger``
(capture ends with the timeout error), ``silence`` (accepts the request, never answers),
``bad_signature`` (a biometric's JWS signature is corrupted), ``untrusted`` (signed with another,
unpinned certificate), ``broken_hash`` (wrong hash chain), ``garbage`` (non-JSON answer).
``unplug()`` stops the server (the port refuses connections); ``plug()`` starts it again.

Run alone: ``python -m device_mocks.sbi [--port N] [--workdir DIR]`` prints the service URL on its
first line and the certificate path on the second.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import signal
import struct
import sys
import threading
import time
import uuid
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device_mocks.fingerprints import FingerprintGenerator
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

PORT_FIRST, PORT_LAST = 4501, 4600
FAULTS = ("busy", "not_ready", "not_registered", "no_finger", "silence", "bad_signature", "untrusted",
          "broken_hash", "garbage")

#: bioSubType names by slap (deviceSubId 1 left slap, 2 right slap, 3 two thumbs)
SLAPS: dict[int, tuple[str, ...]] = {
    1: ("Left IndexFinger", "Left MiddleFinger", "Left RingFinger", "Left LittleFinger"),
    2: ("Right IndexFinger", "Right MiddleFinger", "Right RingFinger", "Right LittleFinger"),
    3: ("Left Thumb", "Right Thumb"),
}
#: ISO 19794-4 finger position codes (1 right thumb .. 10 left little)
ISO_POSITIONS = {"Right Thumb": 1, "Right IndexFinger": 2, "Right MiddleFinger": 3, "Right RingFinger": 4,
                 "Right LittleFinger": 5, "Left Thumb": 6, "Left IndexFinger": 7, "Left MiddleFinger": 8,
                 "Left RingFinger": 9, "Left LittleFinger": 10}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# ------------------------------------------------------------------------------------------
# Test certificate and JWS signing


@cache
def _rsa_key(slot: int) -> rsa.RSAPrivateKey:
    # RSA-2048 generation costs ~0.3 s; emulators of one process share a key per slot (each
    # still gets its own certificate, which is what the driver pins and checks).
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestSigner:
    """An RSA key with a self-signed certificate, signing compact JWS with x5c headers."""

    __test__ = False  # not a pytest test class

    def __init__(self, common_name: str, *, key_slot: int = 0) -> None:
        self.key = _rsa_key(key_slot)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kiosk simulated SBI device")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                     .sign(self.key, hashes.SHA256()))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self._header = b64url(json.dumps({"alg": "RS256", "typ": "JWT",
                                          "x5c": [base64.b64encode(der).decode()]}).encode())

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, payload: bytes, *, corrupt: bool = False) -> str:
        head_body = f"{self._header}.{b64url(payload)}"
        sig = bytearray(self.key.sign(head_body.encode(), padding.PKCS1v15(), hashes.SHA256()))
        if corrupt:
            sig[len(sig) // 2] ^= 0x55
        return f"{head_body}.{b64url(bytes(sig))}"


# ------------------------------------------------------------------------------------------
# Synthetic finger images and ISO/IEC 19794-4:2011 records


_FINGERS = FingerprintGenerator(seed=2026)


def synthetic_finger(seed: int, width: int = 320, height: int = 400) -> np.ndarray:
    """A grey synthetic fingerprint (finger ``seed``, first impression) from the shared generator."""
    return _FINGERS.impression(seed, 0, size=(height, width))


def iso_finger_record(pixels: np.ndarray, position: int, quality: int, *, compression: str = "jp2",
                      ppi: int = 500) -> bytes:
    """One-representation ISO/IEC 19794-4:2011 finger image record."""
    if compression == "jp2":
        ok, buf = cv2.imencode(".jp2", pixels)
        code = 4
    elif compression == "png":
        ok, buf = cv2.imencode(".png", pixels)
        code = 6
    elif compression == "wsq":
        import io

        import wsq  # noqa: F401  (registers the WSQ Pillow plugin)
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "WSQ")
        ok, buf, code = True, np.frombuffer(out.getvalue(), np.uint8), 2
    else:
        raise ValueError(f"unknown compression {compression!r}")
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {compression}")
    image = buf.tobytes()
    height, width = pixels.shape
    now = dt.datetime.now(dt.UTC)
    rep = b"".join([
        struct.pack(">HBBBBBH", now.year, now.month, now.day, now.hour, now.minute, now.second,
                    now.microsecond // 1000),
        struct.pack(">BHH", 0, 0x0101, 0x0001),  # technology unknown, vendor, device type
        struct.pack(">BBHH", 1, quality, 0x0101, 0x0001),  # one quality block
        struct.pack(">BBB", position, 0, 1),  # position, representation number, ppi
        struct.pack(">HHHH", ppi, ppi, ppi, ppi),
        struct.pack(">BBB", 8, code, 0),  # bit depth, compression, live-scan plain impression
        struct.pack(">HHI", width, height, len(image)),
        image,
    ])
    rep = struct.pack(">I", len(rep) + 4) + rep
    header = struct.pack(">4s4sIHBB", b"FIR\x00", b"020\x00", 16 + len(rep), 1, 0, 1)
    return header + rep


def sbi_hash(previous_hash: str, bio_value: bytes) -> str:
    prev = bytes.fromhex(previous_hash) if previous_hash.strip() else hashlib.sha256(b"").digest()
    return hashlib.sha256(prev + hashlib.sha256(bio_value).digest()).hexdigest().upper()


# ------------------------------------------------------------------------------------------
# The device service


class SbiDeviceService:
    """The emulated device and its HTTP service. Thread-safe enough for tests to flip faults."""

    def __init__(self, workdir: Path, *, port: int = 0, seed: int = 1, quality: int = 82,
                 compression: str = "jp2", env: str = "Staging") -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.quality = quality
        self.compression = compression
        self.env = env
        self.fault: str | None = None
        #: every request as (verb, path, parsed JSON body or None), for tests to inspect
        self.requests: list[tuple[str, str, Any]] = []
        self.captures = 0
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = self._bind(port)
        self.serial = f"SIM{seed:04d}{self.port}"
        # unique like a real device's id: a service that later takes over this port is another device
        self.device_id = f"sim-finger-{self.port}-{uuid.uuid4().hex[:8]}"
        self.signer = TestSigner(f"SBI test device {self.serial}")
        self.cert_path = self.workdir / f"sbi-{self.port}-cert.pem"
        self.cert_path.write_bytes(self.signer.pem())
        self._stranger: TestSigner | None = None
        self._serve()

    # -- lifecycle ----------------------------------------------------------------------------
    def _bind(self, port: int) -> int:
        # Each process starts its scan at its own offset, so emulators of parallel test workers
        # rarely reuse a port another one has just released (an unplugged device's port).
        span = PORT_LAST - PORT_FIRST + 1
        offset = os.getpid() % span
        candidates = [port] if port else [PORT_FIRST + (offset + i) % span for i in range(span)]
        for candidate in candidates:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", candidate), _make_handler(self))
            except OSError:
                continue
            server.daemon_threads = True
            self._server = server
            return candidate
        raise OSError(f"no free port among {len(candidates)} tried in {PORT_FIRST}-{PORT_LAST}")

    def _serve(self) -> None:
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sbi-mock-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def plugged(self) -> bool:
        return self._server is not None

    def unplug(self) -> None:
        """Stop answering: the port refuses connections, as when the scanner is pulled out."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def plug(self) -> None:
        if self._server is None:
            self._stop.clear()
            deadline = time.monotonic() + 3
            while True:
                try:
                    self._bind(self.port)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            self._serve()

    def close(self) -> None:
        self._stop.set()
        self.unplug()

    # -- device model -------------------------------------------------------------------------
    @property
    def device_status(self) -> str:
        return {"busy": "Busy", "not_ready": "Not Ready", "not_registered": "Not Registered"}.get(
            self.fault or "", "Ready")

    def digital_id(self) -> dict[str, Any]:
        return {"serialNo": self.serial, "make": "Kiosk Sim", "model": "SLAP-4S", "type": "Finger",
                "deviceSubType": "Slap", "deviceProvider": "Kiosk Simulated Devices",
                "deviceProviderId": "KIOSK.SIM", "dateTime": _now()}

    def _signer(self) -> TestSigner:
        if self.fault == "untrusted":
            if self._stranger is None:
                self._stranger = TestSigner("someone else's device", key_slot=1)
            return self._stranger
        return self.signer

    def discovery(self, body: Any) -> list[dict[str, Any]]:
        wanted = body.get("type") if isinstance(body, dict) else None
        if wanted not in ("Biometric Device", "Finger"):
            return []
        return [{
            "deviceId": self.device_id, "deviceStatus": self.device_status, "certification": "L0",
            "serviceVersion": "1.0", "deviceSubId": ["1", "2", "3"], "callbackId": self.url,
            "digitalId": b64url(json.dumps(self.digital_id()).encode()), "deviceCode": self.device_id,
            "specVersion": ["0.9.5"], "purpose": "Registration",
            "error": {"errorCode": "0", "errorInfo": "Success"},
        }]

    def device_info(self) -> list[dict[str, Any]]:
        info = {"specVersion": ["0.9.5"], "env": self.env, "deviceId": self.device_id,
                "deviceCode": self.device_id, "purpose": "Registration", "serviceVersion": "1.0",
                "deviceStatus": self.device_status, "firmware": "sim-1.4.2", "certification": "L0",
                "deviceSubId": ["1", "2", "3"], "callbackId": self.url}
        if self.device_status == "Not Registered":
            info["digitalId"] = b64url(json.dumps(self.digital_id()).encode())
            token = b64url(json.dumps(info).encode())
        else:
            signer = self._signer()
            info["digitalId"] = signer.sign(json.dumps(self.digital_id()).encode())
            token = signer.sign(json.dumps(info).encode(), corrupt=self.fault == "bad_signature")
        return [{"deviceInfo": token, "error": {"errorCode": "0", "errorInfo": "Success"}}]

    def capture(self, body: Any) -> dict[str, Any]:
        def failed(code: str, info: str) -> dict[str, Any]:
            return {"biometrics": [{"specVersion": "0.9.5", "data": "", "hash": "",
                                    "error": {"errorCode": code, "errorInfo": info}}]}

        if not isinstance(body, dict) or not isinstance(body.get("bio"), list) or not body["bio"]:
            return failed("500", "Invalid JSON Value Type For Registration Capture")
        if body.get("purpose") != "Registration":
            return failed("500", "Invalid Purpose")
        if self.fault == "busy":
            return failed("111", "Device is busy")
        if self.fault == "not_ready":
            return failed("110", "Device is not ready")
        if self.fault == "not_registered":
            return failed("100", "Device not registered")
        timeout_s = float(body.get("timeout", 10000)) / 1000
        if self.fault == "no_finger":
            self._stop.wait(min(timeout_s, 2.0))  # the real device waits out the whole timeout
            return failed("501", "Capture Timeout")
        biometrics = []
        for bio in body["bio"]:
            if not isinstance(bio, dict) or bio.get("type") != "Finger" or bio.get("deviceId") != self.device_id:
                return failed("500", "Invalid type or deviceId")
            try:
                sub_id = int(bio.get("deviceSubId", 0))
                count = int(bio.get("count", 1))
            except (TypeError, ValueError):
                return failed("500", "Invalid JSON Value")
            excluded = set(bio.get("exception") or [])
            asked = [s for s in (bio.get("bioSubType") or []) if s != "UNKNOWN"]
            pool = asked or list(SLAPS.get(sub_id, ()))
            fingers = [s for s in pool if s not in excluded and s in ISO_POSITIONS][:count]
            if not fingers:
                return failed("109", "Requested number of biometric not supported")
            previous = str(bio.get("previousHash") or "")
            requested = bio.get("requestedScore")
            for subtype in fingers:
                self.captures += 1
                position = ISO_POSITIONS[subtype]
                pixels = synthetic_finger(self.seed * 100 + position)
                quality = max(0, min(100, self.quality))
                record = iso_finger_record(pixels, position, quality, compression=self.compression)
                data = {"digitalId": self._signer().sign(json.dumps(self.digital_id()).encode()),
                        "deviceCode": self.device_id, "deviceServiceVersion": "1.0", "bioType": "Finger",
                        "bioSubType": subtype, "purpose": "Registration", "env": body.get("env", self.env),
                        "bioValue": b64url(record), "transactionId": body.get("transactionId"),
                        "timestamp": _now(), "requestedScore": str(requested), "qualityScore": str(quality)}
                token = self._signer().sign(json.dumps(data).encode(), corrupt=self.fault == "bad_signature")
                digest = sbi_hash(previous, record)
                if self.fault == "broken_hash":
                    digest = sbi_hash("", record + b"x")
                biometrics.append({"specVersion": body.get("specVersion", "0.9.5"), "data": token, "hash": digest,
                                   "error": {"errorCode": "0", "errorInfo": "Success"}})
                previous = digest
        return {"biometrics": biometrics}

    def stream_frames(self, count: int) -> list[bytes]:
        frames = []
        for i in range(count):
            pixels = synthetic_finger(self.seed * 100 + 50 + i % 5, 160, 200)
            ok, buf = cv2.imencode(".jpg", pixels)
            frames.append(buf.tobytes())
        return frames


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _make_handler(service: SbiDeviceService) -> type[BaseHTTPRequestHandler]:
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
            timeout_s = float(body.get("timeout", 5000)) / 1000 if isinstance(body, dict) else 5.0
            if service.fault == "silence":
                service._stop.wait(30)
                return
            boundary = "mosipframe"
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={boundary}")
            self.end_headers()
            deadline = time.monotonic() + min(timeout_s, 10.0)
            try:
                for jpeg in service.stream_frames(50):
                    if time.monotonic() > deadline or service._stop.is_set():
                        break
                    self.wfile.write(f"--{boundary}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
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


class SbiMock:
    """What start_for_station returns: the running service and the driver overrides."""

    def __init__(self, service: SbiDeviceService) -> None:
        self.service = service
        self.overrides: dict[str, Any] = {"port": service.port, "trusted_cert": str(service.cert_path)}

    def close(self) -> None:
        self.service.close()


def start_for_station(params: dict[str, Any], workdir: Path) -> SbiMock:
    """Start the emulator for a station: on the configured port if one is set, else a free one."""
    port = int(params.get("port", 0) or 0)
    return SbiMock(SbiDeviceService(Path(workdir), port=port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device_mocks.sbi", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: first free of 4501-4600)")
    parser.add_argument("--workdir", type=Path, default=Path("var/mocks"), help="where the certificate PEM goes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quality", type=int, default=82, help="qualityScore of every capture")
    parser.add_argument("--compression", choices=("jp2", "png", "wsq"), default="jp2")
    parser.add_argument("--fault", choices=FAULTS, default=None)
    args = parser.parse_args(argv)
    service = SbiDeviceService(args.workdir.resolve(), port=args.port, seed=args.seed, quality=args.quality,
                               compression=args.compression)
    service.fault = args.fault
    print(service.url, flush=True)
    print(f"cert: {service.cert_path}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        done.wait()
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
