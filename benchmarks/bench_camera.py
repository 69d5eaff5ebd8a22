"""Camera frame latency and SBI capture round trip, both against their mocks.

- ``camera_frame_latency``: time from the reader thread's read of a frame to its hand-out by
  ``latest(newer_than=...)``, median and p95, against the frame interval at the configured rate
  (the camera's own limit: a frame can be at most that old when the next one replaces it).
- ``sbi_capture``: one slap (four fingers) per registration capture through the driver (status check, RCAPTURE,
  JWS verification, hash chain, ISO record parse, JPEG 2000 decode) against a plain httpx
  RCAPTURE of the same request to the same emulator (the wire and the device's own work).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks.run import result
from device_mocks.camera import write_video
from device_mocks.sbi import SbiDeviceService
from kiosk.devices.camera import OpenCvCameraDriver
from kiosk.devices.sbi import SbiFingerprintDriver
from kiosk.devices.sbi_wire import capture_request


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def camera_frame_latency(frames: int = 120, width: int = 640, height: int = 480, fps: float = 30.0) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(Path(tmp) / "bench.avi", "face:1", width=width, height=height, fps=fps)
        cam = OpenCvCameraDriver("camera", OpenCvCameraDriver.Params(source=str(path), width=width, height=height,
                                                                     fps=fps, loop=True))
        latencies: list[float] = []
        with cam:
            last = cam.latest().seq
            for _ in range(frames):
                frame = cam.latest(newer_than=last)
                latencies.append(time.monotonic() - frame.timestamp)
                last = frame.seq
            stats = cam.stats()
    interval_ms = 1000.0 / fps
    return [
        result("camera_frame_latency", "median_ms", statistics.median(latencies) * 1000, "ms", interval_ms),
        result("camera_frame_latency", "p95_ms", _p95(latencies) * 1000, "ms", interval_ms),
        result("camera_frame_latency", "delivered_fps", stats.fps, "fps", fps),
        result("camera_frame_latency", "dropped", float(stats.dropped), "frames", float(stats.frames)),
    ]


def sbi_capture(rounds: int = 12) -> list[dict[str, Any]]:
    """One slap (the right four fingers) per round through the driver (status check, RCAPTURE,
    four JWS verified, hash chain, four ISO 19794-4 records parsed and decoded), next to a plain
    httpx RCAPTURE of the same request that only reads the JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        service = SbiDeviceService(Path(tmp), seed=7)
        try:
            driver = SbiFingerprintDriver("finger-sbi", SbiFingerprintDriver.Params(
                trusted_cert=service.cert_path, port=service.port))
            with driver:
                driver.capture_slap(2)  # warm-up: connections, codecs
                ours = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    driver.capture_slap(2, timeout_s=5)
                    ours.append(time.perf_counter() - started)
                plain = []
                with httpx.Client(timeout=10) as client:
                    for _ in range(rounds):
                        body = capture_request(env="Staging", spec_version="0.9.5", timeout_ms=5000,
                                               capture_time="2026-01-01T00:00:00Z", transaction_id=str(uuid.uuid4()),
                                               bio_type="Finger", count=4, bio_sub_types=None, exceptions=[],
                                               requested_score=40, device_id=driver.device_id, device_sub_id=2,
                                               previous_hash="")
                        started = time.perf_counter()
                        resp = client.request("RCAPTURE", f"{service.url}/capture", content=json.dumps(body).encode(),
                                              headers={"Content-Type": "application/json"})
                        resp.json()
                        plain.append(time.perf_counter() - started)
        finally:
            service.close()
    base = statistics.median(plain) * 1000
    return [
        result("sbi_capture", "per_slap_median_ms", statistics.median(ours) * 1000, "ms", base),
        result("sbi_capture", "per_slap_p95_ms", _p95(ours) * 1000, "ms", _p95(plain) * 1000),
    ]


BENCHES = {"camera_frame_latency": camera_frame_latency, "sbi_capture": sbi_capture}
