"""Issue 11 §3: F2 re-renders only the screens on show (each F2 used to restyle every screen in the
stack on the UI thread); a screen that lay under another when the language changed shows the new
language, texts and footer keys, as soon as it comes back."""

from __future__ import annotations

from typing import Any

from kiosk.i18n import current_language, set_language
from tests.tui.test_every_screen_language import SHARED, DATA, catalog_words, screen_words
from tests.tui.test_flow import login, wait_for


async def test_home_under_the_nik_screen_follows_f2_when_it_comes_back(make_app: Any, accounts: Any) -> None:
    before = current_language()
    set_language("id")
    try:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await login(pilot, "budi", "rahasia456")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
            home = app.screen
            await pilot.press("n")
            await wait_for(pilot, lambda: app.screen is not home)
            await pilot.press("f2")  # to English while home lies under the NIK screen
            await pilot.pause(0.2)
            assert home._texts_stale  # not re-rendered while hidden
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is home)
            await pilot.pause(0.3)
            foreign = catalog_words("id") - catalog_words("en") - SHARED - DATA
            assert current_language() == "en"
            assert not home._texts_stale
            assert screen_words(app) & foreign == set()
    finally:
        set_language(before)
