"""The one place where the UI reaches parts of the station that may not be installed.

Each feature is one function. When the module behind a feature is missing (ImportError) or does
not offer the expected call, the function raises :class:`FeatureUnavailable`, and the screen says
in words that the feature is unavailable: the UI never shows an invented result.

Expected modules: ``kiosk.capture.face`` (frame checks, auto-capture), ``kiosk.capture.finger``
(NFIQ 2), ``kiosk.capture.signature`` (signature checks and rendering), ``kiosk.sync`` (network
state, sync worker, deletion requests), ``kiosk.printer.gate`` / ``kiosk.printer.card`` (print gate
and card preview). Wire the real call into the matching function; keep it thin.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping, Sequence

import numpy as np

from kiosk.errors import KioskError


class FeatureUnavailable(KioskError):
    """``params['feature']`` names the missing part (a catalog key under ``tui.feature``)."""

    code = "tui.unavailable"


def _module(name: str, feature: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # only the feature's own module missing means "unavailable"; a broken import inside it is a bug
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise FeatureUnavailable(feature=feature) from None
        raise


def _call(module: str, attr: str, feature: str) -> Any:
    fn = getattr(_module(module, feature), attr, None)
    if fn is None:
        raise FeatureUnavailable(feature=feature)
    return fn


@dataclass(frozen=True)
class QualityCheck:
    """One check on a sample: its message code (catalog), whether it passed, parameters."""

    code: str
    passed: bool
    params: Mapping[str, Any] = field(default_factory=dict)


def _checks(result: Any) -> list[QualityCheck]:
    items = getattr(result, "checks", result)
    return [QualityCheck(str(c.code), bool(c.passed), dict(getattr(c, "params", {}) or {})) for c in items]


# -- face ---------------------------------------------------------------------------------------
def face_checks(image: np.ndarray, thresholds: Mapping[str, Any]) -> list[QualityCheck]:
    """Per-frame face checks (kiosk.capture.face.analyze_frame)."""
    return _checks(_call("kiosk.capture.face", "analyze_frame", "face")(image, thresholds))


def face_auto_capture(thresholds: Mapping[str, Any]) -> Any:
    """A new auto-capture tracker (kiosk.capture.face.AutoCapture): ``feed(image, checks)`` returns
    the chosen frame once every check passed on enough consecutive frames, else None."""
    return _call("kiosk.capture.face", "AutoCapture", "face")(thresholds)


def face_token(image: np.ndarray, thresholds: Mapping[str, Any]) -> tuple[bytes, str]:
    """The ICAO token photo (kiosk.capture.face.token_photo): encoded bytes and their MIME type."""
    data, mime = _call("kiosk.capture.face", "token_photo", "face")(image, thresholds)
    return bytes(data), str(mime)


# -- fingers ------------------------------------------------------------------------------------
def finger_nfiq2(pixels: np.ndarray, ppi: int) -> float:
    """NFIQ 2 score 0..100 (kiosk.capture.finger.nfiq2)."""
    return float(_call("kiosk.capture.finger", "nfiq2", "nfiq2")(pixels, ppi))


# -- signature ------------------------------------------------------------------------------------
def signature_problems(points: Sequence[Any], area_mm: tuple[float, float]) -> list[str]:
    """Catalog codes of what makes a signature unusable (empty list: usable)."""
    return [str(c) for c in _call("kiosk.capture.signature", "validate", "signature_check")(points, area_mm)]


def signature_image(points: Sequence[Any], area_mm: tuple[float, float]) -> bytes:
    """The signature rendered at the card's resolution as PNG (kiosk.capture.signature.render_png)."""
    return bytes(_call("kiosk.capture.signature", "render_png", "signature_check")(points, area_mm))


# -- network and central -------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkState:
    state: str  # online | degraded | offline
    last_sync: str | None
    pending_bytes: int
    upload_progress: float | None = None


def network_state(station: Any) -> NetworkState:
    """Network state of the station's sync worker (kiosk.sync.network_state)."""
    s = _call("kiosk.sync", "network_state", "sync")(station)
    return NetworkState(str(s.state), getattr(s, "last_sync", None), int(getattr(s, "pending_bytes", 0)),
                        getattr(s, "upload_progress", None))


def central_reachable(station: Any) -> bool:
    return bool(_call("kiosk.sync", "ping_central", "sync")(station))


def central_decision(station: Any, record_id: str) -> dict[str, Any]:
    """The central's answer on a record (e.g. for a duplicate: where the resident is recorded)."""
    return dict(_call("kiosk.sync", "decision_of", "sync")(station, record_id))


def request_deletion(station: Any, record_id: str, actor: str) -> None:
    _call("kiosk.sync", "request_deletion", "sync")(station, record_id, actor)


# -- printing -------------------------------------------------------------------------------------
def card_preview(station: Any, record_id: str) -> np.ndarray:
    """RGB preview of the card (kiosk.printer.card.preview)."""
    return np.asarray(_call("kiosk.printer.card", "preview", "card")(station, record_id))


def print_record(station: Any, record_id: str, actor: str, progress: Any = None) -> str:
    """Print one approved record through the permit gate (kiosk.printer.gate.print_record); job id."""
    return str(_call("kiosk.printer.gate", "print_record", "print_gate")(station, record_id, actor, progress))
