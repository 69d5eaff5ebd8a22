"""Finger exceptions: a finger that cannot be captured (amputated, bandaged, scarred, or
temporarily unusable), checked against the station's policy, which names the reasons a supervisor
must confirm (``[policy] supervisor_exceptions``; MOSIP's registration client records the same
"biometric exceptions" with a reason, and e-KTP enrollment asks the supervisor for permanent ones)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.capture.finger import finger_position
from kiosk.capture.report import CaptureError, confirming_supervisor
from kiosk.config import PolicyConfig


class ExceptionReason(enum.StrEnum):
    AMPUTATED = "amputated"
    BANDAGED = "bandaged"
    SCARRED = "scarred"
    #: temporarily unusable (fresh injury, plaster, henna...): capture again later
    TEMPORARY = "temporary"

    @property
    def code(self) -> str:
        return f"finger.exception.{self.value}"


@dataclass(frozen=True)
class ExceptionDecision:
    """A checked finger exception, ready for ``RecordStore.add_exception``."""

    position: int
    reason: ExceptionReason
    needs_supervisor: bool
    approved_by: str | None


def exception_needs_supervisor(policy: PolicyConfig, reason: str | ExceptionReason) -> bool:
    return str(ExceptionReason(reason)) in policy.supervisor_exceptions


def check_exception(policy: PolicyConfig, position: int, reason: str, *, operator: str,
                    supervisor: str | None = None) -> ExceptionDecision:
    """Validate an exception against the policy. Raises CaptureError when the reason is
    unknown, the position is not a finger, or a supervisor is needed and missing (or is the
    operator themself)."""
    pos = finger_position(position)
    try:
        why = ExceptionReason(reason)
    except ValueError:
        raise CaptureError("finger.bad_exception_reason", reason=reason,
                           allowed=", ".join(r.value for r in ExceptionReason)) from None
    needs = exception_needs_supervisor(policy, why)
    approved = confirming_supervisor(needs, why.value, operator=operator, supervisor=supervisor,
                                     missing=CaptureError("finger.supervisor_required", reason=why.value,
                                                          position=int(pos)))
    return ExceptionDecision(int(pos), why, needs, approved)

