"""Capture by slap (4-4-2) on a slap scanner, checked finger by finger.

A slap scanner (``FingerprintScanner.supports_slap``) takes the left four fingers, the right
four, then both thumbs, each in one capture (SBI deviceSubId 1, 2, 3; count = fingers of the
slap minus exceptions). The device splits the slap into one image per finger; each finger then
gets the same checks as a finger captured alone: NFIQ 2 and live statistics
(:meth:`kiosk.capture.finger.FingerprintEngine.assess_capture`), and the wrong-finger check
(bozorth3 against every other finger of the slap and every finger captured before).

For the enrollment session: :func:`slap_plan` lists the captures a policy needs, and
:func:`capture_slap` runs one and returns a :class:`SlapResult`; ``result.samples()`` gives the
:class:`kiosk.capture.finger.FingerSample` list to store, ``result.passed`` whether every finger
passed both checks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.capture.finger import FingerAssessment, FingerprintEngine, FingerSample, duplicate_report, finger_sample
from kiosk.capture.report import QualityReport
from kiosk.capture.thresholds import FingerThresholds
from kiosk.devices.protocols import FingerprintScanner

#: slap (SBI deviceSubId) -> ISO finger positions, in capture order 4-4-2
SLAPS: dict[int, tuple[int, ...]] = {1: (7, 8, 9, 10), 2: (2, 3, 4, 5), 3: (6, 1)}


def slap_plan(required: Iterable[int], exceptions: Iterable[int] = ()) -> list[tuple[int, tuple[int, ...]]]:
    """(slap, exceptions of that slap) for each slap holding a required finger that is not an
    exception; fingers of the slap not required count as exceptions (the device skips them)."""
    need = set(required) - set(exceptions)
    plan = []
    for slap, positions in SLAPS.items():
        if need & set(positions):
            plan.append((slap, tuple(p for p in positions if p not in need)))
    return plan


@dataclass(frozen=True)
class SlapResult:
    slap: int
    assessments: dict[int, FingerAssessment]  # position -> assessment, in slap order
    #: the wrong-finger check over this slap's fingers and those captured before
    duplicates: QualityReport
    thresholds: FingerThresholds

    @property
    def passed(self) -> bool:
        return self.duplicates.passed and all(a.report.passed for a in self.assessments.values())

    def failed_positions(self) -> list[int]:
        bad = {p for p, a in self.assessments.items() if not a.report.passed}
        for check in self.duplicates.failed:
            bad |= {int(check.params["first"]), int(check.params["second"])} & set(self.assessments)
        return sorted(bad)

    def samples(self) -> list[FingerSample]:
        return [finger_sample(a, self.thresholds) for a in self.assessments.values()]


def capture_slap(scanner: FingerprintScanner, slap: int, exceptions: tuple[int, ...] = (), *,
                 engine: FingerprintEngine, captured: Mapping[int, Any] | None = None, timeout_s: float = 10.0,
                 cancel: threading.Event | None = None) -> SlapResult:
    """Capture one slap and check each finger. ``captured`` maps positions already in the record
    to their minutiae (nbis), so a slap placed twice (left hand on the right slap) is caught."""
    images = scanner.capture_slap(slap, exceptions, timeout_s=timeout_s, cancel=cancel)
    assessments = {img.position: engine.assess_capture(img) for img in images}
    minutiae = dict(captured or {})
    minutiae.update({p: a.minutiae for p, a in assessments.items()})
    report = duplicate_report(minutiae, engine.th.duplicate_score)
    # a pair of earlier fingers is not this capture's business: keep pairs with a finger of this slap
    ours = tuple(c for c in report.failed
                 if int(c.params["first"]) in assessments or int(c.params["second"]) in assessments)
    duplicates = QualityReport("finger", ours) if ours else duplicate_report({}, engine.th.duplicate_score)
    return SlapResult(slap, assessments, duplicates, engine.th)
