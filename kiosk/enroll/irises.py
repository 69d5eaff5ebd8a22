"""The two eye slots of one record: attempts, the kept (best) attempt, exceptions.

Rules (the finger rules of :mod:`kiosk.enroll.fingers`, for eyes):
- the iris device captures the eyes still wanted in one go; each eye has ``attempts_per_eye``
  attempts and the attempt with the best device score is kept (stored at once, as fingers are);
- an eye is settled when its kept attempt passed, when its attempts are used up (the best is kept
  even below the threshold, its report says so), or when it has an exception;
- an eye that cannot be captured (lost, prosthesis, injured, bandaged) gets an exception; reasons
  in ``[policy] supervisor_iris_exceptions`` stay unapproved (and block the record) until a
  supervisor confirms (:func:`check_iris_exception`);
- attempts are part of the draft: every attempt is an audit row (``iris_attempt``) and a resumed
  draft counts them again from there (:meth:`EyeSlots.load`), so closing the terminal does not
  give an eye fresh attempts.
Nothing here does I/O: the screen's workers store and audit, and hand the results here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from kiosk.capture.report import CaptureError, confirming_supervisor
from kiosk.config import PolicyConfig
from kiosk.enroll.fingers import AuditLike, ExceptionMark, Mark

#: audit action of one eye's capture attempt (params: eye, quality, kept, passed)
IRIS_ATTEMPT_ACTION = "iris_attempt"
#: ISO/IEC 19794-6 eye labels
EYES: tuple[int, ...] = (1, 2)
EYE_WORDS = {1: "right", 2: "left"}


class IrisExceptionReason(enum.StrEnum):
    """Why an eye cannot be captured (a closed list, as for fingers)."""

    LOST = "lost"
    PROSTHESIS = "prosthesis"
    INJURED = "injured"
    BANDAGED = "bandaged"


@dataclass(frozen=True)
class IrisExceptionDecision:
    """A checked iris exception, ready for ``RecordStore.add_iris_exception``."""

    eye: int
    reason: IrisExceptionReason
    needs_supervisor: bool
    approved_by: str | None


def iris_exception_needs_supervisor(policy: PolicyConfig, reason: str) -> bool:
    return str(IrisExceptionReason(reason)) in policy.supervisor_iris_exceptions


def check_iris_exception(policy: PolicyConfig, eye: int, reason: str, *, operator: str,
                         supervisor: str | None = None) -> IrisExceptionDecision:
    """Validate an eye's exception against the policy. Raises CaptureError when the eye or the
    reason is unknown, or a supervisor is needed and missing (or is the operator themself)."""
    if eye not in EYES:
        raise CaptureError("iris.bad_eye", eye=eye)
    try:
        why = IrisExceptionReason(reason)
    except ValueError:
        raise CaptureError("iris.bad_exception_reason", reason=reason,
                           allowed=", ".join(r.value for r in IrisExceptionReason)) from None
    needs = iris_exception_needs_supervisor(policy, why)
    approved = confirming_supervisor(needs, why.value, operator=operator, supervisor=supervisor,
                                     missing=CaptureError("iris.supervisor_required", reason=why.value, eye=eye))
    return IrisExceptionDecision(eye, why, needs, approved)


@dataclass(frozen=True)
class IrisAttempt:
    """One eye of one capture, as the worker judged and stored it."""

    eye: int
    quality: float | None
    kept: bool
    passed: bool


@dataclass
class EyeSlots:
    """State of the iris step (no I/O: :meth:`load` takes what the store returned)."""

    attempts_per_eye: int
    supervisor_exceptions: tuple[str, ...]
    #: eyes the capture policy requires (the others are captured when they can be, never waited for)
    required: frozenset[int] = frozenset(EYES)
    attempts: dict[int, int] = field(default_factory=dict)
    #: device score of the kept attempt per eye (None: kept but not scored)
    scores: dict[int, float | None] = field(default_factory=dict)
    #: whether the kept attempt passed its check
    passed: dict[int, bool] = field(default_factory=dict)
    exceptions: dict[int, ExceptionMark] = field(default_factory=dict)

    @classmethod
    def for_policy(cls, policy: PolicyConfig, attempts_per_eye: int) -> "EyeSlots":
        return cls(attempts_per_eye, tuple(policy.supervisor_iris_exceptions), frozenset(policy.required_irises))

    def load(self, kept: Iterable[tuple[int, float | None, bool]], exceptions: Iterable[tuple[int, str, str | None]],
             audit: Sequence[AuditLike]) -> None:
        """A resumed draft: kept samples (eye, quality, passed), exceptions (eye, reason,
        approved_by) and the record's ``iris_attempt`` audit entries."""
        self.scores, self.passed = {}, {}
        for eye, quality, passed in kept:
            self.scores[eye], self.passed[eye] = quality, passed
        self.exceptions = {eye: ExceptionMark(reason, by) for eye, reason, by in exceptions}
        self.attempts = {}
        for entry in audit:
            if entry.action == IRIS_ATTEMPT_ACTION:
                eye = int(entry.params.get("eye", 0))
                self.attempts[eye] = self.attempts.get(eye, 0) + 1
        for eye in self.scores:  # eyes stored before attempts were audited: the kept one counts
            self.attempts.setdefault(eye, 1)

    # -- reading ----------------------------------------------------------------------------------
    def mark(self, eye: int) -> Mark:
        exc = self.exceptions.get(eye)
        if exc is not None:
            if exc.reason in self.supervisor_exceptions and not exc.approved_by:
                return Mark.UNAPPROVED
            return Mark.EXCEPTION
        return Mark.DONE if self.settled(eye) else Mark.PENDING

    def retries_left(self, eye: int) -> int:
        return max(0, self.attempts_per_eye - self.attempts.get(eye, 0))

    def settled(self, eye: int) -> bool:
        """Nothing more to capture for this eye: an exception, a kept attempt that passed, or a
        kept attempt and no attempts left."""
        if eye in self.exceptions:
            return True
        return eye in self.scores and (self.passed.get(eye, False) or self.retries_left(eye) == 0)

    def wanted(self) -> tuple[int, ...]:
        """Eyes the next capture asks the device for."""
        return tuple(e for e in EYES if not self.settled(e) and self.retries_left(e) > 0)

    def pending(self) -> list[int]:
        """Required eyes that still hold the record back (no capture, no exception yet)."""
        return [e for e in EYES if e in self.required and not self.settled(e)]

    def all_done(self) -> bool:
        """The operator may move on: every required eye is settled and nothing is half-way (an
        optional eye captured once and below the threshold may still be captured again, but is
        not waited for)."""
        return not self.pending()

    def captured(self) -> bool:
        return bool(self.scores or self.exceptions)

    # -- changes ------------------------------------------------------------------------------------
    def keeps(self, eye: int, quality: float | None) -> bool:
        """Whether a new attempt replaces the kept one: the best device score is kept."""
        if eye not in self.scores:
            return True
        old = self.scores[eye]
        return old is None or (quality is not None and quality >= old)

    def take(self, attempt: IrisAttempt) -> None:
        """Count an attempt (after its sample was stored when ``kept``)."""
        eye = attempt.eye
        self.attempts[eye] = self.attempts.get(eye, 0) + 1
        if attempt.kept:
            self.scores[eye] = attempt.quality
            self.passed[eye] = attempt.passed
            self.exceptions.pop(eye, None)

    def set_exception(self, eye: int, reason: str, approved_by: str | None) -> None:
        self.scores.pop(eye, None)
        self.passed.pop(eye, None)
        self.exceptions[eye] = ExceptionMark(reason, approved_by)
