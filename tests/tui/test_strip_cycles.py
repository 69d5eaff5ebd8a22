"""kiosk.tui.textual_fixes.uncycle_strips: a drawn line is not kept by its own caches, so it is freed
by its reference count instead of waiting for a full garbage collection (issue 11 §3: ~50,000 objects
of cyclic garbage per enrollment, the bulk of each full collection)."""

from __future__ import annotations

import gc
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from kiosk.tui.textual_fixes import _caches_self, uncycle_strips


@pytest.fixture
def textual_as_shipped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Textual's own Strip methods for the test (the app may have applied the fix in this process)."""
    for name in ("divide", "crop_extend"):
        current = Strip.__dict__[name]
        monkeypatch.setattr(Strip, name, getattr(current, "textual_method", current))
    yield


def line() -> Strip:
    return Strip([Segment("abc", Style(bold=True)), Segment("defg")], 7)


def test_textual_as_shipped_keeps_a_strip_in_its_own_caches(textual_as_shipped: None) -> None:
    strip = line()
    strip.divide([7])
    assert _caches_self(strip)  # the defect the fix is for (fails once Textual fixes it: drop the fix then)


def test_a_divided_and_cropped_strip_is_not_in_its_own_caches(textual_as_shipped: None) -> None:
    assert uncycle_strips()
    assert not uncycle_strips()  # once is enough
    strip = line()
    assert strip.divide([7]) == [strip]
    assert strip.crop_extend(0, 7, None) is strip
    assert not _caches_self(strip)
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects())
        for _ in range(200):
            other = line()
            other.divide([3, 7])
            other.divide([7])
            other.crop_extend(0, 7, None)
            del other
        assert gc.collect() == 0  # nothing of them waited for the collector
        assert len(gc.get_objects()) <= before + 10
    finally:
        gc.enable()


@settings(max_examples=80, deadline=None)
@given(texts=st.lists(st.text(alphabet="ab c", min_size=1, max_size=5), min_size=1, max_size=4),
       cuts=st.lists(st.integers(0, 25), max_size=4), start=st.integers(0, 10), extra=st.integers(0, 10))
def test_the_results_are_textuals_own(texts: list[str], cuts: list[int], start: int, extra: int) -> None:
    uncycle_strips()
    segments = [Segment(t) for t in texts]
    length = sum(len(t) for t in texts)
    ours = Strip(segments, length)
    shipped = Strip(segments, length)
    cut_list = sorted(set(cuts)) + [length]
    divided = Strip.divide.textual_method(shipped, cut_list)  # type: ignore[attr-defined]
    assert [s.text for s in ours.divide(cut_list)] == [s.text for s in divided]
    end = start + extra
    cropped = Strip.crop_extend.textual_method(shipped, start, end, None)  # type: ignore[attr-defined]
    assert ours.crop_extend(start, end, None).text == cropped.text
