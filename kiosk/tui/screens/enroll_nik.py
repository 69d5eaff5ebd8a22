"""Enrollment step 1: the NIK, validated as typed, checked against this station's records, asked
at the central (issue 14 §2: recorded elsewhere? where and when) and against the station's district.

The central is asked in a worker once the NIK is valid; typing goes on meanwhile, an answer for a
NIK no longer in the field is dropped, and no answer (offline, timeout, refused) is said plainly and
never stops the operator: the central decides later. When the resident is recorded elsewhere the
operator may file the deletion of the earlier record (F6, kiosk.tui.screens.deletion_request).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.dedup.nik_lookup import LookupState, NikLookup
from kiosk.errors import KioskError
from kiosk.i18n import current_language, describe, translate
from kiosk.identity import Identity
from kiosk.nik import NikError, ParsedNik, parse_nik
from kiosk.store import DuplicateNik, Record
from kiosk.tui import dedup_services
from kiosk.tui.base import KioskScreen
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.wizard import open_step, station_steps

log = logging.getLogger(__name__)

#: the central's answer in words, per state (the recorded case names where and when)
LOOKUP_WORDS = {LookupState.NOT_RECORDED: "tui.nikcheck.not_recorded", LookupState.OFFLINE: "tui.nikcheck.offline",
                LookupState.UNTRUSTED: "tui.nikcheck.untrusted", LookupState.REFUSED: "tui.nikcheck.refused"}


@dataclass
class NikHolder(Message):
    """This station's record holding a NIK (None: none), or why the store could not say."""

    nik: str
    holder: Record | None
    error: BaseException | None = None


@dataclass
class NikLookupAnswer(Message):
    """The central's answer about one NIK (posted by the lookup worker)."""

    nik: str
    lookup: NikLookup


@dataclass
class DraftCreated(Message):
    """The draft worker's answer: the record started for ``identity`` (``record_id``), or why not
    (``error``, without its traceback: it would keep the worker's frames). ``then``: "form" (Enter)
    or "delete_request" (F6)."""

    then: str
    identity: Identity
    record_id: str | None
    error: BaseException | None = None
    earlier: str = ""


class NikScreen(KioskScreen):
    KEYS = [("ctrl+s", "next", "tui.key.next"), ("escape", "back", "tui.key.back"),
            ("f6", "delete_request", "tui.key.delete_earlier")]
    DEFAULT_CSS = """
    NikScreen .warning { color: $warning; height: auto; }
    NikScreen #nik-central { padding: 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.parsed: ParsedNik | None = None
        self.problem: str = ""
        #: the NIK the central is asked about (None while no valid NIK is in the field)
        self.asked: str | None = None
        #: the central's answer about ``asked`` (None while waiting)
        self.lookup: NikLookup | None = None
        #: the draft is being written (in a worker): a second Enter or F6 is ignored meanwhile
        self.creating = False
        #: this station's answer for a NIK: (NIK, the record holding it or None), read in a worker
        self.held: tuple[str, Record | None] | None = None

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="steps", classes="steps")
        with Vertical(id="nik-box"):
            yield Label(id="nik-label")
            yield Input(id="nik", max_length=16, restrict=r"[0-9]*")
            yield Static(id="nik-status")
            yield Static(id="nik-region")
            yield Static(id="nik-district", classes="warning")
            yield Static(id="nik-central")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#nik", Input).focus()

    #: shown again from the app's kept instance (kiosk.tui.kept): it starts empty on resume
    _arriving = False

    def arrive(self) -> None:
        """The kept screen is about to be shown for the next resident."""
        self._arriving = True

    def on_screen_resume(self) -> None:
        """The next resident: the last NIK, its region, its checks and the central's answer go."""
        if not self._arriving or not self.is_mounted:
            return
        self._arriving = False
        self.forget_resident()
        self.translate_keys()  # F2 may have been pressed while the screen was kept aside
        self.refresh_texts()
        self.query_one("#nik", Input).focus()
        self.refresh_bindings()

    def forget_resident(self) -> None:
        """The NIK, its region, its checks and the central's answer go: when the next resident
        arrives, and as soon as this one's draft exists (the kept screen, hidden for the rest of
        the session, held them until the next opening)."""
        self.parsed, self.problem, self.asked, self.lookup, self.held = None, "", None, None, None
        if self.is_mounted:
            self.query_one("#nik", Input).value = ""

    def hand_over(self, record_id: str, identity: Identity) -> None:
        """The draft exists: the form takes the resident on (with the identity just written: it
        need not read it back), this screen forgets them."""
        self.app.switch_screen(open_step(self.kiosk, "form", record_id, identity=identity))
        self.forget_resident()

    def refresh_texts(self) -> None:
        names = [translate("tui.step." + s) for s in ("nik", *station_steps(self.kiosk))]
        names[0] = f"[reverse] {names[0]} [/reverse]"
        self.query_one("#steps", Static).update(" > ".join(names))
        self.query_one("#nik-label", Label).update(translate("tui.nik.label"))
        self.check(self.query_one("#nik", Input).value)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.check(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_next()

    def check(self, value: str) -> None:
        """Validate as typed: digit count, then every NIK rule, then this station's records (in a
        worker, remembered for the NIK: F2 does not read them again)."""
        status = self.query_one("#nik-status", Static)
        if self.creating:  # the draft is being written for the NIK of the Enter: its answer decides
            status.update(translate("tui.nik.creating"))
            return
        region = self.query_one("#nik-region", Static)
        self.parsed = None
        region.update("")
        status.set_classes("")
        self.query_one("#nik-district", Static).update("")
        if len(value) < 16:
            status.update(translate("tui.nik.typing", count=len(value)))
            self.forget_lookup()
            return
        try:
            parsed = parse_nik(value, today=self.kiosk.today())
        except NikError as exc:
            status.update(describe(exc))
            status.set_classes("error")
            self.forget_lookup()
            return
        region.update(translate("tui.nik.region", province=parsed.province, regency=parsed.regency,
                                district=parsed.district, born=parsed.birth_date.strftime("%d-%m-%Y"),
                                sex=translate("tui.sex." + parsed.sex)))
        # Enter may go on before this station's records answer: the draft's transaction checks them again
        self.parsed = parsed
        if self.held is None or self.held[0] != parsed.nik:
            status.update(translate("tui.nik.checking"))
            status.set_classes("hint")
            self.forget_lookup()
            self.check_holder(parsed.nik)
            return
        self.show_holder(parsed, self.held[1])

    # -- this station's records ---------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="nik-holder")
    def check_holder(self, nik: str) -> None:
        """Does this station hold the NIK already (a read of the store: off the event loop)."""
        try:
            self.post_message(NikHolder(nik, self.kiosk.store.holder_of(nik)))
        except Exception as exc:  # said in words; Enter still works (the draft's own check decides)
            if not isinstance(exc, KioskError):
                log.exception("NIK holder not readable")
            self.post_message(NikHolder(nik, None, exc.with_traceback(None)))

    def on_nik_holder(self, msg: NikHolder) -> None:
        if msg.error is None:
            self.held = (msg.nik, msg.holder)
        parsed = self.parsed
        if parsed is None or parsed.nik != msg.nik or self.creating:
            return  # typed on meanwhile, or Enter pressed: the draft's answer decides
        if msg.error is not None:
            status = self.query_one("#nik-status", Static)
            status.update(problem_words(msg.error))
            status.set_classes("error")
            return
        self.show_holder(parsed, msg.holder)

    def show_holder(self, parsed: ParsedNik, holder: Record | None) -> None:
        """The NIK is valid: held here already (refused), else accepted and asked at the central."""
        status = self.query_one("#nik-status", Static)
        if holder is not None:
            status.update(describe(DuplicateNik(record_id=holder.id[:8], state=translate("state." + holder.state.value))))
            status.set_classes("error")
            self.parsed = None
            self.forget_lookup()
            return
        status.update(translate("tui.nik.valid"))
        status.set_classes("ok")
        warning = dedup_services.district_warning(parsed.nik, self.kiosk.cfg.station.region)
        if warning is not None:
            self.query_one("#nik-district", Static).update(translate(warning[0], **warning[1]))
        if self.asked != parsed.nik:
            self.asked, self.lookup = parsed.nik, None
            self.ask_central(parsed.nik)
            self.refresh_bindings()
        self.show_lookup()

    # -- the central's answer -------------------------------------------------------------------
    def forget_lookup(self) -> None:
        """No valid NIK in the field: an answer still on its way is for an old NIK."""
        if self.asked is not None:
            self.asked, self.lookup = None, None
            self.refresh_bindings()
        self.show_lookup()

    @work(thread=True, exclusive=True, group="nik-lookup")
    def ask_central(self, nik: str) -> None:
        # bounded by the central client's timeout ([central] timeout_s); the UI never waits on it
        self.post_message(NikLookupAnswer(nik, dedup_services.ask_central_about_nik(self.kiosk.sync, nik)))

    def on_nik_lookup_answer(self, msg: NikLookupAnswer) -> None:
        if msg.nik != self.asked:
            return  # typed on meanwhile: the answer is for a NIK no longer in the field
        self.lookup = msg.lookup
        self.show_lookup()
        self.refresh_bindings()

    def lookup_words(self) -> tuple[str, str]:
        """The central's answer in words and its style class."""
        if self.asked is None:
            return "", ""
        lookup = self.lookup
        if lookup is None:
            return translate("tui.nikcheck.asking"), "hint"
        if lookup.state is LookupState.RECORDED:
            lines = [translate("tui.nikcheck.recorded",
                               **dedup_services.earlier_words(lookup.records[-1], current_language()))]
            if len(lookup.records) > 1:
                lines.append(translate("tui.nikcheck.more", count=len(lookup.records) - 1))
            lines.append(translate("tui.nikcheck.delete_hint"))
            return "\n".join(lines), "warning"
        return translate(LOOKUP_WORDS[lookup.state]), "ok" if lookup.state is LookupState.NOT_RECORDED else "hint"

    def show_lookup(self) -> None:
        text, style = self.lookup_words()
        line = self.query_one("#nik-central", Static)
        line.update(text)
        line.set_classes(style)

    def recorded_elsewhere(self) -> bool:
        return self.parsed is not None and self.lookup is not None and self.lookup.state is LookupState.RECORDED

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "delete_request":
            return self.recorded_elsewhere()
        return True

    # -- moving on --------------------------------------------------------------------------------
    def start_draft(self, then: str, earlier: str = "") -> None:
        """Write the draft in a worker (a write transaction with its audit row: tens of ms on a busy
        disk, the slowest key of tui_day on the event loop); the screen says it is working."""
        if self.creating:
            return
        parsed = self.parsed
        status = self.query_one("#nik-status", Static)
        if parsed is None:
            status.set_classes("error")
            return
        ident = Identity(nik=parsed.nik, full_name="", birth_place="", birth_date=parsed.birth_date,
                         sex=parsed.sex, province=parsed.province, regency=parsed.regency, district=parsed.district)
        self.creating = True
        status.update(translate("tui.nik.creating"))
        status.set_classes("hint")
        user = self.kiosk.user
        self.create_draft(ident, user.name if user else "?", then, earlier)

    @work(thread=True, group="nik-draft")  # never cancelled by another worker: the draft is written or refused
    def create_draft(self, ident: Identity, actor: str, then: str, earlier: str) -> None:
        try:
            rec = self.kiosk.store.create_draft(ident, actor=actor)
        except Exception as exc:  # DuplicateNik: another terminal took it between the check and now
            if not isinstance(exc, KioskError):
                log.exception("draft not created")
            self.post_message(DraftCreated(then, ident, None, exc.with_traceback(None), earlier))
            return
        self.post_message(DraftCreated(then, ident, rec.id, None, earlier))

    def on_draft_created(self, msg: DraftCreated) -> None:
        self.creating = False
        self.held = None  # the NIK is held now (or was taken meanwhile): read again if asked again
        if msg.error is not None:
            status = self.query_one("#nik-status", Static)
            status.update(problem_words(msg.error))
            status.set_classes("error")
            return
        assert msg.record_id is not None
        if self.app.screen is not self:  # left meanwhile (Esc): the draft is offered for resumption
            self.forget_resident()
            return
        if msg.then == "delete_request":
            from kiosk.tui.screens.deletion_request import DeletionRequestModal

            record_id, ident = msg.record_id, msg.identity
            self.app.push_screen(DeletionRequestModal(record_id, earlier=msg.earlier),
                                 lambda _: self.hand_over(record_id, ident))
            return
        self.hand_over(msg.record_id, msg.identity)

    def action_next(self) -> None:
        self.start_draft("form")

    def action_delete_request(self) -> None:
        """The resident was recorded elsewhere: start this recording (the draft the request is
        about) and file the deletion of the earlier record; the form follows whatever the answer
        (the request waits until the central calls this record a duplicate)."""
        if not self.recorded_elsewhere():
            return
        self.start_draft("delete_request", self.lookup_words()[0].split("\n")[0])

    def action_back(self) -> None:
        self.app.pop_screen()
