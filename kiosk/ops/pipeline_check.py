"""The station's start-up self-test of its enrollment pipeline, on built-in samples (issue 11 §3).

A station checks at start that what an enrollment needs works: one synthetic finger through
NFIQ 2, mindtct, bozorth3 and the WSQ codec (NIST's code in nbis-py, the ``wsq`` Pillow
plugin), one portrait through the face checks and the ISO/IEC 19794-5 token JPEG, one
signature rendered to its PNG, one card rendered from those samples, and one packet sealed
and opened again (X25519 + AES-GCM + Ed25519, :mod:`kiosk.central.packet`) with throwaway keys.

Why at start: tui_day (benchmarks/bench_tui_day.py) found that the first resident of the day
paid for everything these calls load once per process: library code paged in (OpenCV,
nbis, libjpeg, FreeType), codec and font tables, Pillow's plugins, malloc arenas of the
capture workers: tens of MB that appeared as "growth" during the first enrollment and
seconds the first resident waited. Run here, in the worker that loads the capture models
while the operator logs in, the first resident waits for none of it, and a broken pipeline
(a missing model, a codec that does not round-trip) is in the technician's log before the
first resident sits down.

It creates nothing: no record, no queue entry, no audit row, no file; the samples are built
in memory (the finger is drawn from a seeded ridge pattern; the portrait is
``data/self_test_face.jpg``, the head of NASA's public-domain portrait of Eileen Collins,
as ``device_mocks/data/astronaut_head.png`` ships it). A failed check is logged with its
reason and returned; it never raises: the capture step that needs the part reports it to
the operator in words.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Callable

import numpy as np

from kiosk.capture.thresholds import QualityThresholds

if TYPE_CHECKING:
    from kiosk.devices.protocols import PenPoint

log = logging.getLogger("kiosk.selftest")

#: a 500 ppi finger image the size of a FAP 20 sensor's (height, width)
FINGER_SHAPE = (400, 360)
#: ridge period at 500 ppi (about 0.45 mm between ridges, an adult's)
RIDGE_PERIOD_PX = 9.0
#: a WSQ round trip at the codec's default rate keeps each pixel within this of the original on
#: average (measured 9.2 on the synthetic finger; a broken codec is off by ~100)
WSQ_MEAN_ERROR_MAX = 24.0


@dataclass(frozen=True)
class PipelineCheck:
    """One part of the pipeline checked at start: ``reason`` says what failed (empty when passed)."""

    name: str
    passed: bool
    seconds: float
    reason: str = ""


class SelfTestFailed(Exception):
    """A check's result was wrong (the reason is its message)."""


def synthetic_finger(seed: int = 11) -> np.ndarray:
    """A finger-like ridge pattern (uint8, 500 ppi, white around the finger): concentric ridges
    bent by smooth seeded noise, so mindtct finds endings and bifurcations and NFIQ 2 scores it."""
    import cv2

    h, w = FINGER_SHAPE
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h * 0.55, w * 0.5
    radius = np.hypot((x - cx) / 0.85, y - cy)
    angle = np.arctan2(y - cy, x - cx)
    bend = cv2.GaussianBlur(rng.normal(0.0, 1.0, (h, w)).astype(np.float32), (0, 0), 12)
    bend *= 12.0 / float(bend.std())
    ridges = np.cos(2 * np.pi * (radius + 2.5 * np.sin(3 * angle) + bend) / RIDGE_PERIOD_PX)
    inside = ((x - cx) / 150) ** 2 + ((y - cy) / 185) ** 2 < 1
    return np.where(inside, 128 - 100 * ridges, 255).clip(0, 255).astype(np.uint8)


def synthetic_signature() -> list[PenPoint]:
    """Two pen strokes (mm, 0.01 s apart), long enough to pass the signature checks."""
    from kiosk.devices.protocols import PenPoint

    points = []
    for stroke, (x0, width) in enumerate(((5.0, 30.0), (40.0, 25.0))):
        for i in range(60):
            t = i / 59
            points.append(PenPoint(x0 + width * t, 15.0 + 6.0 * np.sin(2 * np.pi * 2.5 * t + stroke), 0.6, True,
                                   stroke + i * 0.01))
        points.append(PenPoint(x0 + width, 15.0, 0.0, False, stroke + 0.6))  # pen lifted
    return points


def face_sample_image() -> np.ndarray:
    """The built-in portrait, decoded for each run (not cached: the self-test runs once per start,
    and its pixels would stay in memory for nothing)."""
    import cv2

    data = resources.files("kiosk.ops").joinpath("data/self_test_face.jpg").read_bytes()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SelfTestFailed("the built-in portrait does not decode")
    return image


def _check(condition: bool, reason: str) -> None:
    if not condition:
        raise SelfTestFailed(reason)


class PipelineSelfTest:
    """The checks in the order an enrollment runs them; later checks use earlier results (the
    card is rendered from the face token and the signature made before it)."""

    def __init__(self, thresholds: QualityThresholds) -> None:
        self.th = thresholds
        self.face_token = b""
        self.signature_png = b""
        self.finger_wsq = b""

    def finger(self) -> None:
        from kiosk.capture.finger import FingerprintEngine, decode_finger_image, finger_sample

        engine = FingerprintEngine(self.th.finger)
        image = synthetic_finger()
        attempt = engine.assess(image, 2)  # right index: NFIQ 2 and mindtct
        _check(0 <= attempt.nfiq2 <= 100, f"NFIQ 2 score {attempt.nfiq2}")
        _check(len(attempt.points()) >= 10, f"{len(attempt.points())} minutiae")
        # the wrong-finger check on two different fingers (a finger against itself would take
        # bozorth3 seconds: every one of its 100+ minutiae pairs up)
        score = engine.compare(attempt.minutiae, engine.minutiae(synthetic_finger(seed=12)))
        _check(0 <= score < self.th.finger.duplicate_score, f"bozorth3 scores two different fingers {score}")
        sample = finger_sample(attempt, self.th.finger)  # WSQ (or PNG) + ISO/IEC 19794-2 template
        back = decode_finger_image(sample.image)
        _check(back.shape == image.shape, f"decoded {back.shape}")
        error = float(np.abs(back.astype(np.int16) - image).mean())
        _check(error <= WSQ_MEAN_ERROR_MAX, f"{sample.image_format} round trip off by {error:.1f} on average")
        self.finger_wsq = sample.image

    def face(self) -> None:
        from PIL import Image

        from kiosk.capture.face import FaceAnalyzer
        from kiosk.capture.face_capture import encode_token, token_image

        image = face_sample_image()
        analysis = FaceAnalyzer(self.th.face, track=False).analyze(image)
        _check(analysis.face is not None, f"{analysis.faces_found} faces found in the built-in portrait")
        assert analysis.face is not None
        token = token_image(image, analysis.face, self.th.face.token_width)
        self.face_token = encode_token(token, self.th.face.token_format, self.th.face.jpeg_quality)
        with Image.open(io.BytesIO(self.face_token)) as shown:  # how the UI and the card read it
            shown.load()
            _check(shown.size == (token.shape[1], token.shape[0]), f"token decoded as {shown.size}")

    def signature(self) -> None:
        from PIL import Image

        from kiosk.capture.signature import signature_sample

        sample = signature_sample(synthetic_signature(), self.th.signature, writing_area_mm=(70.0, 30.0))
        with Image.open(io.BytesIO(sample.image)) as shown:
            shown.load()
        self.signature_png = sample.image

    def card(self) -> None:
        import datetime as dt

        from kiosk.central.carddata import card_data, sha256_hex
        from kiosk.identity import Identity
        from kiosk.printer.layout import preview_png, render_card

        person = Identity("3201015705900001", "SWA UJI", "BOGOR", dt.date(1990, 5, 17), "F", address="JL. UJI 1",
                          rt="001", rw="002", village="PAKANSARI", district="CIBINONG", regency="Kab. Bogor",
                          province="Jawa Barat", occupation="PETANI")
        data = card_data(person, "self-test", photo_sha256=sha256_hex(self.face_token),
                         signature_sha256=sha256_hex(self.signature_png), issue_place=person.regency,
                         issued_at=dt.datetime.now(dt.timezone.utc).isoformat())
        pixels = render_card(data, photo=self.face_token or None, signature=self.signature_png or None)
        _check(pixels.ndim == 3 and float(pixels.std()) > 1.0, "the card renders blank")
        _check(preview_png(data, photo=self.face_token or None, signature=self.signature_png or None)[:4]
               == b"\x89PNG", "no card preview")

    def packet(self) -> None:
        import hashlib

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

        from kiosk.central.packet import FRAMED_FORMAT, frame_content, open_packet, seal

        parts = [(kind, data) for kind, data in (("finger", self.finger_wsq), ("face", self.face_token),
                                                 ("signature", self.signature_png)) if data]
        meta = {"format": FRAMED_FORMAT, "record_id": "self-test", "station_id": "self-test",
                "samples": [{"kind": kind, "length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                            for kind, data in parts]}
        station, central = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()  # throwaway keys
        blob = seal(frame_content(meta, [data for _, data in parts]), record_id="self-test",
                    station_id="self-test", submission=1, station_key=station, central_key=central.public_key())
        opened = open_packet(blob, station_key=lambda _: station.public_key(), central_key=central)
        _check([s["data"] for s in opened.content["samples"]] == [data for _, data in parts],
               "the packet opens to other bytes")

    def checks(self) -> list[tuple[str, Callable[[], None]]]:
        return [("finger", self.finger), ("face", self.face), ("signature", self.signature), ("card", self.card),
                ("packet", self.packet)]


def run_pipeline_check(thresholds: QualityThresholds) -> list[PipelineCheck]:
    """Every check, each timed; failures logged for the technician, never raised."""
    test = PipelineSelfTest(thresholds)
    results = []
    for name, check in test.checks():
        started = time.monotonic()
        try:
            check()
            result = PipelineCheck(name, True, time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - a self-test reports whatever broke and goes on
            result = PipelineCheck(name, False, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
            log.warning("start-up self-test failed", extra={"check": name, "reason": result.reason})
        results.append(result)
    log.info("start-up self-test", extra={"passed": [r.name for r in results if r.passed],
                                          "failed": [r.name for r in results if not r.passed],
                                          "seconds": round(sum(r.seconds for r in results), 3)})
    return results
