"""Messages that workers post back to their screen (device and network results)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from textual.message import Message

from kiosk.devices.base import DeviceInfo, DeviceStatus, SelfTestResult
from kiosk.devices.protocols import FingerImage, PenPoint
from kiosk.tui.services import NetworkState, QualityCheck

log = logging.getLogger(__name__)


@dataclass
class DeviceProblem(Message):
    """A device call failed; ``error`` is the typed error (its code picks the words)."""

    kind: str
    error: BaseException


@dataclass
class DeviceReport(Message):
    """Status of one configured device (home, diagnostics)."""

    name: str
    kind: str
    status: DeviceStatus | None
    #: catalog code when the device could not even be asked (driver missing, not configured)
    problem: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class NetworkReport(Message):
    state: NetworkState | None
    problem: BaseException | None = None


@dataclass
class QueueReport(Message):
    """Records per state and today's recordings, read in a worker (home's queue and today panels),
    or why they could not be read (``problem``; the figures are then empty)."""
    counts: dict[str, int]
    today: int
    problem: BaseException | None = None


@dataclass
class StockReport(Message):
    supplies: Any  # kiosk.printer.stock.StockLevels
    problem: BaseException | None = None


@dataclass
class FaceFrame(Message):
    image: Any  # BGR numpy array
    seq: int
    checks: list[QualityCheck]
    analysis: Any = None  # kiosk.capture.face.FaceAnalysis of the frame


@dataclass
class FaceAutoCaptured(Message):
    image: Any  # kiosk.capture.face_capture.FaceCapture
    checks: list[QualityCheck]


@dataclass
class FingerCaptured(Message):
    position: int
    image: FingerImage
    attempt: Any  # kiosk.capture.finger.FingerAssessment (NFIQ 2, minutiae, report)
    #: whether this attempt replaced the kept one (keep-best; saved by the worker)
    kept: bool = True


@dataclass
class WrongFingerResult(Message):
    """The wrong-finger check: pairs of slots holding the same finger (empty: all distinct)."""

    pairs: list[Any]  # kiosk.capture.finger.DuplicatePair
    minutiae: dict[int, Any]


@dataclass
class SignatureInk(Message):
    points: list[PenPoint]
    area_mm: tuple[float, float]


@dataclass
class DiagnosticResult(Message):
    name: str
    action: str
    info: DeviceInfo | None = None
    status: DeviceStatus | None = None
    self_test: SelfTestResult | None = None
    text: str = ""
    error: BaseException | None = None


@dataclass
class PrintProgress(Message):
    record_id: str
    done: int
    total: int
    job: str | None = None
    error: BaseException | None = None
    #: the printer's current stage of this card (feeding, printing...)
    stage: str = ""


@dataclass
class DraftsFound(Message):
    """The drafts left open, read in a worker, with each one's identity (home's resume offer);
    ``auto``: the offer made after login rather than on the R key."""

    drafts: list[Any]
    identities: dict[str, Any]
    auto: bool


@dataclass
class PasswordChecked(Message):
    """A password check's answer (login, the supervisor dialog): the account, or the refusal."""

    account: Any  # kiosk.accounts.Account, None when refused
    #: a refusal (AccountError) or what stopped the check (the accounts file unreadable...)
    refusal: BaseException | None = None

    @classmethod
    def of(cls, check: Callable[[], Any], what: str) -> "PasswordChecked":
        """Run ``check`` (a worker's password check, scrypt: never on the event loop) and answer
        with its account, its refusal (an AccountError, in words on the screen), or what else
        stopped it (also logged as ``what`` with its traceback for the technician)."""
        from kiosk.accounts import AccountError

        try:
            return cls(check())
        except AccountError as exc:
            return cls(None, exc)
        except Exception as exc:  # shown in words; the details for the technician in the log
            log.exception(what)
            return cls(None, exc)
