"""At 80x24 every footer key is on the screen, the quit key last among them (issue 11 §5 "how to
quit is shown nowhere"; seen again in tmux: the technician's diagnostics footer ended "... f2 English ^",
its device keys having pushed "^q Tutup kiosk" off the terminal)."""

from __future__ import annotations

from typing import Any

from textual.widgets._footer import FooterKey

from kiosk.i18n import current_language, set_language
from kiosk.tui.wizard import step_screen
from tests.tui.test_flow import NIK, login, wait_for


def keys_past_the_edge(app: Any) -> list[str]:
    width = app.size.width
    keys = list(app.screen.query(FooterKey))
    if not any(k.action in ("app.quit", "quit") for k in keys):
        return ["(no quit key in the footer)"]
    return [f"{k.key_display or k.key} {k.description}" for k in keys if k.region.right > width or not k.region]


async def check_footers(make_app: Any, lang: str) -> None:
    before = current_language()
    set_language(lang)
    cut: dict[str, list[str]] = {}
    try:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:

            async def look(name: str) -> None:
                # the footer is laid out after the screen shows: wait for it, not for a set time
                try:
                    await wait_for(pilot, lambda: not keys_past_the_edge(app), tries=40)
                except AssertionError:
                    cut[name] = keys_past_the_edge(app)

            await login(pilot, "budi", "rahasia456")  # a supervisor: the most keys
            await look("home")
            await pilot.press("n")
            await look("nik")
            await pilot.press(*NIK, "enter")
            await wait_for(pilot, lambda: getattr(app.screen, "record_id", None) is not None)
            record_id = app.screen.record_id
            await look("form")
            for step in ("face", "fingers", "iris", "signature", "review"):
                app.switch_screen(step_screen(step, record_id))
                await look(step)
            await pilot.press("f4")
            await pilot.pause()
            for key, name in (("u", "queue"), ("p", "print"), ("g", "progress")):
                await pilot.press(key)
                await look(name)
                await pilot.press("escape")
                await pilot.pause()
            await pilot.press("f10")
            await pilot.pause()
            await login(pilot, "teknisi", "rahasia789")
            await look("technician home")
            await pilot.press("d")
            await look("diagnostics")
    finally:
        set_language(before)
    assert cut == {}


async def test_every_footer_key_fits_80_columns_in_indonesian(make_app: Any, accounts: Any) -> None:
    await check_footers(make_app, "id")


async def test_every_footer_key_fits_80_columns_in_english(make_app: Any, accounts: Any) -> None:
    await check_footers(make_app, "en")
