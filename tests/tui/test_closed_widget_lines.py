"""A closed widget lets its drawn lines go at once (kiosk.tui.textual_fixes.release_closed_widgets_lines,
and the picture widget's own lines): they no longer wait, with the closed widget's reference cycle,
for a full garbage collection (issue 11 §3)."""

from __future__ import annotations

from typing import Iterator

import pytest
from PIL import Image as PILImage
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from kiosk.tui.picture_widget import Picture
from kiosk.tui.textual_fixes import release_closed_widgets_lines


@pytest.fixture
def textual_as_shipped(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    current = Widget._message_loop_exit
    monkeypatch.setattr(Widget, "_message_loop_exit", getattr(current, "textual_method", current))
    yield


class Drawn(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("Nama lengkap: SITI AMINAH", id="text")
        yield Picture(PILImage.new("RGB", (40, 20), "white"), id="picture")


class Host(App[None]):
    CSS = "Picture { width: 20; height: 5; }"


async def closed_after_drawing() -> tuple[Static, Picture]:
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        screen = Drawn()
        await app.push_screen(screen)
        await pilot.pause()
        text, picture = screen.query_one("#text", Static), screen.query_one("#picture", Picture)
        assert text._styles_cache._cache and picture._lines  # drawn
        await app.pop_screen()
        await pilot.pause()
    return text, picture


async def test_a_closed_widget_keeps_no_drawn_lines(textual_as_shipped: None) -> None:
    assert release_closed_widgets_lines()
    assert not release_closed_widgets_lines()  # once is enough
    text, picture = await closed_after_drawing()
    assert not text._styles_cache._cache
    assert picture._lines is None and picture.image is None


async def test_textual_as_shipped_keeps_them(textual_as_shipped: None) -> None:
    text, _ = await closed_after_drawing()
    assert text._styles_cache._cache  # the defect the fix is for (fails once Textual fixes it: drop the fix then)
