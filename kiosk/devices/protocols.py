"""What each kind of device can do for a station: one small abstract protocol per kind.

Drivers inherit exactly one of these. Captures take a timeout and a cancel event so a UI
worker can abandon them; they return plain data (numpy arrays, points), never widgets.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from kiosk.devices.base import Device
from kiosk.devices.errors import DeviceFault


# ------------------------------------------------------------------------------------------
# Fingerprint scanner


@dataclass(frozen=True)
class FingerImage:
    """A grey-scale finger image as the scanner delivered it."""

    pixels: np.ndarray  # uint8, H x W, 0 = black ridge
    ppi: int
    #: ISO/ANSI finger position 1..10 if known, 0 for unknown
    position: int = 0
    captured_at: float = 0.0
    #: the device's own quality score, if it gives one (e.g. SBI qualityScore); not NFIQ 2
    device_quality: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class FingerprintScanner(Device):
    kind: ClassVar[str] = "fingerprint"

    @property
    def supports_slap(self) -> bool:
        """True when :meth:`capture_slap` takes a whole slap at once (a slap scanner; valid
        once the device is open). Single-finger sensors answer False."""
        return False

    def capture_slap(self, slap: int, exceptions: tuple[int, ...] = (), *, timeout_s: float = 10.0,
                     cancel: threading.Event | None = None) -> list[FingerImage]:
        """Capture one slap: 1 left four fingers (7-10), 2 right four (2-5), 3 both thumbs
        (6, 1), minus ``exceptions`` (positions the resident cannot give). Returns one image
        per finger, split by the device, ordered as the slap. Only where :attr:`supports_slap`."""
        raise DeviceFault("slap_unsupported", device=self.name)

    @abstractmethod
    def capture(self, position: int = 0, *, timeout_s: float = 10.0,
                cancel: threading.Event | None = None) -> FingerImage:
        """Wait for a finger, take its image. Raises DeviceFault('no_finger') on timeout
        without a finger, CaptureCancelled when ``cancel`` is set."""


# ------------------------------------------------------------------------------------------
# Iris scanner


@dataclass(frozen=True)
class IrisImage:
    """One eye's iris image as the scanner delivered it."""

    pixels: np.ndarray  # uint8, H x W grey
    #: ISO/IEC 19794-6 eye label: 1 right, 2 left
    eye: int
    captured_at: float = 0.0
    #: the device's own quality score 0..100 (SBI qualityScore), if it gives one
    device_quality: float | None = None
    #: the ISO/IEC 19794-6 record exactly as the device sent it (kept in the sealed packet)
    record: bytes = b""
    metadata: dict[str, Any] = field(default_factory=dict)


class IrisScanner(Device):
    kind: ClassVar[str] = "iris"

    @abstractmethod
    def capture_irises(self, eyes: tuple[int, ...] = (1, 2), *, exceptions: tuple[int, ...] = (),
                       timeout_s: float = 10.0, cancel: threading.Event | None = None) -> list[IrisImage]:
        """Capture the eyes asked (1 right, 2 left; both at once where the device can), minus
        ``exceptions`` (eyes the resident cannot give). Raises DeviceFault('no_iris') on
        timeout without an eye, CaptureCancelled when ``cancel`` is set."""


# ------------------------------------------------------------------------------------------
# Camera


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR uint8, H x W x 3
    #: time.monotonic() when the frame was read from the device
    timestamp: float
    #: sequence number since open; gaps mean frames were dropped
    seq: int


@dataclass(frozen=True)
class CameraStats:
    frames: int
    dropped: int
    fps: float


class Camera(Device):
    kind: ClassVar[str] = "camera"

    @abstractmethod
    def latest(self, *, timeout_s: float = 2.0, newer_than: int = -1) -> Frame:
        """The newest frame (never a stale buffered one); waits for one with seq > newer_than."""

    @abstractmethod
    def stats(self) -> CameraStats: ...


# ------------------------------------------------------------------------------------------
# Signature pad


@dataclass(frozen=True)
class PenPoint:
    x: float  # millimetres from the left of the writing area
    y: float  # millimetres from the top
    pressure: float  # 0..1
    tip: bool  # pen touching
    timestamp: float  # seconds, monotonic


class SignaturePad(Device):
    kind: ClassVar[str] = "signature"

    @abstractmethod
    def read_points(self, *, timeout_s: float = 0.1) -> list[PenPoint]:
        """Pen points that arrived since the last call (empty list when none within timeout)."""

    @abstractmethod
    def clear(self) -> None:
        """Clear the pad's screen/ink and drop buffered points (retry a signature)."""

    @abstractmethod
    def writing_area_mm(self) -> tuple[float, float]:
        """Width and height of the writing area in millimetres."""


# ------------------------------------------------------------------------------------------
# Card printer (drivers live in kiosk.printer)


@dataclass(frozen=True)
class PrinterSupplies:
    cards_in_hopper: int | None  # None when the printer cannot tell
    ribbon_panels_left: int | None
    ribbon_type: str = ""
    total_printed: int | None = None


class CardPrinter(Device):
    kind: ClassVar[str] = "printer"

    @abstractmethod
    def supplies(self) -> PrinterSupplies: ...

    @abstractmethod
    def print_card(self, front: np.ndarray, back: np.ndarray | None = None, *,
                   progress: Any = None) -> str:
        """Print one card (RGB arrays at the printer's resolution); return a job id.
        Raises DeviceFault with the printer's reason on failure."""

