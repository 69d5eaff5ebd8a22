"""MOSIP SBI (Secure Biometric Interface, formerly MDS) fingerprint driver: single-finger
sensors and slap scanners.

The service, discovery, signatures and the RCAPTURE exchange are in
:mod:`kiosk.devices.sbi_device`; the request shapes and error codes in :mod:`kiosk.devices.sbi_wire`
(references there: the SBI specification 0.9.5, MOSIP's registration client, MOSIP's MockMDS).

A *slap scanner* (discovery digitalId ``deviceSubType`` "Slap") captures a whole slap: deviceSubId
1 (left four fingers), 2 (right four), 3 (both thumbs), with ``count`` = 4 - exceptions (2 for
thumbs) and no bioSubType, and answers one biometric per finger of the slap: that is how the
registration client asks and the only request MockMDS accepts (any other count is error 109).
:meth:`SbiFingerprintDriver.capture_slap` does that and returns one image per finger; capturing
one finger on a slap scanner captures its slap and keeps that finger. A single-finger sensor is
asked for one bioSubType at a time. Each finger's ``bioValue`` is an ISO/IEC 19794-4:2011 record
(:mod:`kiosk.devices.iso19794_4`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import cv2
import httpx
import numpy as np

from kiosk.devices.errors import DeviceAbsent, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.iso19794_4 import IsoRecordError, parse_record
from kiosk.devices.protocols import FingerImage, FingerprintScanner
from kiosk.devices.sbi_device import SbiDevice, SbiParams, VerifiedBiometric
from kiosk.devices.sbi_wire import (  # noqa: F401  (chain_hash, sbi_error: part of this module's API)
    FINGER_SUBTYPES,
    SLAP_OF,
    SLAPS,
    SUBTYPE_POSITIONS,
    chain_hash,
    error_of,
    multipart_frames,
    sbi_error,
    stream_request,
)

CAPTURE_MODES = ("auto", "slap", "single")


class SbiFingerprintDriver(SbiDevice, FingerprintScanner):
    """Registration-capture client of an SBI 0.9.5 fingerprint device service."""

    @dataclass(frozen=True)
    class Params(SbiParams):
        #: "auto": by slap when discovery says deviceSubType "Slap", else finger by finger;
        #: "slap" or "single" to force one way
        capture_mode: str = "auto"

    kind: ClassVar[str] = "fingerprint"
    bio_type: ClassVar[str] = "Finger"

    def __init__(self, name: str, params: Params) -> None:
        super().__init__(name, params)
        self.params: SbiFingerprintDriver.Params = params
        if params.capture_mode not in CAPTURE_MODES:
            raise ValueError(f"capture_mode {params.capture_mode!r} not in {CAPTURE_MODES}")

    @property
    def supports_slap(self) -> bool:
        mode = self.params.capture_mode
        return mode == "slap" or (mode == "auto" and self.is_open and self.device_sub_type == "Slap")

    # -- capture ----------------------------------------------------------------------------
    def capture(self, position: int = 0, *, timeout_s: float = 10.0,
                cancel: threading.Event | None = None) -> FingerImage:
        return self.capture_fingers([position], timeout_s=timeout_s, cancel=cancel)[0]

    def capture_slap(self, slap: int, exceptions: tuple[int, ...] = (), *, timeout_s: float = 10.0,
                     cancel: threading.Event | None = None, requested_score: int | None = None) -> list[FingerImage]:
        self.require_open()
        if slap not in SLAPS or any(e not in SLAPS[slap] for e in exceptions) or len(set(exceptions)) != len(
                exceptions) or len(exceptions) >= len(SLAPS[slap]):
            raise ValueError(f"bad slap {slap} / exceptions {exceptions}")
        if not self.supports_slap:
            raise DeviceFault("slap_unsupported", device=self.name)
        with self.exclusive_capture():
            self._require_ready()
            images, _ = self._slap(slap, exceptions, requested_score, "", timeout_s, cancel)
            return images

    def capture_fingers(self, positions: list[int], *, exceptions: tuple[int, ...] = (),
                        requested_score: int | None = None, timeout_s: float = 10.0,
                        cancel: threading.Event | None = None) -> list[FingerImage]:
        """Registration capture of ``positions``, in that order; hashes chained across the
        requests. On a slap scanner each slap touched is captured whole (``exceptions`` of that
        slap left out) and the asked fingers kept; position 0 takes the left slap's first."""
        self.require_open()
        known = [p for p in positions if p != 0]
        if not positions or len(set(known)) != len(known) or any(p not in FINGER_SUBTYPES for p in positions) or any(
                e not in FINGER_SUBTYPES or e == 0 or e in positions for e in exceptions):
            raise ValueError(f"bad finger positions {positions} / exceptions {exceptions}")
        with self.exclusive_capture():
            self._require_ready()
            images: list[FingerImage] = []
            previous = ""
            if self.supports_slap:
                slaps = list(dict.fromkeys(SLAP_OF.get(p, 1) for p in positions))
                for slap in slaps:
                    got, previous = self._slap(slap, tuple(e for e in exceptions if e in SLAPS[slap]),
                                               requested_score, previous, timeout_s, cancel)
                    images.extend(got)
            else:
                for pos in positions:
                    bios = self.rcapture(sub_id=self._single_sub_id(pos), count=1,
                                         bio_sub_types=[FINGER_SUBTYPES[pos]], exceptions=[], wanted=(
                                             set(SUBTYPE_POSITIONS) if pos == 0 else {FINGER_SUBTYPES[pos]}),
                                         requested_score=requested_score, previous_hash=previous,
                                         timeout_s=timeout_s, cancel=cancel)
                    if len(bios) != 1:
                        raise DeviceProtocolError("sbi.missing_biometric", device=self.name,
                                                  missing=FINGER_SUBTYPES[pos])
                    images.append(self._image(bios[0]))
                    previous = bios[0].hash
            by_position = {img.position: img for img in images}
            spare = [img for img in images if img.position not in positions]
            return [by_position[p] if p in by_position and p != 0 else spare.pop(0) for p in positions]

    def _single_sub_id(self, position: int) -> int:
        offered = self.offered_sub_ids()
        wanted = SLAP_OF.get(position)
        if wanted is not None and wanted in offered:
            return wanted
        return offered[0] if offered else 0

    def _slap(self, slap: int, exceptions: tuple[int, ...], requested_score: int | None, previous_hash: str,
              timeout_s: float, cancel: threading.Event | None) -> tuple[list[FingerImage], str]:
        expected = [p for p in SLAPS[slap] if p not in exceptions]
        wanted = {FINGER_SUBTYPES[p] for p in expected}
        bios = self.rcapture(sub_id=slap, count=len(expected), bio_sub_types=None,
                             exceptions=[FINGER_SUBTYPES[e] for e in exceptions], wanted=wanted,
                             requested_score=requested_score, previous_hash=previous_hash, timeout_s=timeout_s,
                             cancel=cancel)
        got = [b.bio_sub_type for b in bios]
        if sorted(got) != sorted(wanted):
            missing = sorted(wanted - set(got)) or ["duplicate " + ", ".join(sorted(got))]
            raise DeviceProtocolError("sbi.missing_biometric", device=self.name, missing=", ".join(missing))
        by_position = {SUBTYPE_POSITIONS[b.bio_sub_type]: self._image(b) for b in bios}
        return [by_position[p] for p in expected], bios[-1].hash

    def _image(self, bio: VerifiedBiometric) -> FingerImage:
        try:
            record = parse_record(bio.bio_value)
            rep = record.representations[0]
            pixels = rep.decode()
        except IsoRecordError as exc:
            raise DeviceProtocolError("sbi.iso_record", device=self.name, detail=str(exc)) from None
        data = bio.data
        return FingerImage(
            pixels=pixels, ppi=rep.ppi, position=SUBTYPE_POSITIONS[bio.bio_sub_type], captured_at=time.time(),
            device_quality=bio.quality,
            metadata={"bio_sub_type": bio.bio_sub_type, "transaction_id": data.get("transactionId"),
                      "hash": bio.hash, "requested_score": data.get("requestedScore"),
                      "device_code": data.get("deviceCode"), "timestamp": data.get("timestamp"),
                      "compression": rep.compression_name, "iso_19794_4": bio.bio_value,
                      "iso_comment": rep.comment},
        )

    # -- live preview -----------------------------------------------------------------------
    def preview(self, position: int = 0, *, frames: int = 10, timeout_s: float = 5.0) -> Iterator[np.ndarray]:
        """Up to ``frames`` grey preview images from the STREAM verb (multipart JPEG)."""
        self.require_open()
        assert self._client is not None
        sub_id = SLAP_OF.get(position, 1) if self.supports_slap else self._single_sub_id(position)
        body = stream_request(device_id=self.device_id, device_sub_id=sub_id, timeout_ms=int(timeout_s * 1000))
        content = httpx.Request("STREAM", "http://x", json=body).content
        self.log.record("tx", f"STREAM :{self._port}/stream ".encode() + content)
        try:
            with self._client.stream("STREAM", f"http://{self.params.host}:{self._port}/stream", content=content,
                                     timeout=httpx.Timeout(timeout_s, connect=1.0)) as resp:
                if resp.status_code != 200:
                    raise DeviceProtocolError("sbi.http_status", device=self.name, verb="STREAM",
                                              status=resp.status_code)
                ctype = resp.headers.get("content-type", "")
                if ctype.startswith("application/json"):
                    # MockMDS answers a refused STREAM with a JSON error object
                    err = error_of(_json_or_none(resp.read()))
                    if err is not None:
                        raise sbi_error(err[0], err[1], device=self.name, bio_type=self.bio_type)
                    raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream")
                boundary = ctype.partition("boundary=")[2].split(";")[0].strip().strip('"')
                if not boundary:
                    raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream boundary")
                count = 0
                try:
                    for part in multipart_frames(resp.iter_bytes(), boundary.encode()):
                        image = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_GRAYSCALE)
                        if image is None:
                            raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream frame")
                        yield image
                        count += 1
                        if count >= frames:
                            return
                except ValueError:
                    raise DeviceProtocolError("sbi.malformed", device=self.name, field="stream frame") from None
        except httpx.ConnectError:
            raise DeviceAbsent(device=self.name, port=self._port) from None
        except httpx.TimeoutException:
            raise DeviceTimeout(device=self.name, port=self._port, verb="STREAM") from None
        except httpx.TransportError:
            raise DeviceAbsent(device=self.name, port=self._port) from None


def _json_or_none(data: bytes) -> object:
    try:
        return json.loads(data)
    except ValueError:
        return None
