"""Small dialogs. Each is a ``ModalScreen[T]`` that returns its answer through ``dismiss``."""

from __future__ import annotations

from typing import Mapping, Sequence

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from kiosk.accounts import Role
from kiosk.i18n import describe, translate
from kiosk.identity import Identity
from kiosk.store import Record
from kiosk.tui.base import KioskModal
from kiosk.tui.chrome import KioskFooter
from kiosk.tui.messages import PasswordChecked


class ResumeDraftModal(KioskModal[str | None]):
    """Offer the drafts left open (crash, closed terminal, idle logout); returns a record id.
    A draft the resident will not finish can be discarded (cancelled, with its audit entry)."""

    KEYS = [("enter", "choose", "tui.key.choose", True), ("delete", "discard", "tui.key.discard"),
            ("escape", "cancel", "tui.key.cancel")]

    def __init__(self, drafts: Sequence[Record], identities: Mapping[str, Identity]) -> None:
        """``identities``: each draft's identity, read (decrypted) by the caller's worker."""
        super().__init__()
        self.drafts = list(drafts)
        self.identities = dict(identities)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(id="title", classes="title")
            yield OptionList(id="drafts")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#title", Label).update(translate("tui.resume.title"))
        options = self.query_one("#drafts", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for rec in self.drafts:
            ident = self.identities[rec.id]
            options.add_option(Option(translate("tui.resume.item", nik=ident.nik, name=ident.full_name or "-",
                                                step=translate("tui.step." + rec.step if rec.step != "identity" else "tui.step.nik")),
                                      id=rec.id))
        options.highlighted = highlighted if highlighted is not None else 0
        options.focus()

    def action_choose(self) -> None:
        options = self.query_one("#drafts", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_discard(self) -> None:
        options = self.query_one("#drafts", OptionList)
        if options.highlighted is None or not self.drafts:
            return
        record_id = str(options.get_option_at_index(options.highlighted).id)
        nik = self.identities[record_id].nik

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            from kiosk.store import RecordState

            user = self.kiosk.user
            self.kiosk.store.transition(record_id, RecordState.CANCELLED, actor=user.name if user else "?",
                                        reason="discarded_draft")
            self.drafts = [d for d in self.drafts if d.id != record_id]
            if not self.drafts:
                self.dismiss(None)
                return
            options.highlighted = 0
            self.refresh_texts()

        self.app.push_screen(ConfirmModal("tui.resume.discard_confirm", nik=nik), confirmed)


class ReasonModal(KioskModal[str | None]):
    """Pick a reason from a closed list (catalog codes ``<prefix>.<reason>``); returns the reason."""

    KEYS = [("enter", "choose", "tui.key.choose", True), ("escape", "cancel", "tui.key.cancel")]

    def __init__(self, title_code: str, prefix: str, reasons: Sequence[str], **params: object) -> None:
        super().__init__()
        self.title_code = title_code
        self.prefix = prefix
        self.reasons = list(reasons)
        self.params = params

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(id="title", classes="title")
            yield OptionList(id="reasons")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#title", Label).update(self.words(self.title_code, self.params))
        options = self.query_one("#reasons", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for reason in self.reasons:
            options.add_option(Option(translate(f"{self.prefix}.{reason}"), id=reason))
        options.highlighted = highlighted if highlighted is not None else 0
        options.focus()

    def action_choose(self) -> None:
        options = self.query_one("#reasons", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmModal(KioskModal[bool]):
    KEYS = [("y", "yes", "tui.key.yes"), ("n,escape", "no", "tui.key.no")]

    def __init__(self, question_code: str, **params: object) -> None:
        super().__init__()
        self.question_code = question_code
        self.params = params

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(id="question")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#question", Static).update(self.words(self.question_code, self.params))

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class SupervisorModal(KioskModal[str | None]):
    """A supervisor confirms with name and password; returns the supervisor's name."""

    KEYS = [("ctrl+s", "confirm", "tui.key.confirm"), ("escape", "cancel", "tui.key.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(id="title", classes="title")
            yield Input(id="sup-name")
            yield Input(id="sup-password", password=True)
            yield Static(id="sup-error", classes="error")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        self.query_one("#title", Label).update(translate("tui.supervisor.title"))
        self.query_one("#sup-name", Input).placeholder = translate("tui.login.name")
        self.query_one("#sup-password", Input).placeholder = translate("tui.login.password")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "sup-name":
            self.set_focus(self.query_one("#sup-password", Input))  # now: the next key typed goes there
        else:
            self.action_confirm()

    #: the password is being checked (scrypt, a few hundred milliseconds: in a worker)
    checking = False

    def action_confirm(self) -> None:
        if self.checking:  # a second Ctrl+S / Enter waits for the first answer
            return
        self.checking = True
        self.query_one("#sup-error", Static).update(translate("tui.supervisor.checking"))
        self.check_supervisor(self.query_one("#sup-name", Input).value.strip(),
                              self.query_one("#sup-password", Input).value)

    @work(thread=True, exclusive=True, group="supervisor-check")
    def check_supervisor(self, name: str, password: str) -> None:
        """The password check is a memory-hard scrypt (``[accounts] password_cost``): it froze every
        key and repaint of the station while it ran on the event loop."""
        accounts = self.kiosk.accounts
        self.post_message(PasswordChecked.of(lambda: accounts.authenticate(name, password), "supervisor check failed"))

    def on_password_checked(self, msg: PasswordChecked) -> None:
        self.checking = False
        error = self.query_one("#sup-error", Static)
        if msg.account is None:
            self.query_one("#sup-password", Input).value = ""
            error.update(describe(msg.refusal) if msg.refusal else "")
            return
        if msg.account.role is not Role.SUPERVISOR:
            error.update(translate("tui.supervisor.not_supervisor", name=msg.account.name))
            return
        self.dismiss(msg.account.name)

    def action_cancel(self) -> None:
        self.dismiss(None)
