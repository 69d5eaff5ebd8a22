"""Issue 11 §5: every screen, rendered in each language, shows no words of the other catalog.

Each screen and dialog the operator, supervisor and technician can open is rendered at 80x24 in
Indonesian and in English (each screen opens in the other language and F2 switches it while it is
open, so what was already on the screen must follow too: "Rekaman terakhir" once stayed). The words of the screen are compared with the words that
only the other language's catalog uses."""

from __future__ import annotations

import html
import re
from typing import Any

from kiosk.i18n import catalog, current_language, set_language
from kiosk.tui.wizard import step_screen
from tests.tui.test_flow import NIK, login, wait_for

WORD = re.compile(r"[A-Za-z]{4,}")
#: words both languages show on purpose: the F2 key names the other language; codes and standards
TEXTS: dict[str, str] = {}
SHARED = {"english", "bahasa", "nfiq", "ctrl", "supervisor", "enter", "escape"}
#: words of the test data (station, residents, districts), not of a catalog
DATA = {"test", "station", "siti", "aminah", "bogor", "jawa", "barat", "cibinong", "fake", "sample",
        "belum", "kawin"}  # "BELUM KAWIN": the marital status as the e-KTP prints it, in both modes


def catalog_words(lang: str) -> set[str]:
    words: set[str] = set()
    for code, text in catalog(lang).items():
        if code.split(".")[0] in ("tui", "state", "device", "capture", "finger", "signature", "face"):
            words.update(w.lower() for w in WORD.findall(re.sub(r"\{[^}]*\}", " ", text)))
    return words


def screen_text(app: Any) -> str:
    svg = app.export_screenshot()
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return html.unescape(" ".join(texts)).replace("\xa0", " ")


def screen_words(app: Any) -> set[str]:
    return {w.lower() for w in WORD.findall(screen_text(app))}


async def visit(pilot: Any, app: Any) -> dict[str, set[str]]:
    """Open each screen; return the words each shows once F2 switched it to the language under test."""
    seen: dict[str, set[str]] = {}

    async def look(name: str) -> None:
        await pilot.pause(0.2)
        await pilot.press("f2")  # to the language under test: what was on the screen must follow
        await pilot.pause(0.2)
        seen[name] = screen_words(app)
        TEXTS[name] = screen_text(app)
        await pilot.press("f2")  # back, to open the next screen as the operator left it
        await pilot.pause(0.1)

    await look("login")
    await login(pilot, "budi", "rahasia456")
    await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {})) >= 3)
    await look("home")
    await pilot.press("n")
    await look("nik")
    await pilot.press(*NIK)
    await wait_for(pilot, lambda: app.screen.lookup is not None)  # the central's answer in words
    await look("nik answered")
    await pilot.press("enter")
    await pilot.pause()
    record_id = app.screen.record_id
    await look("form")
    from kiosk.tui.screens.deletion_request import DeletionRequestModal

    app.push_screen(DeletionRequestModal(record_id))
    await look("deletion request")
    await pilot.press("escape")
    for step in ("face", "fingers", "iris", "signature", "review"):
        app.switch_screen(step_screen(step, record_id))
        await pilot.pause(0.3)
        if step in ("fingers", "iris"):
            await wait_for(pilot, lambda: app.screen.loaded)
        if step == "fingers":
            await pilot.press("c")
            await wait_for(pilot, lambda: bool(app.screen.scores), tries=200)
        await look(step)
        if step == "fingers":
            await pilot.press("x")
            await look("exception reason")
            await pilot.press("escape")
        if step == "iris":
            await pilot.press("x")
            await look("iris exception eye")
            await pilot.press("enter")
            await look("iris exception reason")
            await pilot.press("escape")
    await pilot.press("f4")
    await pilot.pause()
    for key, name in (("u", "queue"), ("p", "print"), ("g", "progress")):
        await pilot.press(key)
        await pilot.pause(0.5)
        await look(name)
        if name == "queue":
            await pilot.press("enter")
            await look("record detail")
            await pilot.press("escape")
        await pilot.press("escape")
        await pilot.pause()
    await pilot.press("r")
    await look("drafts")
    return seen


async def check_language(make_app: Any, lang: str) -> None:
    other = "en" if lang == "id" else "id"
    foreign = catalog_words(other) - catalog_words(lang) - SHARED - DATA
    before = current_language()
    set_language(other)  # each screen opens in the other language; F2 switches it to ``lang``
    try:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            seen = await visit(pilot, app)
    finally:
        set_language(before)
    problems = {name: sorted(words & foreign) for name, words in seen.items() if words & foreign}
    assert problems == {}, "\n".join(f"{name}: {' '.join(words)} in: {TEXTS[name]}" for name, words in problems.items())


async def test_every_screen_in_indonesian_shows_no_english(make_app: Any, accounts: Any) -> None:
    await check_language(make_app, "id")


async def test_every_screen_in_english_shows_no_indonesian(make_app: Any, accounts: Any) -> None:
    await check_language(make_app, "en")
