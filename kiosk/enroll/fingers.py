"""The ten finger slots of one record: attempts, the kept (best) attempt, flagged repeats, exceptions.

Rules (issue 7 and 11):
- each slot has ``attempts_per_finger`` attempts; the attempt with the best NFIQ 2 is kept;
- a slot the wrong-finger check flagged (two slots holding the same finger) must be captured
  again: it gets fresh attempts and takes the next attempt whatever its score;
- a finger that cannot be captured gets an exception; reasons in ``supervisor_exceptions`` stay
  unapproved (and block the record) until a supervisor confirms;
- attempts are part of the draft: every attempt is an audit row (``finger_attempt``) and a resumed
  draft counts them again from there (:meth:`FingerSlots.load`), so closing the terminal does not
  give a finger fresh attempts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, Sequence

from kiosk.config import PolicyConfig

#: audit action of one capture attempt (params: position, nfiq2, kept, passed)
ATTEMPT_ACTION = "finger_attempt"
#: audit action of the wrong-finger check's finding (params: pairs [[first, second, score], ...])
WRONG_FINGER_ACTION = "wrong_finger"


class Mark(str, enum.Enum):
    """What the hand diagram shows for a slot."""

    DONE = "✓"
    EXCEPTION = "✗"
    PENDING = "·"
    UNAPPROVED = "?"
    FLAGGED = "!"


class AuditLike(Protocol):
    action: str
    params: dict[str, Any]


@dataclass(frozen=True)
class ExceptionMark:
    reason: str
    approved_by: str | None


@dataclass
class FingerSlots:
    """State of the finger step (no I/O: :meth:`load` takes what the store returned)."""

    positions: tuple[int, ...]
    attempts_per_finger: int
    supervisor_exceptions: tuple[str, ...]
    attempts: dict[int, int] = field(default_factory=dict)
    #: NFIQ 2 of the kept attempt per slot (None: kept but not scored)
    scores: dict[int, float | None] = field(default_factory=dict)
    minutiae: dict[int, Any] = field(default_factory=dict)
    flagged: set[int] = field(default_factory=set)
    #: slots whose kept attempt failed its checks (a slap recaptures them; see kiosk.enroll.slaps)
    failed: set[int] = field(default_factory=set)
    exceptions: dict[int, ExceptionMark] = field(default_factory=dict)
    current: int = 0

    @classmethod
    def for_policy(cls, policy: PolicyConfig) -> "FingerSlots":
        slots = cls(tuple(policy.required_fingers), policy.attempts_per_finger, tuple(policy.supervisor_exceptions))
        slots.current = slots.positions[0] if slots.positions else 0
        return slots

    def load(self, kept: Iterable[tuple[int, float | None]], exceptions: Iterable[tuple[int, str, str | None]],
             audit: Sequence[AuditLike]) -> None:
        """A resumed draft: kept samples (position, quality), exceptions (position, reason,
        approved_by) and the record's audit entries (attempts, wrong-finger findings)."""
        self.scores = {pos: q for pos, q in kept}
        self.exceptions = {pos: ExceptionMark(reason, by) for pos, reason, by in exceptions}
        self.attempts = {}
        for entry in audit:
            if entry.action == ATTEMPT_ACTION:
                pos = int(entry.params.get("position", 0))
                self.attempts[pos] = self.attempts.get(pos, 0) + 1
                if entry.params.get("kept"):
                    self.flagged.discard(pos)
                    if entry.params.get("passed") is False:
                        self.failed.add(pos)
                    else:  # passed, or audited before "passed" was recorded
                        self.failed.discard(pos)
            elif entry.action == WRONG_FINGER_ACTION:
                for first, second, *_ in entry.params.get("pairs", []):
                    self.flagged.update((int(first), int(second)))
                    self.attempts[int(first)] = self.attempts[int(second)] = 0
        for pos in self.scores:  # drafts from before attempts were audited: the kept one counts
            if not self.attempts.get(pos) and pos not in self.flagged:
                self.attempts[pos] = 1
        nxt = self.next_to_capture()
        self.current = nxt if nxt is not None else (self.positions[0] if self.positions else 0)

    # -- reading ----------------------------------------------------------------------------------
    def mark(self, pos: int) -> Mark:
        if pos in self.flagged:
            return Mark.FLAGGED
        if pos in self.scores:
            return Mark.DONE
        exc = self.exceptions.get(pos)
        if exc is None:
            return Mark.PENDING
        if exc.reason in self.supervisor_exceptions and not exc.approved_by:
            return Mark.UNAPPROVED
        return Mark.EXCEPTION

    def retries_left(self, pos: int) -> int:
        return max(0, self.attempts_per_finger - self.attempts.get(pos, 0))

    def pending(self) -> list[int]:
        """Slots that still need a capture (never captured, or flagged as a repeat)."""
        return [p for p in self.positions if self.mark(p) in (Mark.PENDING, Mark.FLAGGED)]

    def next_to_capture(self) -> int | None:
        pending = self.pending()
        return pending[0] if pending else None

    def all_done(self) -> bool:
        """Every slot holds a finger or an exception: the operator moves on (the wrong-finger
        check still runs when leaving)."""
        return bool(self.positions) and not self.pending()

    def may_capture(self, pos: int) -> bool:
        return pos in self.positions and self.retries_left(pos) > 0

    # -- changes ------------------------------------------------------------------------------------
    def keeps(self, pos: int, nfiq2: float) -> bool:
        """Whether a new attempt replaces the kept one: the best is kept; a flagged slot takes the
        new attempt whatever its score."""
        old = self.scores.get(pos)
        return pos in self.flagged or pos not in self.scores or old is None or nfiq2 >= old

    def take_attempt(self, pos: int, nfiq2: float, minutiae: Any, *, kept: bool, passed: bool) -> None:
        """Count an attempt (after its sample was saved when ``kept``) and move to the next slot
        when this one is settled (passed, or out of attempts)."""
        self.attempts[pos] = self.attempts.get(pos, 0) + 1
        if kept:
            self.scores[pos] = float(nfiq2)
            self.minutiae[pos] = minutiae
            self.flagged.discard(pos)
            self.exceptions.pop(pos, None)
            if passed:
                self.failed.discard(pos)
            else:
                self.failed.add(pos)
        if pos == self.current and (passed or self.retries_left(pos) == 0):
            nxt = self.next_to_capture()
            if nxt is not None:
                self.current = nxt

    def flag(self, pairs: Iterable[tuple[int, int]]) -> None:
        """The wrong-finger check found slots holding the same finger: both get fresh attempts."""
        for first, second in pairs:
            self.flagged.update((first, second))
            self.attempts[first] = self.attempts[second] = 0
        if self.flagged:
            self.current = min(self.flagged)

    def set_exception(self, pos: int, reason: str, approved_by: str | None) -> None:
        self.scores.pop(pos, None)
        self.minutiae.pop(pos, None)
        self.flagged.discard(pos)
        self.failed.discard(pos)
        self.exceptions[pos] = ExceptionMark(reason, approved_by)
        nxt = self.next_to_capture()
        if nxt is not None:
            self.current = nxt

    def move(self, step: int) -> None:
        if self.positions:
            i = (self.positions.index(self.current) + step) % len(self.positions)
            self.current = self.positions[i]
