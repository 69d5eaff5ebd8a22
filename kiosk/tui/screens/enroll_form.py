"""Enrollment step 2: the resident's data. Closed lists are selects; required fields are marked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Select, Static

from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.identity import BLOOD_TYPES, CITIZENSHIP, MARITAL, RELIGIONS, SEXES, Identity
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.wizard import WizardStep

log = logging.getLogger(__name__)

#: (field, widget kind, closed list) in the order of the paper form
FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("full_name", "text", ()),
    ("birth_place", "text", ()),
    ("birth_date", "date", ()),
    ("sex", "select", SEXES),
    ("blood_type", "select", BLOOD_TYPES),
    ("address", "text", ()),
    ("rt", "text", ()),
    ("rw", "text", ()),
    ("village", "text", ()),
    ("religion", "select", RELIGIONS),
    ("marital_status", "select", MARITAL),
    ("occupation", "text", ()),
    ("citizenship", "select", CITIZENSHIP),
)
DATE_FORMAT = "%d-%m-%Y"


def option_label(field: str, value: str) -> str:
    return translate("tui.sex." + value) if field == "sex" else value


@dataclass
class IdentitySaved(Message):
    """The form's save is done: what to do next ("next", "leave", "stay"), or why it failed."""

    ident: Identity
    then: str
    error: BaseException | None = None


@dataclass
class IdentityRead(Message):
    """The record's identity, read (and decrypted) in a worker, or why it could not be."""

    record_id: str
    ident: Identity | None
    error: BaseException | None = None


class FormScreen(WizardStep):
    STEP = "form"
    #: a save runs in a worker (the next Ctrl+S / Esc waits for it)
    saving = False

    def __init__(self, record_id: str, identity: Identity | None = None) -> None:
        super().__init__(record_id)
        #: the record's identity as last read or saved; None while it is read (in a worker). The NIK
        #: step hands over the identity it has just written: nothing is read back on the event loop
        self.ident: Identity | None = identity

    def arrive(self, record_id: str, identity: Identity | None = None, **known: Any) -> None:
        """Shown again for ``record_id``: with the identity the caller holds, else the one this form
        last read or saved for the same record, else read again (in a worker)."""
        if identity is not None:
            self.ident = identity
        elif record_id != self.record_id:
            self.ident = None
        super().arrive(record_id, **known)

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        yield Static(id="form-region", classes="hint")
        yield Static(id="form-errors", classes="error")
        with VerticalScroll(id="form"):
            for name, kind, choices in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(id=f"label-{name}", classes="form-label")
                    if kind == "select":
                        yield Select([(option_label(name, c), c) for c in choices], id=name, allow_blank=False)
                    else:
                        yield Input(id=name, max_length=10 if kind == "date" else (3 if name in ("rt", "rw") else 80),
                                    restrict=r"[0-9-]*" if kind == "date" else (r"[0-9]*" if name in ("rt", "rw") else None))
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        self.load_record()
        super().on_mount()
        self.query_one("#full_name", Input).focus()

    def load_record(self) -> None:
        """Show the record's identity: the one at hand, or read (decrypted) in a worker, the fields
        closed meanwhile (a key typed into them would be overwritten). F2 and the checks use this
        copy, the store gets each save."""
        if self.ident is None:
            form = self.query_one("#form", VerticalScroll)
            for name, kind, _ in FIELDS:
                if kind != "select":
                    self.query_one(f"#{name}", Input).value = ""
            form.disabled = True
            self.read_identity(self.record_id)
            return
        self.query_one("#form", VerticalScroll).disabled = False  # a read before may have closed it
        self.fill_fields()

    @work(thread=True, exclusive=True, group="form-read")
    def read_identity(self, record_id: str) -> None:
        try:
            ident = self.kiosk.store.identity(record_id)
        except Exception as exc:  # shown in words; anything but a KioskError logged for the technician
            if not isinstance(exc, KioskError):
                log.exception("identity not readable")
            self.post_message(IdentityRead(record_id, None, exc.with_traceback(None)))
            return
        self.post_message(IdentityRead(record_id, ident))

    def on_identity_read(self, msg: IdentityRead) -> None:
        if msg.record_id != self.record_id or self.ident is not None:
            return  # aimed at another record meanwhile, or handed its identity
        if msg.ident is None:
            set_text(self.query_one("#form-errors", Static), problem_words(msg.error) if msg.error else "")
            return
        self.ident = msg.ident
        self.query_one("#form", VerticalScroll).disabled = False
        self.fill_fields()
        self.refresh_texts()
        self.query_one("#full_name", Input).focus()

    def fill_fields(self) -> None:
        ident = self.ident
        assert ident is not None
        for name, kind, _ in FIELDS:
            value: Any = getattr(ident, name)
            if kind == "select":
                self.query_one(f"#{name}", Select).value = value
            elif kind == "date":
                self.query_one(f"#{name}", Input).value = value.strftime(DATE_FORMAT)
            else:
                self.query_one(f"#{name}", Input).value = str(value)

    def on_arrival(self) -> None:
        """The kept form shown again (the next resident, or back from the face step)."""
        self.saving = False
        self.load_record()
        self.show_problems([])
        self.refresh_texts()
        self.query_one("#form", VerticalScroll).scroll_home(animate=False)
        self.query_one("#full_name", Input).focus()

    def refresh_texts(self) -> None:
        super().refresh_texts()
        ident = self.ident
        set_text(self.query_one("#form-region", Static), translate("tui.wizard.reading") if ident is None else translate(
            "tui.form.region", nik=ident.nik, village_hint=translate("tui.form.required_hint"),
            district=ident.district, regency=ident.regency, province=ident.province))
        # the labels' boxes are fixed by the stylesheet (wizard.tcss .form-label: the row's 3 lines, the
        # words fit in 2 at its width in every language: tests/tui/test_form_labels.py): new words
        # repaint the label only, the form is not laid out again (F2 on the form, tui_day)
        for name, kind, _ in FIELDS:
            mark = " *" if name in Identity.REQUIRED or kind == "date" else ""
            set_text(self.query_one(f"#label-{name}", Label), translate("tui.field." + name) + mark, layout=False)
        for name, kind, choices in FIELDS:
            if kind == "select" and name == "sex":
                sel = self.query_one(f"#{name}", Select)
                if not sel.is_mounted or not sel.query("SelectOverlay"):  # still being built
                    continue
                value = sel.value
                sel.set_options([(option_label(name, c), c) for c in choices])
                sel.value = value
                # the shown label is only redrawn when the value changes: redraw it in the new words
                shown = next((w for w in sel.query("SelectCurrent")), None)
                if shown is not None and value in choices:
                    shown.update(option_label(name, str(value)))

    def collect(self) -> tuple[Identity, list[tuple[str, str, dict[str, Any]]]]:
        """The identity as entered, and every problem with it (field, code, params)."""
        ident = self.ident
        assert ident is not None  # the save keys wait for the identity (action_next, action_leave)
        values: dict[str, Any] = {}
        problems: list[tuple[str, str, dict[str, Any]]] = []
        for name, kind, _ in FIELDS:
            if kind == "select":
                values[name] = self.query_one(f"#{name}", Select).value
            elif kind == "date":
                raw = self.query_one(f"#{name}", Input).value.strip()
                try:
                    values[name] = dt.datetime.strptime(raw, DATE_FORMAT).date()
                except ValueError:
                    problems.append((name, "tui.form.bad_date", {"value": raw}))
            else:
                values[name] = self.query_one(f"#{name}", Input).value.strip().upper()
        ident = dataclasses.replace(ident, **values)
        if "birth_date" in values and values["birth_date"] > self.kiosk.today():
            problems.append(("birth_date", "identity.future_date", {}))
        problems += [p for p in ident.problems() if p[1] != "identity.future_date"]
        return ident, problems

    def show_problems(self, problems: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Mark the fields with problems and say what is wrong (at most three lines)."""
        for name, _, _ in FIELDS:
            self.query_one(f"#{name}").remove_class("invalid")
        if not problems:
            set_text(self.query_one("#form-errors", Static), "")
            return
        lines = []
        for field, code, params in problems:
            params = {**params, "field": translate("tui.field." + field)}
            lines.append(translate(code, **params))
            if field != "nik":
                self.query_one(f"#{field}").add_class("invalid")
        self.query_one("#form-errors", Static).update("\n".join(lines[:3]) + (" ..." if len(lines) > 3 else ""))
        first = problems[0][0]
        if first != "nik":
            self.query_one(f"#{first}").focus()

    def action_next(self) -> None:
        """Save what was typed (even when something is still wrong: a crash must not lose it), then
        move on when nothing is wrong."""
        if self.saving or self.ident is None:  # nothing read yet: nothing typed to save
            return
        ident, problems = self.collect()
        self.show_problems(problems)
        self.save(ident, "stay" if problems else "next")

    def action_leave(self) -> None:
        if self.saving:
            return
        if self.ident is None:  # still reading: nothing was typed, nothing to save
            super().action_leave()
            return
        ident, _ = self.collect()
        self.save(ident, "leave")

    def action_back(self) -> None:
        self.action_leave()

    def save(self, ident: Identity, then: str) -> None:
        self.saving = True
        self.save_identity(ident, then, self.actor)

    @work(thread=True, group="form-save")  # never cancelled by another worker: what was typed is not lost
    def save_identity(self, ident: Identity, then: str, actor: str) -> None:
        try:
            self.kiosk.store.update_identity(self.record_id, ident, actor=actor)
        except Exception as exc:  # shown in words; anything but a KioskError logged for the technician
            if not isinstance(exc, KioskError):
                log.exception("identity save failed")
            self.post_message(IdentitySaved(ident, then, exc))
            return
        self.post_message(IdentitySaved(ident, then))

    def on_identity_saved(self, msg: IdentitySaved) -> None:
        self.saving = False
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
            return
        self.ident = msg.ident
        if msg.then == "next":
            self.go(self.next_step())
        elif msg.then == "leave":
            super().action_leave()
