"""A link cut under a transfer is not an unreachable central (issue 13 §3): a pass on a link
cut every few seconds goes on, while a refused connection or an at-once reset still counts
towards "offline" and stops the pass."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.sync import session as session_mod
from kiosk.sync.client import CentralUnavailable
from kiosk.sync.session import SyncSession, SyncSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def _session(make_station: Any) -> SyncSession:
    st = make_station(settings=SyncSettings(offline_after=2))
    return st.worker.session


@pytest.mark.parametrize(("kind", "seconds", "counts"), [
    ("WriteError", 3.0, False),       # cut after carrying bytes for 3 s: the link broke, the central was there
    ("ReadError", 1.0, False),
    ("WriteError", 0.2, True),        # reset at once: as an outage looks
    ("ConnectError", 5.0, True),      # nobody listening
])
def test_only_a_cut_during_a_transfer_is_spared_from_the_offline_count(make_station, monkeypatch, kind, seconds, counts) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    monkeypatch.setattr(session_mod.time, "monotonic", clock.monotonic)
    s = _session(make_station)

    def cut_after(chunk: bytes) -> None:
        clock.now += seconds
        raise CentralUnavailable("sync.network", kind=kind)

    for _ in range(2):
        with pytest.raises(CentralUnavailable):
            s.call_transfer(cut_after, b"x")
    assert (s.monitor.consecutive == 2) is counts
    assert s.abort_pass.is_set() is counts  # offline_after = 2
    assert s.monitor.last_error == "sync.network"  # noted for the technician either way


def test_plain_calls_count_every_failure(make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    monkeypatch.setattr(session_mod.time, "monotonic", clock.monotonic)
    s = _session(make_station)

    def head() -> None:
        clock.now += 3.0
        raise CentralUnavailable("sync.network", kind="ReadError")

    for _ in range(2):
        with pytest.raises(CentralUnavailable):
            s.call(head)
    assert s.monitor.consecutive == 2 and s.abort_pass.is_set()
