"""Capture by slap (4-4-2) on a slap scanner, as rules over :class:`FingerSlots` (issue 12).

A slap scanner takes the left four fingers, the right four, then both thumbs in one capture each
(:data:`kiosk.capture.slap.SLAPS`). Each finger of a slap is still a slot of its own: it counts an
attempt, the best NFIQ 2 is kept, a flagged slot takes the next attempt whatever its score, exactly
as a finger captured alone (:meth:`FingerSlots.take_attempt`).

- :func:`slap_request` says which slap the next capture takes and which of its fingers the device
  leaves out: the slap holding the operator's current finger, capturing only the fingers of it
  that still need a capture (pending, flagged, or kept but failing its checks) and have attempts
  left. So a failed finger is retried by capturing its slap again with the passed fingers left
  out as exceptions: the device captures that finger alone where it can.
- :func:`take_slap` books a slap's per-finger outcome into the slots and moves the operator to
  the next finger needing a capture: a failed finger of the same slap first (the next press of C
  retries it), then the first pending slot in 4-4-2 order.

Nothing here imports Textual or touches a device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from kiosk.capture.slap import SLAPS
from kiosk.enroll.fingers import FingerSlots, Mark

#: the order slots are offered in when capturing by slap (left four, right four, thumbs)
SLAP_ORDER: tuple[int, ...] = tuple(p for positions in SLAPS.values() for p in positions)


def slap_of(position: int) -> int:
    for slap, positions in SLAPS.items():
        if position in positions:
            return slap
    raise ValueError(f"finger position {position} is in no slap")


@dataclass(frozen=True)
class SlapRequest:
    slap: int
    #: fingers the device captures, in slap order
    fingers: tuple[int, ...]
    #: fingers of the slap the device leaves out (SBI ``exception``)
    exceptions: tuple[int, ...]


@dataclass(frozen=True)
class FingerOutcome:
    """One finger of a slap after its checks (NFIQ 2, live statistics, wrong finger)."""

    position: int
    nfiq2: float
    minutiae: Any
    #: whether this attempt replaced the kept one (decided by :meth:`FingerSlots.keeps`)
    kept: bool
    passed: bool


def needs_capture(slots: FingerSlots, position: int) -> bool:
    """Whether a slot still wants a capture from a slap: never captured, flagged as a repeat, or
    kept while failing its checks."""
    return position in slots.positions and (
        slots.mark(position) in (Mark.PENDING, Mark.FLAGGED)
        or (slots.mark(position) is Mark.DONE and position in slots.failed))


def slap_request(slots: FingerSlots, position: int | None = None) -> SlapRequest | None:
    """The slap to capture for ``position`` (default: the current slot), or None when no finger of
    that slap may be captured (none needed, or out of attempts). The current slot is captured
    again on request even when it passed (the operator chose it; keep-best protects the record)."""
    pos = slots.current if position is None else position
    if pos not in slots.positions:
        return None
    slap = slap_of(pos)
    fingers = tuple(p for p in SLAPS[slap] if slots.may_capture(p) and p not in slots.exceptions
                    and (needs_capture(slots, p) or p == pos))
    if not fingers:
        return None
    return SlapRequest(slap, fingers, tuple(p for p in SLAPS[slap] if p not in fingers))


def slap_plan_for(slots: FingerSlots) -> list[SlapRequest]:
    """Every slap still to capture, in 4-4-2 order (what a whole enrollment looks like from here)."""
    plan = []
    for slap, positions in SLAPS.items():
        need = [p for p in positions if needs_capture(slots, p) and slots.may_capture(p)]
        if need:
            request = slap_request(slots, need[0])
            if request is not None:
                plan.append(request)
    return plan


def take_slap(slots: FingerSlots, request: SlapRequest, outcomes: Sequence[FingerOutcome]) -> None:
    """Book each finger's attempt, then move to the finger that needs the next capture."""
    for outcome in outcomes:
        slots.take_attempt(outcome.position, outcome.nfiq2, outcome.minutiae, kept=outcome.kept,
                           passed=outcome.passed)
    retry = [p for p in request.fingers if needs_capture(slots, p) and slots.may_capture(p)]
    if retry:
        slots.current = retry[0]
        return
    start_by_slap(slots)


def start_by_slap(slots: FingerSlots) -> None:
    """Point the operator at the first slot still to capture in 4-4-2 order (left four first);
    stays put when nothing is left to capture."""
    for pos in SLAP_ORDER:
        if pos in slots.positions and slots.mark(pos) in (Mark.PENDING, Mark.FLAGGED) and slots.may_capture(pos):
            slots.current = pos
            return
