"""The one thin layer between the UI and the station's other parts (capture quality, storage,
sync, printing). Screens call these functions from their workers; each is a few lines over the
real module, so when those modules change only this file follows.

Nothing here imports Textual. Errors are the parts' own typed errors (KioskError subclasses);
the screens show them in words through the catalog.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from kiosk.capture.face import FaceAnalysis, analyze_face
from kiosk.capture.face_capture import AutoCapture, FaceCapture, FaceSample, face_sample
from kiosk.capture.finger import (DuplicatePair, FingerAssessment, FingerprintEngine, decode_finger_image,
                                  find_duplicates, finger_sample)
from kiosk.capture.finger_exceptions import check_exception
from kiosk.capture.iris import assess_iris, iris_sample
from kiosk.capture.report import QualityReport
from kiosk.capture.signature import SignatureSample, assess_signature, signature_sample
from kiosk.capture.storage import (store_exception, store_face, store_finger, store_iris, store_iris_exception,
                                   store_signature)
from kiosk.capture.thresholds import QualityThresholds, quality_thresholds
from kiosk.config import Config
from kiosk.devices.protocols import CardPrinter, FingerImage, IrisImage, PenPoint
from kiosk.enroll.irises import IRIS_ATTEMPT_ACTION, EyeSlots, IrisAttempt, check_iris_exception
from kiosk.errors import KioskError
from kiosk.store import RecordStore

log = logging.getLogger(__name__)


class FeatureUnavailable(KioskError):
    """A part of the station this screen needs is not configured (no camera in config.toml, no
    central key...). ``params['feature']`` names it (a catalog key under ``tui.feature``)."""

    code = "tui.unavailable"


@dataclass(frozen=True)
class QualityCheck:
    """One check on a sample: its message code (catalog), whether it passed, parameters."""

    code: str
    passed: bool
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""


def checks_of(report: QualityReport) -> list[QualityCheck]:
    return [QualityCheck(c.code, c.passed, dict(c.params), c.name) for c in report.checks]


def thresholds(cfg: Config) -> QualityThresholds:
    return quality_thresholds(cfg)


# -- face ---------------------------------------------------------------------------------------
def face_tracker(cfg: Config) -> AutoCapture:
    """Auto-capture over the camera's frames (kiosk.capture.face_capture.AutoCapture)."""
    return AutoCapture(thresholds(cfg).face)


def face_checks(image: np.ndarray, cfg: Config) -> list[QualityCheck]:
    """Every face check on one frame on its own (diagnostics' test capture)."""
    return checks_of(analyze_face(image, thresholds(cfg).face).report)


def manual_face(image: np.ndarray, analysis: FaceAnalysis) -> FaceCapture:
    """The operator keeps this frame although checks failed: its report says so (manual=True)."""
    return FaceCapture(image.copy(), replace(analysis, report=replace(analysis.report, manual=True)))


def save_face(store: RecordStore, record_id: str, capture: FaceCapture, cfg: Config, *, actor: str,
              reason: str = "") -> FaceSample:
    """ISO/IEC 19794-5 token crop + quality report into the record; a manual override is audited
    with its reason and the checks that failed."""
    sample = face_sample(capture, thresholds(cfg).face)
    store_face(store, record_id, sample, actor=actor)
    if capture.report.manual:
        store.log_action(actor, "face_override", record_id=record_id, reason=reason,
                         params={"failed": list(capture.report.failed_names)})
    return sample


# -- fingers ------------------------------------------------------------------------------------
def finger_engine(cfg: Config) -> FingerprintEngine:
    return FingerprintEngine(thresholds(cfg).finger)


def load_capture_models(cfg: Config) -> None:
    """NFIQ 2, mindtct and the face cascades, loaded ahead of the first capture (they stay
    loaded for the process's life: one-time memory, not growth over the day)."""
    th = thresholds(cfg)
    FingerprintEngine(th.finger).load_models()
    AutoCapture(th.face)  # its analyzers load the face and eye cascades


def check_pipeline(cfg: Config) -> list[Any]:
    """The start-up self-test of the capture pipeline on built-in samples (kiosk.ops.pipeline_check:
    finger, face, signature, card, packet); never raises, failures are logged."""
    from kiosk.ops.pipeline_check import run_pipeline_check

    return run_pipeline_check(thresholds(cfg))


def assess_finger(engine: FingerprintEngine, image: FingerImage, position: int) -> FingerAssessment:
    """NFIQ 2, minutiae and checks of one attempt (brought to 500 ppi first)."""
    return engine.assess_capture(image, position)


def save_finger(store: RecordStore, record_id: str, attempt: FingerAssessment, cfg: Config, *, actor: str) -> None:
    """WSQ/PNG image at 500 ppi + ISO/IEC 19794-2 template + NFIQ 2 into the record."""
    th = thresholds(cfg).finger
    store_finger(store, record_id, finger_sample(attempt, th), actor=actor, ppi=th.ppi)


def stored_minutiae(store: RecordStore, record_id: str, engine: FingerprintEngine,
                    positions: Sequence[int]) -> dict[int, Any]:
    """Minutiae of the fingers already in the record (a resumed draft has only the images)."""
    out: dict[int, Any] = {}
    for pos in positions:
        try:
            out[pos] = engine.minutiae(decode_finger_image(store.sample_data(record_id, "finger", pos)))
        except KioskError:
            continue
    return out


def wrong_fingers(minutiae: Mapping[int, Any], cfg: Config) -> list[DuplicatePair]:
    """Pairs of slots that hold the same finger (bozorth3 at or over the configured score)."""
    return find_duplicates(minutiae, thresholds(cfg).finger.duplicate_score)


def add_finger_exception(store: RecordStore, record_id: str, cfg: Config, position: int, reason: str, *,
                         operator: str, supervisor: str | None) -> None:
    """A finger that cannot be captured; the policy decides whether a supervisor must confirm."""
    decision = check_exception(cfg.policy, position, reason, operator=operator, supervisor=supervisor)
    store_exception(store, record_id, decision, actor=operator)


def needs_supervisor(cfg: Config, reason: str) -> bool:
    return reason in cfg.policy.supervisor_exceptions


# -- irises ---------------------------------------------------------------------------------------
def iris_attempts(store: RecordStore, record_id: str, images: Sequence[IrisImage], slots: EyeSlots, cfg: Config, *,
                  actor: str) -> list[tuple[IrisAttempt, QualityReport]]:
    """One capture of the eyes ``slots`` still wants: each eye checked against ``[quality.iris]``,
    stored when it beats the kept one (the best is kept), and audited as an ``iris_attempt`` (a
    resumed draft counts them). ``slots`` is only read."""
    th = thresholds(cfg).iris
    out = []
    for image in images:
        if image.eye not in slots.wanted():
            continue  # an eye already settled (the device may send both)
        report = assess_iris(image, th)
        keep = slots.keeps(image.eye, image.device_quality)
        if keep:
            store_iris(store, record_id, iris_sample(image, report, th), actor=actor)
        attempt = IrisAttempt(image.eye, image.device_quality, keep, report.passed)
        store.log_action(actor, IRIS_ATTEMPT_ACTION, record_id=record_id,
                         params={"eye": image.eye, "quality": image.device_quality, "kept": keep,
                                 "passed": report.passed})
        out.append((attempt, report))
    return out


def add_iris_exception(store: RecordStore, record_id: str, cfg: Config, eye: int, reason: str, *,
                       operator: str, supervisor: str | None) -> None:
    """An eye that cannot be captured; the policy decides whether a supervisor must confirm."""
    decision = check_iris_exception(cfg.policy, eye, reason, operator=operator, supervisor=supervisor)
    store_iris_exception(store, record_id, decision.eye, decision.reason.value, decision.approved_by, actor=operator)


def needs_iris_supervisor(cfg: Config, reason: str) -> bool:
    return reason in cfg.policy.supervisor_iris_exceptions


# -- signature ------------------------------------------------------------------------------------
def signature_checks(points: Sequence[PenPoint], cfg: Config) -> list[QualityCheck]:
    return checks_of(assess_signature(points, thresholds(cfg).signature))


def save_signature(store: RecordStore, record_id: str, points: Sequence[PenPoint], area_mm: tuple[float, float],
                   cfg: Config, *, actor: str) -> SignatureSample:
    """Card-resolution PNG + raw points JSON into the record (raises CaptureError when unusable)."""
    sample = signature_sample(points, thresholds(cfg).signature, writing_area_mm=area_mm)
    store_signature(store, record_id, sample, actor=actor)
    return sample


# -- network and central -------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkState:
    state: str  # unknown | online | degraded | offline
    last_sync: str | None
    pending_bytes: int
    #: (records done, records in this pass) while an upload pass runs, else None
    upload_progress: tuple[int, int] | None = None
    bytes_sent: int = 0
    last_error: str | None = None


class StationSync:
    """The station's sync worker running in a thread for as long as the UI runs (on a simulated
    station the Station starts the local central too, and schedules the upkeep after each pass)."""

    def __init__(self, cfg: Config) -> None:
        from kiosk.station import Station

        # its own store (own SQLite connection): the worker's threads never share the UI's
        self.store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        self._station = Station(cfg)
        self._lock = threading.Lock()
        self._progress: Any = None
        try:
            self.worker = self._station.sync_worker(store=self.store, on_progress=self._on_progress)
        except BaseException:
            self._station.close()
            self.store.close()
            raise
        self.worker.start_thread()

    def _on_progress(self, progress: Any) -> None:
        with self._lock:
            self._progress = progress

    def progress(self) -> Any:
        with self._lock:
            return self._progress

    def record_queued(self, record_id: str) -> None:
        """The UI queued a record: its packet is sealed now, not when the link is up."""
        self.worker.record_queued(record_id)

    def reachable(self) -> bool:
        self.worker.client.health()
        return True

    def close(self) -> None:
        try:
            self.worker.close()
        finally:
            self._station.close()
            self.store.close()


def start_sync(cfg: Config) -> StationSync:
    return StationSync(cfg)


def network_state(store: RecordStore, sync: StationSync | None) -> NetworkState:
    """Network state (the running worker's, else the one the last sync saved), pending bytes and
    the current upload pass."""
    from kiosk.sync.worker import queue_status

    status = queue_status(store)
    net = dict(status["network"])
    progress = None
    sent = 0
    if sync is not None:
        live = sync.worker.network()
        net = live.to_dict()
        p = sync.progress()
        if p is not None and p.phase == "upload" and p.total:
            progress, sent = (p.done, p.total), p.bytes_sent
    return NetworkState(str(net.get("state") or "unknown"), net.get("last_success"), int(status["pending_bytes"]),
                        progress, sent, net.get("last_error"))


def central_reachable(sync: StationSync | None) -> bool:
    if sync is None:
        raise FeatureUnavailable(feature="sync")
    return sync.reachable()


@dataclass(frozen=True)
class CentralCheck:
    """The technician's central check: whether the central answered and in how long, and the
    sync status in words as ``kiosk queue`` prints it (network, last contact, last sync errors)."""

    answered: bool
    round_trip_ms: int
    status_lines: list[str]


def check_central(sync: StationSync | None, store: RecordStore) -> CentralCheck:
    from kiosk.sync.status_words import status_lines
    from kiosk.sync.worker import queue_status

    started = time.monotonic()
    answered = central_reachable(sync)
    took = round((time.monotonic() - started) * 1000)
    return CentralCheck(answered, took, status_lines(queue_status(store)))


def central_decision(store: RecordStore, record_id: str) -> dict[str, Any]:
    """The central's last decision on a record: decision, reason, duplicate_of (for a duplicate,
    where the resident is already recorded), deletion request status. Empty when none yet."""
    from kiosk.sync.worker import deletion_status, ensure_schema

    ensure_schema(store)
    row = store.conn.execute("SELECT decision, reason, duplicate_of, decided_at FROM sync_decisions"
                             " WHERE record_id=?", (record_id,)).fetchone()
    out: dict[str, Any] = {}
    if row is not None:
        out = {"decision": row[0], "decided_at": row[3],
               "reason": json.loads(row[1]) if row[1] else None,
               "duplicate_of": json.loads(row[2]) if row[2] else None}
    deletion = deletion_status(store, record_id)
    if deletion:
        out["deletion"] = deletion.get("status")
    return out


# -- printing -------------------------------------------------------------------------------------
def card_preview(store: RecordStore, record_id: str, width: int = 508) -> bytes:
    """PNG of the card as it would print now: the permit's data when there is one (its issue
    date), else today's (kiosk.central.carddata, the function the central's permit hash covers)."""
    import datetime as dt

    from kiosk.central.carddata import card_from_store
    from kiosk.printer.layout import preview_png
    from kiosk.permits import held_permits

    held = held_permits(store, record_id)
    issued_at = held[-1].issued_at if held else dt.datetime.now(dt.timezone.utc).isoformat()
    card = card_from_store(store, record_id, issued_at=issued_at)
    return preview_png(card.data, width=width, photo=card.photo, signature=card.signature)


def stock_levels(store: RecordStore, cfg: Config, printer: CardPrinter | None) -> Any:
    """Cards booked, ribbon (the printer's last report when it tells, else the book) + warnings:
    the one stock read model ``kiosk stock`` shows too (kiosk.printer.stock)."""
    from kiosk.printer.stock import Stock

    return Stock(store, cfg.stock).levels(printer)
