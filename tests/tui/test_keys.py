"""Issue 11 §4: keys go where the operator means them.

``burst`` hands keys to the app the way a terminal does when a barcode scanner or a keyboard wedge
types: all at once, without waiting for the app to handle one before the next arrives (Pilot's
``press`` waits after every key, which hid the problem)."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Input

from kiosk.tui.modals import ResumeDraftModal
from kiosk.tui.screens.enroll_form import FormScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from kiosk.tui.wizard import step_screen
from tests.conftest import resident
from tests.tui.test_flow import NIK, login, wait_for


async def burst(pilot: Any, *keys: str) -> None:
    app = pilot.app
    for key in keys:
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause()


async def test_a_login_typed_without_pauses_fills_each_field(make_app: Any, accounts: Any) -> None:
    for attempt in range(1):  # the report: 3 of 4 tries put the password into the name field; here every one did
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            # the login screen is up and its name field takes keys (not "a title is drawn": under -n 2
            # the burst then raced the header's own title update, "NoMatches HeaderTitle")
            await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted
                           and app.screen.focused is not None and app.screen.focused.id == "name")
            await pilot.pause()
            await burst(pilot, *"siti", "enter", *"rahasia123", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
            assert app.user is not None and app.user.name == "siti", attempt


async def test_keys_typed_right_after_tab_land_in_the_next_field(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#address", Input).focus()
        await pilot.pause()
        await burst(pilot, *"Jl. Kenanga No. 5", "tab", *"003", "tab", *"004")
        await wait_for(pilot, lambda: form.query_one("#rw", Input).value == "004")
        assert form.query_one("#address", Input).value == "Jl. Kenanga No. 5"
        assert form.query_one("#rt", Input).value == "003"


async def test_a_modal_that_opened_by_itself_ignores_keys_typed_before_it_appeared(make_app: Any,
                                                                                  accounts: Any) -> None:
    app = make_app()
    app.store.create_draft(resident(9), actor="siti")
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeDraftModal))
        modal = app.screen
        assert modal.auto_opened
        early = events.Key("enter", None)  # typed for the login, still in the queue when the offer opened
        early.time = modal.opened_at - 0.05
        early.set_sender(app)
        app._driver.send_message(early)
        await pilot.pause()
        assert app.screen is modal  # the draft was not opened by a key meant for the login
        await pilot.press("escape")  # a key pressed after it appeared works
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))


async def test_the_signature_is_not_cleared_or_kept_by_a_single_letter(make_app: Any, accounts: Any,
                                                                        devices: Any) -> None:
    app = make_app()
    pad = devices.get("pad")
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        app.switch_screen(step_screen("signature", app.screen.record_id))
        await wait_for(pilot, lambda: pad.discards > 0)
        pad.sign()
        await wait_for(pilot, lambda: len(app.screen.points) == 20)
        await pilot.press("r", "a")
        await pilot.pause()
        assert len(app.screen.points) == 20 and not app.screen.saved
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: app.screen.saved)


async def test_when_all_fingers_are_done_the_screen_says_what_to_press(make_app: Any, accounts: Any) -> None:
    from textual.widgets import Static

    from kiosk.i18n import translate

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        app.switch_screen(step_screen("fingers", app.screen.record_id))
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", False))
        for _ in range(2):
            before = len(app.screen.scores)
            await pilot.press("c")
            await wait_for(pilot, lambda: len(app.screen.scores) > before, tries=200)
        status = str(app.screen.query_one("#finger-status", Static).render())
        # this station has no iris device: after the fingers comes the signature
        assert translate("tui.fingers.all_done", step=translate("tui.step.signature")) in " ".join(status.split())
        assert translate("tui.fingers.retries", left=app.screen.slots.retries_left(app.screen.current)) not in status
