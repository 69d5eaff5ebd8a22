"""MOSIP SBI iris driver: two-eye ("Double") and one-eye ("Single") SBI iris devices.

The service, discovery, signatures and RCAPTURE exchange are in :mod:`kiosk.devices.sbi_device`
(references: SBI specification 0.9.5, MOSIP's registration client, MOSIP's MockMDS). For an iris
device the specification and MockMDS use bioType "Iris", bioSubType "Left" / "Right" and
deviceSubId 1 (left eye), 2 (right eye), 3 (both); MockMDS accepts count 1 without exceptions
for one eye and count + exceptions = 2 for both, which is how the registration client asks
("double" modality: count = 2 - exceptions, no bioSubType). Each ``bioValue`` is an ISO/IEC
19794-6:2011 record (:mod:`kiosk.devices.iso19794_6`); the driver keeps it as delivered for the
sealed packet and decodes the image for the operator and the quality check.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import ClassVar

from kiosk.devices.errors import DeviceProtocolError
from kiosk.devices.iso19794_6 import IrisRecordError, parse_iris_record
from kiosk.devices.protocols import IrisImage, IrisScanner
from kiosk.devices.sbi_device import SbiDevice, SbiParams, VerifiedBiometric
from kiosk.devices.sbi_wire import EYE_LEFT, EYE_RIGHT, IRIS_SUB_ID, IRIS_SUBTYPE_EYES, IRIS_SUBTYPES


class SbiIrisDriver(SbiDevice, IrisScanner):
    """Registration-capture client of an SBI 0.9.5 iris device service."""

    @dataclass(frozen=True)
    class Params(SbiParams):
        pass

    kind: ClassVar[str] = "iris"
    bio_type: ClassVar[str] = "Iris"

    def __init__(self, name: str, params: Params) -> None:
        super().__init__(name, params)
        self.params: SbiIrisDriver.Params = params

    def capture_irises(self, eyes: tuple[int, ...] = (EYE_RIGHT, EYE_LEFT), *, exceptions: tuple[int, ...] = (),
                       timeout_s: float = 10.0, cancel: threading.Event | None = None,
                       requested_score: int | None = None) -> list[IrisImage]:
        self.require_open()
        if not eyes or len(set(eyes)) != len(eyes) or any(e not in IRIS_SUBTYPES for e in (*eyes, *exceptions)) or set(
                eyes) & set(exceptions):
            raise ValueError(f"bad eyes {eyes} / exceptions {exceptions}")
        both = self.device_sub_type != "Single" and 3 in self.offered_sub_ids()
        with self.exclusive_capture():
            self._require_ready()
            images: list[IrisImage] = []
            previous = ""
            if both:
                # one request for the pair, as the registration client asks a "Double" device
                wanted = tuple(sorted(set(eyes) | set(exceptions), reverse=True))
                exc = [IRIS_SUBTYPES[e] for e in (EYE_LEFT, EYE_RIGHT) if e not in wanted or e in exceptions]
                asked = [e for e in (EYE_LEFT, EYE_RIGHT) if e in eyes]
                requests = [(3, asked, exc)]
            else:
                requests = [(IRIS_SUB_ID[(e,)], [e], []) for e in eyes]
            for sub_id, asked, exc in requests:
                names = {IRIS_SUBTYPES[e] for e in asked}
                bios = self.rcapture(sub_id=sub_id, count=len(asked), bio_sub_types=None, exceptions=exc,
                                     wanted=names, requested_score=requested_score, previous_hash=previous,
                                     timeout_s=timeout_s, cancel=cancel)
                if sorted(b.bio_sub_type for b in bios) != sorted(names):
                    raise DeviceProtocolError("sbi.missing_biometric", device=self.name,
                                              missing=", ".join(sorted(names - {b.bio_sub_type for b in bios})) or
                                              "duplicate")
                images.extend(self._image(b) for b in bios)
                previous = bios[-1].hash
            by_eye = {img.eye: img for img in images}
            return [by_eye[e] for e in eyes]

    def _image(self, bio: VerifiedBiometric) -> IrisImage:
        eye = IRIS_SUBTYPE_EYES[bio.bio_sub_type]
        try:
            rep = parse_iris_record(bio.bio_value).representations[0]
            pixels = rep.decode()
        except IrisRecordError as exc:
            raise DeviceProtocolError("sbi.iso_record", device=self.name, detail=str(exc)) from None
        if rep.eye not in (0, eye):
            raise DeviceProtocolError("sbi.unexpected_biometric", device=self.name, bio_type="Iris",
                                      bio_sub_type=f"{bio.bio_sub_type} / record eye {rep.eye_name}")
        data = bio.data
        quality = bio.quality if bio.quality is not None else (float(rep.quality) if rep.quality is not None else None)
        return IrisImage(pixels=pixels, eye=eye, captured_at=time.time(), device_quality=quality,
                         record=bio.bio_value,
                         metadata={"bio_sub_type": bio.bio_sub_type, "transaction_id": data.get("transactionId"),
                                   "hash": bio.hash, "requested_score": data.get("requestedScore"),
                                   "device_code": data.get("deviceCode"), "timestamp": data.get("timestamp"),
                                   "image_format": rep.format_name, "iso_quality": rep.quality})
