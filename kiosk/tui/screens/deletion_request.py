"""The operator files the deletion of a resident's earlier record (issue 14 §2, the deletion
journey): a reason from a closed list (a note is needed for "other"), confirmed with Ctrl+S, filed
through the core (:func:`kiosk.sync.requests.request_deletion`, one transaction with its audit row)
in a worker. The request is idempotent: its id is derived from the record and its submission, and
filing it twice is one request. Returns the filed :class:`DeletionRequest`, or None when cancelled.

Opened from the NIK step (the central said the NIK is recorded elsewhere: the request waits until
the central calls the new record a duplicate) and from the queue (a record in state ``duplicate``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from kiosk.tui.chrome import KioskFooter
from kiosk.i18n import translate
from kiosk.tui.base import KioskModal
from kiosk.tui.dedup_services import DeletionRequest, file_deletion
from kiosk.tui.screens.device_help import problem_words

log = logging.getLogger(__name__)
#: reasons the operator picks from (catalog ``tui.deletion.reason.<code>``); the code, and the
#: note when given, is what the central receives
REASONS = ("moved", "recorded_twice", "data_wrong", "other")
#: the longest note kept (the central stores the reason as text)
NOTE_MAX = 120


def reason_text(code: str, note: str) -> str:
    """What the central receives: the reason's code, then the operator's note if any."""
    note = " ".join(note.split())[:NOTE_MAX]
    return f"{code}: {note}" if note else code


@dataclass
class DeletionFiled(Message):
    request: DeletionRequest | None
    error: BaseException | None = None


class DeletionRequestModal(KioskModal[DeletionRequest | None]):
    KEYS = [("ctrl+s", "confirm", "tui.key.file_request", True), ("escape", "cancel", "tui.key.cancel")]

    def __init__(self, record_id: str, *, earlier: str = "") -> None:
        super().__init__()
        self.record_id = record_id
        #: where and when the resident was recorded before, as the NIK step or the central said it
        self.earlier = earlier
        self.filing = False
        self.problem = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="deletion-dialog"):
            yield Label(id="title", classes="title")
            yield Static(id="deletion-who")
            yield OptionList(id="reasons")
            yield Input(id="deletion-note", max_length=NOTE_MAX)
            yield Static(id="deletion-status", classes="error")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#reasons", OptionList).focus()

    def refresh_texts(self) -> None:
        store = self.kiosk.store
        ident = store.identity(self.record_id)
        self.query_one("#title", Label).update(translate("tui.deletion.title"))
        # at the NIK step the form is not filled yet: the NIK alone names the resident
        who = translate("tui.deletion.who", name=ident.full_name, nik=ident.nik) if ident.full_name \
            else translate("tui.deletion.who_nik", nik=ident.nik)
        self.query_one("#deletion-who", Static).update(f"{who}\n{self.earlier}" if self.earlier else who)
        options = self.query_one("#reasons", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for code in REASONS:
            options.add_option(Option(translate(f"tui.deletion.reason.{code}"), id=code))
        options.highlighted = highlighted if highlighted is not None else 0
        self.query_one("#deletion-note", Input).placeholder = translate("tui.deletion.note")
        self.query_one("#deletion-status", Static).update(self.problem)

    def chosen(self) -> str | None:
        options = self.query_one("#reasons", OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#deletion-note", Input).focus()  # Enter on a reason: on to the note

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_confirm()

    def say(self, text: str) -> None:
        self.problem = text
        self.query_one("#deletion-status", Static).update(text)

    def action_confirm(self) -> None:
        if self.filing:
            return  # one request at a time; the worker answers
        code = self.chosen()
        note = self.query_one("#deletion-note", Input).value
        if code is None:
            self.say(translate("tui.deletion.pick_reason"))
            return
        if code == "other" and not note.strip():
            self.say(translate("tui.deletion.note_needed"))
            self.query_one("#deletion-note", Input).focus()
            return
        self.filing = True
        self.say(translate("tui.deletion.filing"))
        self.file(reason_text(code, note))

    @work(thread=True, exclusive=True, group="deletion-request")
    def file(self, reason: str) -> None:
        user = self.kiosk.user
        try:
            filed = file_deletion(self.kiosk.store, self.kiosk.cfg, self.record_id, reason,
                                  actor=user.name if user else "?")
        except Exception as exc:  # noqa: BLE001 - shown in words; the technician's details go to the log
            log.warning("deletion request for %s not filed: %r", self.record_id, exc)
            self.post_message(DeletionFiled(None, exc))
            return
        self.post_message(DeletionFiled(filed))

    def on_deletion_filed(self, msg: DeletionFiled) -> None:
        self.filing = False
        if msg.request is None:
            self.say(problem_words(msg.error) if msg.error is not None else "")
            return
        self.notify(translate(f"tui.deletion.filed_{msg.request.status}"))
        self.dismiss(msg.request)

    def action_cancel(self) -> None:
        self.dismiss(None)
