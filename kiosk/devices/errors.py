"""One error hierarchy for every device; codes map to operator words in the catalog."""

from __future__ import annotations

from typing import Any

from kiosk.errors import KioskError


class DeviceError(KioskError):
    """Base of device errors. ``params`` always hold ``device`` (the configured name)."""

    code = "device.error"

    def __init__(self, code: str | None = None, /, *, device: str, **params: Any) -> None:
        super().__init__(code, device=device, **params)

    @property
    def device(self) -> str:
        return str(self.params["device"])


class DeviceAbsent(DeviceError):
    """The device is unplugged or its port does not exist. Operator: check the cable and replug."""

    code = "device.absent"


class DeviceTimeout(DeviceError):
    """The device did not answer in time. Operator: retry; if it persists, replug."""

    code = "device.timeout"


class DeviceProtocolError(DeviceError):
    """The device answered with bytes that break its protocol (bad checksum, garbage)."""

    code = "device.protocol"


class DeviceBusy(DeviceError):
    """Another call is running on the device (or another program holds it)."""

    code = "device.busy"


class DeviceNotOpen(DeviceError):
    """A call was made on a device that is not open: a programming error, out of state."""

    code = "device.not_open"


class DeviceFault(DeviceError):
    """The device reported a condition the operator must fix (no finger, cover open, ...).

    ``params['reason']`` is a code such as ``no_finger``; the catalog has ``device.fault.<reason>``.
    """

    code = "device.fault"

    def __init__(self, reason: str, /, *, device: str, **params: Any) -> None:
        super().__init__(f"device.fault.{reason}", device=device, reason=reason, **params)

    @property
    def reason(self) -> str:
        return str(self.params["reason"])


class CaptureCancelled(DeviceError):
    """The caller cancelled a running capture."""

    code = "device.cancelled"


def os_error_text(exc: BaseException | None) -> str:
    """``ENOENT: No such file or directory``: the operating system's error behind ``exc``, named as
    a technician looks it up (errno name and text), or ``""`` when there is none.

    pyserial wraps OS errors in SerialException(errno, message) and termios errors carry
    (errno, text) in their args, so the errno is looked for in the exception, its args and its cause."""
    import errno as errno_names
    import os

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        number = getattr(exc, "errno", None)
        if not isinstance(number, int) and exc.args and isinstance(exc.args[0], int):
            number = exc.args[0]
        if isinstance(number, int) and number > 0:
            return f"{errno_names.errorcode.get(number, f'errno {number}')}: {os.strerror(number)}"
        exc = exc.__cause__ or exc.__context__
    return ""
