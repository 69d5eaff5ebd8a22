"""Chunk sizes follow the measured throughput (issue 13 §3): a small probe first, then the
target seconds' worth of bytes, halved after a timeout, within the bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kiosk.sync.outbox import ChunkSizer


def test_the_first_chunk_is_a_probe_then_sizes_follow_the_throughput() -> None:
    sizer = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    assert sizer.size() == ChunkSizer.PROBE  # 256 KB would take 64 s at 32 kbit/s
    sizer.observe(32768, 4.0)  # 8 KB/s: 64 kbit/s
    assert sizer.size() == 16 * 8192
    sizer.timed_out(sizer.size())
    assert sizer.size() == 8 * 8192
    sizer.observe(1 << 20, 0.01)  # loopback: as big as allowed, growing back step by step
    assert sizer.size() == 16 * 8192 and ChunkSizer(4096, 16.0, 4096, 1 << 20).size() == 4096


@given(st.lists(st.tuples(st.integers(0, 1 << 24), st.floats(0.0, 100.0), st.booleans()), max_size=30))
def test_sizes_stay_within_bounds_whatever_is_measured(events: list[tuple[int, float, bool]]) -> None:
    sizer = ChunkSizer(262144, target_s=16.0, lo=8192, hi=4 << 20)
    for nbytes, seconds, timeout in events:
        if timeout:
            sizer.timed_out(sizer.size())
        else:
            sizer.observe(nbytes, seconds)
        assert 8192 <= sizer.size() <= 4 << 20
