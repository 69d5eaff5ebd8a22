"""The pad's worker sends ink to the screen at most INK_UPDATES_PER_S a second, losing nothing
(issue 11 §3: the driver hands over each pen report as it arrives, up to 200 a second, and each
became a redraw of the signature on the event loop)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices.protocols import PenPoint
from kiosk.enroll.signature import INK_UPDATES_PER_S, InkBatcher


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def points(start: int, n: int) -> list[PenPoint]:
    return [PenPoint(x=float(i), y=1.0, pressure=0.5, tip=True, timestamp=i / 200) for i in range(start, start + n)]


@given(st.lists(st.tuples(st.floats(0.0, 0.3), st.integers(0, 8)), max_size=200))
@settings(max_examples=200, deadline=None)
def test_batches_keep_every_point_in_order_and_come_at_most_rate_a_second(reads: list[tuple[float, int]]) -> None:
    clock = Clock()
    batcher = InkBatcher(clock=clock)
    sent: list[PenPoint] = []
    times: list[float] = []
    n = 0
    for dt, count in reads:
        clock.t += dt
        batch = batcher.add(points(n, count))
        n += count
        if batch is not None:
            assert batch, "an empty batch is never sent"
            sent += batch
            times.append(clock.t)
    assert sent + batcher.pending == points(0, n)
    assert all(b - a >= 1.0 / INK_UPDATES_PER_S - 1e-9 for a, b in zip(times, times[1:]))


def test_a_pad_reporting_200_times_a_second_makes_10_updates_a_second() -> None:
    clock = Clock()
    batcher = InkBatcher(clock=clock)
    updates = 0
    for i in range(400):  # two seconds of pen reports, one point each 5 ms
        clock.t += 0.005
        if batcher.add(points(i, 1)):
            updates += 1
    assert updates == 20


def test_points_held_back_go_out_once_the_pen_stops() -> None:
    clock = Clock()
    batcher = InkBatcher(clock=clock)
    assert batcher.add(points(0, 3)) == points(0, 3)
    clock.t += 0.01
    assert batcher.add(points(3, 2)) is None
    clock.t += 0.1  # the pad's read timed out: nothing new, the held points are shown now
    assert batcher.add([]) == points(3, 2)
