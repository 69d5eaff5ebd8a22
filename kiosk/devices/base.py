"""The shared base of every driver: open/close, info, status, self-test, protocol log.

A driver declares its kind by inheriting one protocol of :mod:`kiosk.devices.protocols`.
Calls made while the device is not open raise :class:`DeviceNotOpen`.
"""

from __future__ import annotations

import enum
import functools
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Self

from kiosk.devices.errors import DeviceAbsent, DeviceNotOpen

#: the station log's device channel: losses and recoveries, one line per change
health_log = logging.getLogger("kiosk.devices.health")
#: driver methods whose outcome says whether the device is there (wrapped in every subclass)
WATCHED = ("status", "capture", "latest", "read_points", "supplies", "print_card")


class DeviceState(enum.StrEnum):
    READY = "ready"
    BUSY = "busy"
    ABSENT = "absent"
    ERROR = "error"
    CLOSED = "closed"


@dataclass(frozen=True)
class DeviceInfo:
    vendor: str
    model: str
    serial: str = ""
    firmware: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceStatus:
    state: DeviceState
    #: catalog code explaining a non-ready state (e.g. ``device.absent``), else None
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SelfTestResult:
    passed: bool
    #: (check code, passed, detail) for each check the driver ran
    checks: tuple[tuple[str, bool, str], ...] = ()


class Worded(str):
    """A self-test detail that is also a catalog entry: the ``str`` is the English technical text
    (logs, older callers), ``code`` and ``params`` give the words in the station's language."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, text: str, /, **params: Any) -> "Worded":
        obj = super().__new__(cls, text)
        obj.code = code
        obj.params = params
        return obj


def _no_decoder(direction: str, data: bytes) -> str:
    return f"{len(data)} bytes"


#: control characters of a text exchange, shown as escapes (one exchange stays one line)
_CONTROLS = {c: f"\\x{c:02x}" for c in range(32) if c not in (9,)} | {10: "\\n", 13: "\\r"}


@dataclass(frozen=True)
class Exchange:
    """One chunk of bytes that crossed the wire, or a failure, for the technician's exchange log."""

    timestamp: float
    direction: str  # "tx", "rx" or "error"
    data: bytes
    #: the packet in words (decoded by the device's protocol), or the failure's technical line
    note: str = ""
    #: the protocol is text (HTTP and JSON): shown as text, not as hex bytes
    text: bool = False

    def when(self) -> str:
        """Local wall-clock time with milliseconds: what a technician compares with the station log."""
        stamp = time.localtime(self.timestamp)
        return time.strftime("%Y-%m-%d %H:%M:%S", stamp) + f".{int(self.timestamp * 1000) % 1000:03d}"

    def hexdump(self) -> str:
        if self.direction == "error":
            return f"{self.when()} !! {self.note}"
        if self.text:
            shown = self.data.decode("utf-8", "replace").translate(_CONTROLS)
        else:
            shown = self.data.hex(" ")
        line = f"{self.when()} {self.direction} {shown}"
        return f"{line}  | {self.note}" if self.note else line



class ProtocolLog:
    """A bounded, thread-safe ring of recent wire traffic and failures.

    ``decoder(direction, data)`` names a packet in words (a driver passes its protocol's); the
    ring keeps failures next to the bytes that led to them, so the failed exchange is the last
    one a technician reads, not a successful one before it."""

    def __init__(self, maxlen: int = 64, max_bytes: int = 256,
                 decoder: Callable[[str, bytes], str] = _no_decoder, *, text: bool = False) -> None:
        self._ring: deque[Exchange] = deque(maxlen=maxlen)
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self.decoder = decoder
        #: a text protocol (SBI's HTTP and JSON): the technician reads it as text
        self.text = text

    def record(self, direction: str, data: bytes) -> None:
        try:
            note = self.decoder(direction, bytes(data))
        except Exception:  # a decoder bug must not break the wire path
            note = f"{len(data)} bytes"
        with self._lock:
            self._ring.append(Exchange(time.time(), direction, bytes(data[: self._max_bytes]), note, self.text))

    def failure(self, text: str) -> None:
        with self._lock:
            self._ring.append(Exchange(time.time(), "error", b"", text))

    def entries(self) -> list[Exchange]:
        with self._lock:
            return list(self._ring)

    def hexdump(self) -> str:
        return "\n".join(e.hexdump() for e in self.entries())


class Device(ABC):
    """Base of every driver. Subclasses set ``kind`` via their protocol and ``Params``."""

    kind: ClassVar[str] = "device"
    #: frozen dataclass of the driver's config.toml parameters (checked at load)
    Params: ClassVar[type]

    def __init__(self, name: str, params: Any) -> None:
        self.name = name
        self.params = params
        self.log = ProtocolLog()
        self._open = False
        #: monotonic time the device was found missing (None while it is there): the log gets
        #: one line when it goes and one when it comes back, however often it is asked meanwhile
        self._missing_since: float | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in WATCHED:
            fn = cls.__dict__.get(name)
            if callable(fn) and not getattr(fn, "_health_watched", False):
                setattr(cls, name, _watched(fn))

    # -- lifecycle ---------------------------------------------------------------------------
    def open(self) -> None:
        try:
            self._do_open()
        except DeviceAbsent as exc:
            self._note_health(exc)
            raise
        self._open = True
        self._note_health(None)

    def _note_health(self, absent: DeviceAbsent | None) -> None:
        """Log a device going missing or coming back (technician details, no personal data)."""
        if absent is not None and self._missing_since is None:
            self._missing_since = time.monotonic()
            health_log.error("device lost", extra={"device": self.name, "kind": self.kind, "reason": absent.code,
                                                   "detail": {k: str(v) for k, v in absent.params.items()}})
        elif absent is None and self._missing_since is not None:
            gone = time.monotonic() - self._missing_since
            self._missing_since = None
            health_log.warning("device recovered", extra={"device": self.name, "kind": self.kind,
                                                         "missing_s": round(gone, 1)})

    def close(self) -> None:
        try:
            self._do_close()
        finally:
            self._open = False

    @property
    def is_open(self) -> bool:
        return self._open

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def require_open(self) -> None:
        if not self._open:
            raise DeviceNotOpen(device=self.name)

    # -- what every device tells ---------------------------------------------------------------
    @abstractmethod
    def _do_open(self) -> None: ...

    @abstractmethod
    def _do_close(self) -> None: ...

    @abstractmethod
    def info(self) -> DeviceInfo: ...

    @abstractmethod
    def status(self) -> DeviceStatus: ...

    @abstractmethod
    def self_test(self) -> SelfTestResult: ...

    def last_exchange(self) -> str:
        """Hex dump of the latest wire traffic (technician diagnostics)."""
        return self.log.hexdump()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {'open' if self._open else 'closed'}>"



def _watched(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` reporting its outcome to :meth:`Device._note_health`: DeviceAbsent (or a status
    of ABSENT) means the device is gone, any answer means it is there."""

    @functools.wraps(fn)
    def call(self: Device, *args: Any, **kwargs: Any) -> Any:
        try:
            out = fn(self, *args, **kwargs)
        except DeviceAbsent as exc:
            self._note_health(exc)
            raise
        if isinstance(out, DeviceStatus) and out.state is DeviceState.ABSENT:
            detail = {k: v for k, v in out.params.items() if k != "device"}
            self._note_health(DeviceAbsent(out.reason, device=self.name, **detail) if out.reason
                              else DeviceAbsent(device=self.name))
        else:
            self._note_health(None)
        return out

    call._health_watched = True  # type: ignore[attr-defined]
    return call
