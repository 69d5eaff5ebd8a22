"""Fault injection settings: shares, kinds, outage window, refusal of nonsense."""

from __future__ import annotations

import pytest

from kiosk.central.faults import KINDS, FaultInjector


def test_fault_share_and_kinds_follow_the_settings() -> None:
    f = FaultInjector()
    f.set(rate=0.3, seed=1)
    draws = [f.draw() for _ in range(4000)]
    faults = [d for d in draws if d is not None]
    assert 0.27 < len(faults) / len(draws) < 0.33
    assert set(faults) == set(KINDS)
    f.set(rate=0.5, kinds=["reset"])
    assert {f.draw() for _ in range(200)} == {None, "reset"}


def test_outage_window_and_invalid_settings() -> None:
    f = FaultInjector()
    assert not f.in_outage()
    f.set(outage_s=3600)
    assert f.in_outage()
    f.set(outage_until=0.0)
    assert not f.in_outage()
    with pytest.raises(ValueError):
        f.set(rate=1.5)
    with pytest.raises(ValueError):
        f.set(kinds=["meteor"])
    assert f.config.rate == 0.0  # a refused change changes nothing
