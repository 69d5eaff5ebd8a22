"""Issue 11 §2: the signature step never freezes, whatever the pad sent before or sends now."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from kiosk.enroll.signature import MAX_POINTS
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.wizard import step_screen
from tests.tui.test_flow import NIK, login, wait_for

BACKLOG = 60_000  # what the pad driver's queue holds after five minutes of a pen left on the glass


async def open_signature_step(pilot: Any, app: Any) -> str:
    await login(pilot, "siti", "rahasia123")
    await pilot.press("n", *NIK, "enter")
    await pilot.pause()
    record_id = app.screen.record_id
    app.switch_screen(step_screen("signature", record_id))
    await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen))
    return record_id


async def test_a_backlog_sent_before_the_step_is_dropped_and_keys_answer(make_app: Any, accounts: Any,
                                                                          devices: Any) -> None:
    pad = devices.get("pad")
    pad.backlog(BACKLOG)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_signature_step(pilot, app)
        await wait_for(pilot, lambda: pad.discards > 0)
        await pilot.press("f2")  # a key the operator presses while the pad "sent" a minute of points
        await wait_for(pilot, lambda: "Tanda tangan" in str(app.screen.query_one("#steps", Static).render()))
        assert len(app.screen.points) < BACKLOG  # none of the backlog became ink
        assert app.screen.points == []
        pad.sign()
        await wait_for(pilot, lambda: len(app.screen.points) == 20)
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: app.screen.saved)


async def test_a_pad_that_never_stops_is_bounded_and_keys_still_answer(make_app: Any, accounts: Any,
                                                                        devices: Any) -> None:
    pad = devices.get("pad")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_signature_step(pilot, app)
        await wait_for(pilot, lambda: pad.discards > 0)
        for _ in range(5):  # a stuck pen after the step started: far more than one signature holds
            pad.backlog(BACKLOG // 5)
            await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen.ink.full and not app.screen.ink.behind, tries=400)
        assert len(app.screen.points) == MAX_POINTS
        # every one of the five F2 presses was handled while the points poured in: Indonesian now
        assert "Tanda tangan" in str(app.screen.query_one("#steps", Static).render())
        assert app.screen.ink.overflow == 60_000 - MAX_POINTS
        await pilot.press("ctrl+r")  # clearing starts a new signature with nothing in it
        await wait_for(pilot, lambda: pad.clears > 0 and app.screen.points == [])


async def test_finger_attempts_survive_a_resumed_draft(make_app: Any, accounts: Any, devices: Any) -> None:
    from kiosk.tui.screens.enroll_fingers import FingersScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await wait_for(pilot, lambda: isinstance(app.screen, FingersScreen) and app.screen.loaded)
        for _ in range(2):  # two attempts on the right thumb (the policy allows two)
            app.screen.current = 1
            before = app.screen.attempts.get(1, 0)
            await pilot.press("c")
            await wait_for(pilot, lambda: app.screen.attempts.get(1, 0) > before, tries=200)
        assert app.screen.slots.retries_left(1) == 0
        app.switch_screen(step_screen("fingers", record_id))  # the terminal closed; the draft is resumed
        await wait_for(pilot, lambda: isinstance(app.screen, FingersScreen) and app.screen.loaded)
        assert app.screen.slots.retries_left(1) == 0
        assert app.screen.current == 2
