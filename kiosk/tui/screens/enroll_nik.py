"""Enrollment step 1: the NIK, validated as typed, checked against this station's records."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Header, Input, Label, Static

from kiosk.i18n import describe, translate
from kiosk.identity import Identity
from kiosk.nik import NikError, ParsedNik, parse_nik
from kiosk.store import DuplicateNik
from kiosk.tui.base import KioskScreen
from kiosk.tui.wizard import station_steps, step_screen


class NikScreen(KioskScreen):
    KEYS = [("ctrl+s", "next", "tui.key.next"), ("escape", "back", "tui.key.back")]

    def __init__(self) -> None:
        super().__init__()
        self.parsed: ParsedNik | None = None
        self.problem: str = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="steps", classes="steps")
        with Vertical(id="nik-box"):
            yield Label(id="nik-label")
            yield Input(id="nik", max_length=16, restrict=r"[0-9]*")
            yield Static(id="nik-status")
            yield Static(id="nik-region")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#nik", Input).focus()

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
        """Validate as typed: digit count, then every NIK rule, then this station's records."""
        status = self.query_one("#nik-status", Static)
        region = self.query_one("#nik-region", Static)
        self.parsed = None
        region.update("")
        status.set_classes("")
        if len(value) < 16:
            status.update(translate("tui.nik.typing", count=len(value)))
            return
        try:
            parsed = parse_nik(value, today=self.kiosk.today())
        except NikError as exc:
            status.update(describe(exc))
            status.set_classes("error")
            return
        region.update(translate("tui.nik.region", province=parsed.province, regency=parsed.regency,
                                district=parsed.district, born=parsed.birth_date.strftime("%d-%m-%Y"),
                                sex=translate("tui.sex." + parsed.sex)))
        holder = self.kiosk.store.holder_of(parsed.nik)
        if holder is not None:
            status.update(describe(DuplicateNik(record_id=holder.id[:8], state=translate("state." + holder.state.value))))
            status.set_classes("error")
            return
        status.update(translate("tui.nik.valid"))
        status.set_classes("ok")
        self.parsed = parsed

    def action_next(self) -> None:
        parsed = self.parsed
        if parsed is None:
            self.query_one("#nik-status", Static).set_classes("error")
            return
        ident = Identity(nik=parsed.nik, full_name="", birth_place="", birth_date=parsed.birth_date,
                         sex=parsed.sex, province=parsed.province, regency=parsed.regency, district=parsed.district)
        user = self.kiosk.user
        try:
            rec = self.kiosk.store.create_draft(ident, actor=user.name if user else "?")
        except DuplicateNik as exc:  # another terminal took it between the check and now
            self.query_one("#nik-status", Static).update(describe(exc))
            return
        self.app.switch_screen(step_screen("form", rec.id))

    def action_back(self) -> None:
        self.app.pop_screen()
