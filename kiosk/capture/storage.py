"""Put checked samples into a record (:class:`kiosk.store.RecordStore` sample kinds):

``face`` (token JPEG/JPEG 2000), ``finger`` (WSQ/PNG at 500 ppi) with its ``finger_template``
(ISO/IEC 19794-2), ``signature`` (PNG at card resolution) with ``signature_points`` (JSON),
``iris`` (the ISO/IEC 19794-6 record per eye, position 1 right / 2 left), and finger and iris
exceptions. The quality report goes into the sample's metadata, so a manual
capture carries the checks that failed.
"""

from __future__ import annotations

from kiosk.capture.face_capture import FaceSample
from kiosk.capture.finger import FingerSample
from kiosk.capture.finger_exceptions import ExceptionDecision
from kiosk.capture.iris import IrisSample
from kiosk.capture.signature import SignatureSample
from kiosk.store import RecordStore


def store_face(store: RecordStore, record_id: str, sample: FaceSample, *, actor: str) -> int:
    meta = {"report": sample.report.to_dict(), "width": sample.width, "height": sample.height,
            "standard": "ISO/IEC 19794-5 token"}
    return store.put_sample(record_id, kind="face", data=sample.data, format=sample.format, position=0,
                            quality=None, metadata=meta, actor=actor)


def store_finger(store: RecordStore, record_id: str, sample: FingerSample, *, actor: str, ppi: int = 500) -> None:
    meta = {"report": sample.report.to_dict(), "ppi": ppi, "standard": "ISO/IEC 19794-4"}
    store.put_sample(record_id, kind="finger", data=sample.image, format=sample.image_format,
                     position=sample.position, quality=float(sample.nfiq2), metadata=meta, actor=actor)
    store.put_sample(record_id, kind="finger_template", data=sample.template, format="iso19794-2:2005",
                     position=sample.position, quality=float(sample.nfiq2),
                     metadata={"standard": "ISO/IEC 19794-2:2005"}, actor=actor)


def store_iris(store: RecordStore, record_id: str, sample: IrisSample, *, actor: str) -> None:
    """One eye: kind ``iris``, position = ISO/IEC 19794-6 eye label (1 right, 2 left)."""
    meta = {"report": sample.report.to_dict(), "width": sample.width, "height": sample.height,
            "standard": "ISO/IEC 19794-6:2011", "device_quality": sample.device_quality}
    store.put_sample(record_id, kind="iris", data=sample.data, format=sample.format, position=sample.eye,
                     quality=sample.device_quality, metadata=meta, actor=actor)


def store_signature(store: RecordStore, record_id: str, sample: SignatureSample, *, actor: str) -> None:
    meta = {"report": sample.report.to_dict()}
    store.put_sample(record_id, kind="signature", data=sample.image, format="png", metadata=meta, actor=actor)
    store.put_sample(record_id, kind="signature_points", data=sample.points, format="json", metadata=meta,
                     actor=actor)


def store_exception(store: RecordStore, record_id: str, decision: ExceptionDecision, *, actor: str) -> None:
    store.add_exception(record_id, decision.position, decision.reason.value, actor=actor,
                        approved_by=decision.approved_by)


def store_iris_exception(store: RecordStore, record_id: str, eye: int, reason: str, approved_by: str | None, *,
                         actor: str) -> None:
    """An eye that cannot be captured (checked by kiosk.enroll.irises.check_iris_exception)."""
    store.add_iris_exception(record_id, eye, reason, actor=actor, approved_by=approved_by)
