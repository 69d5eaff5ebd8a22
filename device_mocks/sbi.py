"""SBI device service emulator: a slap fingerprint scanner's (or a two-eye iris device's) MOSIP
SBI service over HTTP.

Follows MOSIP's reference device service (mosip/mosip-mock-services MockMDS,
``SBIServiceResponse.java``, the ``io.mosip.registration.mdm.dto`` request DTOs,
``IntegerDeserializer.java``, ``application.properties``) where MockMDS follows the SBI
specification 0.9.5 (mosip/documentation ``docs/biometrics/mds-specification.md``,
``api/sbi/common.yaml``):

- request fields are checked as MockMDS's deserializers check them: JSON strings, not null, not
  empty, else error 123; ``timeout``, ``count`` and ``deviceSubId`` may also be integers, which
  is what common.yaml types them as (MockMDS refuses those: there it departs from the schema);
  ``requestedScore`` must be a string (a string in common.yaml too);
- then MockMDS's order of refusals: 115 env, 121 purpose, 704 no deviceId, 114 type, 705
  unknown deviceId, 120 type mismatch, 100 not registered, 110 not ready, 112 transactionId not
  4-50 letters/digits/hyphens, 122 bad bioSubType/exception, 109 unless a slap's count plus
  exceptions is 4 (2 for thumbs; iris: 1 per eye, 2 for both), 703 a capture in progress, 701
  capture timeout, 708 nothing to answer;
- a slap answers every finger of the slap but the exceptions, in MockMDS's order; scores are
  strings of floats ("82.0");
- finger records are ISO/IEC 19794-4:2011 with the certification flag and extended data
  blocks, iris records ISO/IEC 19794-6:2011 (device_mocks.sbi_records, after MockMDS's samples);
- STREAM declares ``boundary=--BoundaryString`` and writes ``--BoundaryString`` lines with
  ``Content-Length``, as MockMDS does; a refused STREAM is a JSON error object;
- discovery of another type answers 503 ("Devices are not Connected"), of an unknown type 502.

Signed fields are compact JWS (RS256) made with its own self-signed test certificate, generated
at start and written as PEM into the work folder so a driver can pin it. Finger images come
from the synthetic generator (device_mocks.fingerprints), iris images from device_mocks.irises.

Fault injection (``service.fault = ...`` or, when run alone, ``POST /mock/fault {"fault": ...}``):
``busy``, ``not_ready``, ``not_registered`` (deviceStatus and capture error codes), ``no_finger``
(capture ends with the timeout error 701), ``silence`` (accepts the request, never answers),
``bad_signature`` (a biometric's JWS signature is corrupted), ``untrusted`` (signed with another,
unpinned certificate), ``broken_hash`` (wrong hash chain), ``garbage`` (non-JSON answer).
``unplug()`` stops the server (the port refuses connections); ``plug()`` starts it again.

Run alone: ``python -m device_mocks.sbi [--port N] [--workdir DIR] [--iris]`` prints the service
URL on its first line and the certificate path on the second.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device_mocks.fingerprints import FingerprintGenerator
from device_mocks.irises import synthetic_iris
from device_mocks.sbi_http import FAULTS, make_handler, sbi_now
from device_mocks.sbi_records import encoded_image, iso_finger_record, iso_iris_record  # noqa: F401  (re-exported)
from device_mocks.sbi_signing import TestSigner, b64url
from device_mocks.sbi_requests import (  # noqa: F401  (SLAPS, ISO_POSITIONS: part of this module's API)
    ISO_POSITIONS,
    MESSAGES,
    SLAPS,
    CaptureAsk,
    RequestRefused,
    expected_biometrics,
    read_capture_request,
    read_stream_request,
)

PORT_FIRST, PORT_LAST = 4501, 4600

# ------------------------------------------------------------------------------------------
# Synthetic images


_FINGERS = FingerprintGenerator(seed=2026)


def synthetic_finger(seed: int, width: int = 320, height: int = 400) -> np.ndarray:
    """A grey synthetic fingerprint (finger ``seed``, first impression) from the shared generator."""
    return _FINGERS.impression(seed, 0, size=(height, width))


def sbi_hash(previous_hash: str, bio_value: bytes) -> str:
    prev = bytes.fromhex(previous_hash) if previous_hash.strip() else hashlib.sha256(b"").digest()
    return hashlib.sha256(prev + hashlib.sha256(bio_value).digest()).hexdigest().upper()


# ------------------------------------------------------------------------------------------
# The device service


class SbiDeviceService:
    """The emulated device and its HTTP service. Thread-safe enough for tests to flip faults.

    ``bio_type`` "Finger" (``finger_mode`` "slap": a 4-4-2 slap scanner, deviceSubType "Slap";
    "single": one finger at a time) or "Iris" (a two-eye "Double" device).
    """

    def __init__(self, workdir: Path, *, port: int = 0, seed: int = 1, quality: int = 82,
                 compression: str = "jp2", env: str = "Staging", bio_type: str = "Finger",
                 finger_mode: str = "slap") -> None:
        if bio_type not in ("Finger", "Iris") or finger_mode not in ("slap", "single"):
            raise ValueError(f"unknown device {bio_type}/{finger_mode}")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.seed = seed
        self.quality = quality
        #: per-bioSubType qualityScore overriding ``quality`` (tests: one poor eye)
        self.quality_of: dict[str, int] = {}
        self.compression = compression
        self.env = env
        self.bio_type = bio_type
        self.finger_mode = finger_mode
        self.fault: str | None = None
        #: every request as (verb, path, parsed JSON body or None), for tests to inspect
        self.requests: list[tuple[str, str, Any]] = []
        self.captures = 0
        self._capturing = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = self._bind(port)
        self.serial = f"SIM{seed:04d}{self.port}"
        # unique like a real device's id: a service that later takes over this port is another device
        self.device_id = f"sim-{bio_type.lower()}-{self.port}-{uuid.uuid4().hex[:8]}"
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
                server = ThreadingHTTPServer(("127.0.0.1", candidate), make_handler(self))
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

    @property
    def sub_ids(self) -> list[str]:
        return ["0"] if self.bio_type == "Finger" and self.finger_mode == "single" else ["1", "2", "3"]

    def digital_id(self) -> dict[str, Any]:
        if self.bio_type == "Iris":
            model, sub_type = "IRIS-2E", "Double"
        else:
            model, sub_type = ("SLAP-4S", "Slap") if self.finger_mode == "slap" else ("FP-1", "Single")
        return {"serialNo": self.serial, "make": "Kiosk Sim", "model": model, "type": self.bio_type,
                "deviceSubType": sub_type, "deviceProvider": "Kiosk Simulated Devices",
                "deviceProviderId": "KIOSK.SIM", "dateTime": sbi_now()}

    def _signer(self) -> TestSigner:
        if self.fault == "untrusted":
            if self._stranger is None:
                self._stranger = TestSigner("someone else's device", key_slot=1)
            return self._stranger
        return self.signer

    @staticmethod
    def error_list(code: str) -> list[dict[str, Any]]:
        """MockMDS's SBIJsonInfo.getErrorJson shape."""
        return [{"error": {"errorCode": code, "errorInfo": MESSAGES.get(code, "No Description available.")}}]

    def discovery(self, body: Any) -> list[dict[str, Any]]:
        wanted = body.get("type") if isinstance(body, dict) else None
        if not isinstance(body, dict) or (wanted is not None and not isinstance(wanted, str)):
            return self.error_list("123")
        if wanted not in ("Biometric Device", "Finger", "Face", "Iris"):
            return self.error_list("502")
        if wanted not in ("Biometric Device", self.bio_type):
            return self.error_list("503")
        return [{
            "deviceId": self.device_id, "deviceStatus": self.device_status, "certification": "L0",
            "serviceVersion": "1.0", "deviceSubId": self.sub_ids, "callbackId": self.url,
            "digitalId": b64url(json.dumps(self.digital_id()).encode()), "deviceCode": self.device_id,
            "specVersion": ["0.9.5"], "purpose": "Registration",
            "error": {"errorCode": "0", "errorInfo": "Success"},
        }]

    def device_info(self) -> list[dict[str, Any]]:
        info = {"specVersion": ["0.9.5"], "env": self.env, "deviceId": self.device_id,
                "deviceCode": self.device_id, "purpose": "Registration", "serviceVersion": "1.0",
                "deviceStatus": self.device_status, "firmware": "sim-1.4.2", "certification": "L0",
                "deviceSubId": self.sub_ids, "callbackId": self.url}
        if self.device_status == "Not Registered":
            info["digitalId"] = b64url(json.dumps(self.digital_id()).encode())
            token = b64url(json.dumps(info).encode())
        else:
            signer = self._signer()
            info["digitalId"] = signer.sign(json.dumps(self.digital_id()).encode())
            token = signer.sign(json.dumps(info).encode(), corrupt=self.fault == "bad_signature")
        return [{"deviceInfo": token, "error": {"errorCode": "0", "errorInfo": "Success"}}]

    def capture(self, body: Any) -> dict[str, Any]:
        spec = body.get("specVersion", "") if isinstance(body, dict) and isinstance(
            body.get("specVersion"), str) else ""

        def failed(code: str) -> dict[str, Any]:
            # MockMDS's SBIJsonInfo.getCaptureErrorJson shape
            return {"biometrics": [{"specVersion": spec, "data": "", "hash": "",
                                    "error": {"errorCode": code, "errorInfo": MESSAGES.get(code, "")}}]}

        try:
            ask = read_capture_request(body)
            device_id = body["bio"][0]["deviceId"]
            if device_id != self.device_id:
                raise RequestRefused("705")
            if ask.bio_type != self.bio_type:
                raise RequestRefused("120")
            if self.fault == "not_registered":
                raise RequestRefused("100")
            if self.fault == "not_ready":
                raise RequestRefused("110")
            answer = expected_biometrics(ask, self.finger_mode)
        except RequestRefused as refused:
            return failed(refused.code)
        if self.fault == "busy" or not self._capturing.acquire(blocking=False):
            return failed("703")
        try:
            # no finger on the glass: wait for one until the request's timeout (at most 2 s here)
            deadline = time.monotonic() + min(ask.timeout_s, 2.0)
            while self.fault == "no_finger" and not self._stop.is_set():
                if time.monotonic() >= deadline:
                    return failed("701")
                time.sleep(0.02)
            if not answer:
                return failed("708")
            return {"biometrics": self._biometrics(ask, answer)}
        finally:
            self._capturing.release()

    def _biometrics(self, ask: CaptureAsk, answer: list[str]) -> list[dict[str, Any]]:
        biometrics = []
        previous = ask.previous_hash
        for subtype in answer:
            self.captures += 1
            quality = max(0, min(100, self.quality_of.get(subtype, self.quality)))
            if self.bio_type == "Iris":
                eye = 2 if subtype == "Left" else 1
                compression = "png" if self.compression == "png" else "jp2"
                pixels, encoded = encoded_image(f"iris-{eye}", self.seed, compression)
                record = iso_iris_record(pixels, eye, quality, compression=compression, encoded=encoded)
            else:
                position = ISO_POSITIONS[subtype]
                pixels, encoded = encoded_image("finger", self.seed * 100 + position, self.compression)
                record = iso_finger_record(pixels, position, quality, compression=self.compression, encoded=encoded)
            data = {"digitalId": self._signer().sign(json.dumps(self.digital_id()).encode()),
                    "deviceCode": self.device_id, "deviceServiceVersion": "1.0", "bioType": self.bio_type,
                    "bioSubType": subtype, "purpose": "Registration", "env": ask.env,
                    "bioValue": b64url(record), "transactionId": ask.transaction_id,
                    "timestamp": sbi_now(), "requestedScore": f"{ask.requested_score:.1f}",
                    "qualityScore": f"{float(quality):.1f}"}
            token = self._signer().sign(json.dumps(data).encode(), corrupt=self.fault == "bad_signature")
            digest = sbi_hash(previous, record)
            if self.fault == "broken_hash":
                digest = sbi_hash("", record + b"x")
            biometrics.append({"specVersion": "0.9.5", "data": token, "hash": digest,
                               "error": {"errorCode": "0", "errorInfo": "Success"}})
            previous = digest
        return biometrics

    def stream_frames(self, count: int) -> Iterator[bytes]:
        """Preview frames, made one at a time (the first goes out at once, as from a sensor)."""
        for i in range(count):
            if self.bio_type == "Iris":
                pixels = np.ascontiguousarray(synthetic_iris(self.seed, 1 + i % 2, 320, 240))
            else:
                pixels = synthetic_finger(self.seed * 100 + 50 + i % 5, 160, 200)
            ok, buf = cv2.imencode(".jpg", pixels)
            yield buf.tobytes()


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
    parser.add_argument("--iris", action="store_true", help="a two-eye iris device instead of a slap scanner")
    parser.add_argument("--single", action="store_true", help="a single-finger sensor instead of a slap scanner")
    args = parser.parse_args(argv)
    service = SbiDeviceService(args.workdir.resolve(), port=args.port, seed=args.seed, quality=args.quality,
                               compression=args.compression, bio_type="Iris" if args.iris else "Finger",
                               finger_mode="single" if args.single else "slap")
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
