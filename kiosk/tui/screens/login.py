"""Login: user name + password; lockout after repeated failures; demo credentials on a simulated station.

The password check (scrypt, 2^17 by default: tens to hundreds of milliseconds) and the refusal's
audit row run in a worker; the screen answers keys (F2, typing) meanwhile (issue 11 §3).
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from kiosk.accounts import Account, AccountError
from kiosk.i18n import translate
from kiosk.tui.base import KioskScreen
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.messages import PasswordChecked
from kiosk.tui.screens.device_help import problem_words


class LoginScreen(KioskScreen):
    KEYS = [("ctrl+s", "login", "tui.key.login")]
    #: a password check is running (a second Enter meanwhile is not a second attempt)
    checking = False

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
        if self.checking:
            return
        self.checking = True
        self.check_password(self.query_one("#name", Input).value.strip(), self.query_one("#password", Input).value)

    @work(thread=True, exclusive=True, group="login")
    def check_password(self, name: str, password: str) -> None:
        store = self.kiosk.store

        def check() -> Account:
            # the audit rows here in the worker too (write transactions: not on the event loop)
            try:
                account = self.kiosk.accounts.authenticate(name, password)
            except AccountError as exc:
                store.log_action(name or "?", "login_failed", reason=exc.code)
                raise
            store.log_action(account.name, "login", params={"role": account.role.value})
            return account

        self.post_message(PasswordChecked.of(check, "login check failed"))

    def on_password_checked(self, msg: PasswordChecked) -> None:
        self.checking = False
        if msg.account is None:
            self.query_one("#password", Input).value = ""
            # the same words for an unknown name and a wrong password
            self.query_one("#login-error", Static).update(problem_words(msg.refusal) if msg.refusal else "")
            return
        self.kiosk.login(msg.account)
