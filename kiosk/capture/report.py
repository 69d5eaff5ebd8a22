"""Quality reports: which checks ran on a sample, which passed, and why not."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.errors import InputError


class CaptureError(InputError):
    """A sample cannot be accepted (empty signature, unknown finger code...). ``code`` says why."""

    code = "capture.rejected"


@dataclass(frozen=True)
class Check:
    """One quality check on one sample.

    ``code`` is the catalog key of the operator's guidance when the check fails (e.g.
    ``face.move_closer``); ``value`` is the measurement and ``params`` feed the message.
    """

    name: str
    passed: bool
    value: float | None = None
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityReport:
    """All checks on one sample, plus the standard score when there is one (NFIQ 2)."""

    #: "face", "finger" or "signature"
    modality: str
    checks: tuple[Check, ...]
    #: a standard score when the modality has one (NFIQ 2 0..100 for fingers), else None
    score: float | None = None
    #: True when the operator captured by hand although checks failed
    manual: bool = False

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def failed_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.failed)

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def guidance(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        """(code, params) of the failed checks, in the order an operator should fix them."""
        return tuple((c.code, c.params) for c in self.failed if c.code)

    def to_dict(self) -> dict[str, Any]:
        return {"modality": self.modality, "passed": self.passed, "score": self.score, "manual": self.manual,
                "checks": [asdict(c) for c in self.checks]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=float)


def confirming_supervisor(needs: bool, reason: str, *, operator: str, supervisor: str | None,
                          missing: CaptureError) -> str | None:
    """Who confirms an exception (a finger's or an eye's): None when its reason needs nobody; raises
    ``missing`` when it needs a supervisor and has none, CaptureError when the operator confirms
    their own."""
    if not needs:
        return None
    if not supervisor:
        raise missing
    if supervisor == operator:
        raise CaptureError("finger.supervisor_not_operator", reason=reason)
    return supervisor
