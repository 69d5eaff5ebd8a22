"""Login: user name + password; lockout after repeated failures; demo credentials on a simulated station."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from kiosk.accounts import AccountError
from kiosk.i18n import describe, translate
from kiosk.tui.base import KioskScreen
from kiosk.tui.chrome import KioskFooter, KioskHeader


class LoginScreen(KioskScreen):
    KEYS = [("ctrl+s", "login", "tui.key.login")]

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        with Vertical(id="login-box"):
            yield Label(id="login-title", classes="title")
            yield Label(id="name-label")
            yield Input(id="name", max_length=32)
            yield Label(id="password-label")
            yield Input(id="password", password=True, max_length=128)
            yield Static(id="login-error", classes="error")
            yield Static(id="demo", classes="hint")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#login-title", Label).update(translate("tui.login.title", station=self.kiosk.cfg.station.name))
        self.query_one("#name-label", Label).update(translate("tui.login.name"))
        self.query_one("#password-label", Label).update(translate("tui.login.password"))
        demo = self.kiosk.demo
        self.query_one("#demo", Static).update(
            translate("tui.login.demo", name=demo[0], password=demo[1]) if demo else "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name":
            self.set_focus(self.query_one("#password", Input))  # now: the next key typed goes there
        else:
            self.action_login()

    def action_login(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        password_input = self.query_one("#password", Input)
        error = self.query_one("#login-error", Static)
        try:
            account = self.kiosk.accounts.authenticate(name, password_input.value)
        except AccountError as exc:
            password_input.value = ""
            error.update(describe(exc))  # the same words for an unknown name and a wrong password
            self.kiosk.store.log_action(name or "?", "login_failed", reason=exc.code)
            return
        self.kiosk.login(account)
