"""What the operator should do about a device error (catalog codes of the action sentence)."""

from __future__ import annotations

from kiosk.devices.errors import (CaptureCancelled, DeviceAbsent, DeviceBusy, DeviceFault, DeviceNotOpen,
                                  DeviceProtocolError, DeviceTimeout)


#: configured device name -> its kind ("fingerprint", "signature"...), filled by the app at start:
#: the operator reads "Pemindai sidik jari", never the config table's English name
DEVICE_KINDS: dict[str, str] = {}


def device_label(name: str) -> str:
    """A device in the operator's words: its kind ("Pemindai sidik jari"), with the config name
    only when the station has two devices of that kind."""
    from kiosk.i18n import translate

    kind = DEVICE_KINDS.get(name)
    if kind is None:
        return name
    words = translate(f"tui.kind.{kind}")
    words = words[:1].upper() + words[1:]
    twins = [n for n, k in DEVICE_KINDS.items() if k == kind]
    return f"{words} ({name})" if len(twins) > 1 else words


def note_device_kinds(devices: "object") -> None:
    """Remember the kind of each configured device (from its driver class; nothing is opened)."""
    from kiosk.composition import driver_class

    DEVICE_KINDS.clear()
    for dev in getattr(devices, "devices", ()):
        try:
            DEVICE_KINDS[dev.name] = str(driver_class(dev.driver).kind)
        except Exception:  # a driver that cannot load keeps its config name
            continue


def with_device_label(params: dict) -> dict:
    """Error parameters with the device named in words."""
    if "device" in params:
        return {**params, "device": device_label(str(params["device"]))}
    return params


def action_for(error: BaseException) -> str:
    from kiosk.tui.services import FeatureUnavailable

    if isinstance(error, FeatureUnavailable):
        return "tui.action.setup"
    if isinstance(error, DeviceAbsent):
        return "tui.action.replug"
    if isinstance(error, (DeviceTimeout, DeviceFault, CaptureCancelled, DeviceBusy)):
        return "tui.action.retry"
    if isinstance(error, (DeviceProtocolError, DeviceNotOpen)):
        return "tui.action.technician"
    return "tui.action.technician"


def action_words(error: BaseException, retry_key: str) -> str:
    """The action sentence, naming the key that retries on this screen (``retry_key`` as shown)."""
    from kiosk.i18n import translate

    return translate(action_for(error), key=retry_key)


def problem_words(error: BaseException) -> str:
    """The operator sentence for an error, naming a missing feature in words."""
    from kiosk.i18n import describe, translate
    from kiosk.tui.services import FeatureUnavailable

    from kiosk.errors import KioskError

    if isinstance(error, FeatureUnavailable):
        return translate("tui.unavailable", feature=translate("tui.feature." + str(error.params.get("feature"))))
    if isinstance(error, KioskError):
        return translate(error.code, **with_device_label(dict(error.params)))
    return describe(error)
