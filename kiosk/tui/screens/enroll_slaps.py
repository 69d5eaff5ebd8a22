"""The fingers step on a slap scanner: capture by slap (4-4-2), each finger booked on its own.

The rules (which slap, which fingers the device leaves out, how each finger's attempt counts) are
in :mod:`kiosk.enroll.slaps`; the capture and the checks per finger (NFIQ 2, live statistics,
wrong finger against the slap and the fingers already kept) in :mod:`kiosk.capture.slap`. This
mixin of :class:`kiosk.tui.screens.enroll_fingers.FingersScreen` runs a slap in a worker (capture,
checks, keep-best, WSQ save, one audit row per finger) and shows each finger's result.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.message import Message

from kiosk.capture.slap import capture_slap
from kiosk.enroll.fingers import ATTEMPT_ACTION, FingerSlots
from kiosk.enroll.slaps import FingerOutcome, SlapRequest, take_slap
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.devices_poll import device_of_kind, open_device, reopen_device, worker_failure
from kiosk.tui.pictures import from_grey

SLAP_TIMEOUT_S = 15.0


@dataclass
class SlapCaptured(Message):
    request: SlapRequest
    outcomes: list[FingerOutcome]
    #: position -> kiosk.capture.finger.FingerAssessment (image, NFIQ 2, report) of each finger answered
    assessments: dict[int, Any]
    #: the wrong-finger check's failed pairs touching this slap: (first, second, score)
    same_finger: list[tuple[int, int, float]]


class SlapCapture:
    """Slap capture for the fingers screen (mixed into FingersScreen, which provides the slots,
    the store, the note and the picture)."""

    slots: FingerSlots
    capturing: bool
    record_id: str

    def scanner_takes_slaps(self) -> bool:
        """Whether the scanner captures whole slaps (known once it is open; called in a worker). A
        scanner that does not open now is asked again at the capture, which shows its problem."""
        try:
            scanner = device_of_kind(self.kiosk.devices, "fingerprint", "no_scanner")  # type: ignore[attr-defined]
            open_device(scanner)
            return bool(scanner.supports_slap)
        except Exception:
            return False

    @work(thread=True, exclusive=True, group="scanner")
    def capture_by_slap(self, request: SlapRequest, cancel: threading.Event, reopen: bool,
                        snapshot: FingerSlots) -> None:
        """Capture one slap and book each finger: keep-best decided on ``snapshot`` (a copy of the
        slots taken when C was pressed; the event loop owns the live ones)."""
        kiosk: Any = self.kiosk  # type: ignore[attr-defined]
        try:
            scanner = device_of_kind(kiosk.devices, "fingerprint", "no_scanner")
            reopen_device(scanner) if reopen else open_device(scanner)
            cfg = kiosk.cfg
            engine = services.finger_engine(cfg)
            others = [p for p in snapshot.scores if p not in request.fingers]
            captured = {p: snapshot.minutiae[p] for p in others if p in snapshot.minutiae}
            missing = [p for p in others if p not in captured]  # a resumed draft holds images only
            captured.update(services.stored_minutiae(kiosk.store, self.record_id, engine, missing))
            result = capture_slap(scanner, request.slap, request.exceptions, engine=engine, captured=captured,
                                  timeout_s=SLAP_TIMEOUT_S, cancel=cancel)
            failed = set(result.failed_positions())
            outcomes: list[FingerOutcome] = []
            for pos, attempt in result.assessments.items():
                if pos not in request.fingers:  # a finger the device was told to leave out
                    continue
                keep = snapshot.keeps(pos, float(attempt.nfiq2))
                if keep:
                    services.save_finger(kiosk.store, self.record_id, attempt, cfg, actor=self.actor)  # type: ignore[attr-defined]
                kiosk.store.log_action(self.actor, ATTEMPT_ACTION, record_id=self.record_id,  # type: ignore[attr-defined]
                                       params={"position": pos, "nfiq2": float(attempt.nfiq2), "kept": keep,
                                               "passed": pos not in failed, "slap": request.slap})
                outcomes.append(FingerOutcome(pos, float(attempt.nfiq2), attempt.minutiae, keep, pos not in failed))
            same = [(int(c.params["first"]), int(c.params["second"]), float(c.params["score"]))
                    for c in result.duplicates.failed]
        except Exception as exc:  # every failure is shown in words; the draft is already saved
            self.post_message(worker_failure("fingerprint", exc))  # type: ignore[attr-defined]
            return
        self.post_message(SlapCaptured(request, outcomes, dict(result.assessments), same))  # type: ignore[attr-defined]

    def start_slap(self, request: SlapRequest, cancel: threading.Event, reopen: bool) -> None:
        snapshot = copy.copy(self.slots)
        snapshot.scores, snapshot.flagged = dict(self.slots.scores), set(self.slots.flagged)
        snapshot.minutiae = dict(self.slots.minutiae)
        self.capture_by_slap(request, cancel, reopen, snapshot)

    def on_slap_captured(self, msg: SlapCaptured) -> None:
        self.capturing = False
        take_slap(self.slots, msg.request, msg.outcomes)
        note: list[tuple[str, str, dict[str, Any]]] = []
        answered = {o.position for o in msg.outcomes}
        for outcome in msg.outcomes:
            finger = f"@tui.finger.{outcome.position}"
            score = f"{outcome.nfiq2:.0f}"
            if not outcome.kept:
                note.append(("", "tui.slap.kept_better", {"finger": finger, "score": score}))
            elif outcome.passed:
                note.append(("green", "tui.slap.passed", {"finger": finger, "score": score}))
            else:
                note.append(("yellow", "tui.slap.failed", {"finger": finger, "score": score}))
        note += [("yellow", "tui.slap.not_answered", {"finger": f"@tui.finger.{p}"})
                 for p in msg.request.fingers if p not in answered]
        note += [("red", "tui.fingers.same_finger", {"first": f"@tui.finger.{first}", "second": f"@tui.finger.{second}",
                                                     "score": f"{score:.0f}"})
                 for first, second, score in msg.same_finger]
        self.note = note  # type: ignore[attr-defined]
        # guidance of the finger the operator is pointed at next, when it is one of this slap's
        failing = msg.assessments.get(self.slots.current)
        self.guidance = list(failing.report.guidance()) if failing is not None and not failing.report.passed else []  # type: ignore[attr-defined]
        shown = failing or next(iter(msg.assessments.values()), None)
        if shown is not None:
            self.query_one("#finger-image").image = from_grey(shown.image)  # type: ignore[attr-defined]
        self.refresh_texts()  # type: ignore[attr-defined]

    def slap_place_line(self, request: SlapRequest | None) -> str:
        fingers = request.fingers if request is not None else (self.slots.current,)
        return translate("tui.slap.place", fingers=", ".join(translate(f"tui.finger.{p}") for p in fingers))
