"""The wizard's steps after the NIK, derived from the station's configuration."""

from __future__ import annotations

from collections.abc import Collection

#: every step a record can go through, in order (a station uses the ones its devices allow)
ALL_STEPS: tuple[str, ...] = ("form", "face", "fingers", "iris", "signature", "review")


def enrollment_steps(device_kinds: Collection[str]) -> tuple[str, ...]:
    """The steps of this station: the iris step only when it has an iris camera (device kind
    "iris"); the others always (a missing device is shown on its step, not skipped silently)."""
    return tuple(s for s in ALL_STEPS if s != "iris" or "iris" in device_kinds)
