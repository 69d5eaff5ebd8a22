"""Login lockout, idle logout with warning, language switch from the UI."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from kiosk.i18n import current_language, translate
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from tests.tui.test_flow import login


async def test_wrong_password_says_the_same_as_an_unknown_name_then_locks(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "salah-sandi", typed=True)
        error = str(app.screen.query_one("#login-error", Static).render())
        # no tries-left count: it would tell a real name from an unknown one (issue 15)
        assert error.strip() == translate("accounts.login_failed")
        for _ in range(2):
            app.screen.query_one("#name").value = ""
            app.screen.query_one("#name").focus()
            await login(pilot, "siti", "salah-sandi")
        assert "locked" in str(app.screen.query_one("#login-error", Static).render())
        app.screen.query_one("#name").value = ""
        app.screen.query_one("#name").focus()
        await login(pilot, "siti", "rahasia123")
        assert isinstance(app.screen, LoginScreen)


async def test_demo_credentials_are_shown_on_the_simulated_station(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert "demo1234" in str(app.screen.query_one("#demo", Static).render())
        await login(pilot, "demo", "demo1234")
        assert isinstance(app.screen, HomeScreen)


async def test_idle_warning_then_logout(make_app: Any, accounts: Any, clock: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        clock.t += 100  # idle_logout_s = 120: the warning comes 30 s before
        app.check_idle_logout()
        await pilot.pause()
        assert any("logged out in 20" in n.message for n in app._notifications)
        assert app.user is not None
        clock.t += 21
        app.check_idle_logout()
        await pilot.pause()
        assert app.user is None and isinstance(app.screen, LoginScreen)


async def test_key_press_resets_idle(make_app: Any, accounts: Any, clock: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        clock.t += 110
        await pilot.press("f5")
        clock.t += 110
        app.check_idle_logout()
        assert app.user is not None


async def test_language_switch_retranslates_screen_and_footer(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        assert "Devices" in str(app.screen.query_one("#devices", Static).render())
        await pilot.press("f2")
        await pilot.pause()
        assert current_language() == "id"
        assert "Perangkat" in str(app.screen.query_one("#devices", Static).render())
        descriptions = {b.description for _, b in app.screen._bindings}
        assert "Rekam baru" in descriptions
