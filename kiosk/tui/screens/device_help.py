"""What the operator should do about a device error (catalog codes of the action sentence)."""

from __future__ import annotations

from kiosk.devices.errors import (CaptureCancelled, DeviceAbsent, DeviceBusy, DeviceFault, DeviceNotOpen,
                                  DeviceProtocolError, DeviceTimeout)


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

    if isinstance(error, FeatureUnavailable):
        return translate("tui.unavailable", feature=translate("tui.feature." + str(error.params.get("feature"))))
    return describe(error)
