"""Enrollment step 6: review everything, get supervisor approval where needed, submit to the queue."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.enroll.irises import EYE_WORDS
from kiosk.errors import KioskError
from kiosk.i18n import describe, translate
from kiosk.store import RecordState
from kiosk.tui.pictures import decode_image, picture_widget
from kiosk.tui.screens.enroll_form import FIELDS, option_label
from kiosk.tui.wizard import WizardStep


def missing_words(code: str) -> str:
    """``finger:3`` / ``supervisor:3`` / ``iris:1`` / ``iris_supervisor:1`` / ``face`` / ``signature`` in words."""
    kind, _, pos = code.partition(":")
    if kind == "finger":
        return translate("tui.review.missing_finger", finger=translate("tui.finger." + pos))
    if kind == "supervisor":
        return translate("tui.review.missing_approval", finger=translate("tui.finger." + pos))
    if kind in ("iris", "iris_supervisor"):
        eye = translate("iris." + EYE_WORDS.get(int(pos), pos))
        return translate("tui.review.missing_iris" if kind == "iris" else "tui.review.missing_iris_approval", eye=eye)
    return translate({"face": "tui.review.missing_face", "signature": "tui.review.missing_signature"}.get(kind, kind))


def override_reason(store: Any, record_id: str) -> str:
    """The reason given for the latest manual face capture (kept in the audit trail)."""
    reasons = [e.reason for e in store.audit(record_id) if e.action == "face_override"]
    return reasons[-1] if reasons else "other"


class ReviewScreen(WizardStep):
    STEP = "review"
    KEYS = [
        ("ctrl+s", "submit", "tui.key.submit"),
        ("escape", "back", "tui.key.back"),
        ("f4", "leave", "tui.key.leave"),
        ("s", "approve", "tui.key.approve"),
        ("ctrl+t", "submit_receipt", "tui.key.submit_receipt"),
    ]

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield from self.compose_steps()
        # completeness stays in view at 80x24 whatever the length of the record below
        yield Static(id="review-status", classes="banner")
        with Horizontal(classes="capture"):
            with VerticalScroll(id="review-text"):
                yield Static(id="review")
            yield picture_widget(id="review-face", classes="kept")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        store = self.kiosk.store
        if any(s.kind == "face" for s in store.samples(self.record_id)):
            self.query_one("#review-face").image = decode_image(store.sample_data(self.record_id, "face"))
        self.query_one("#review-text").focus()

    #: what the record still lacks, as last read by refresh_texts (None before): the footer's keys are
    #: checked on every binding refresh, which read the store each time on the event loop (tui_day)
    missing: list[str] | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        missing = self.missing if self.missing is not None else self.kiosk.store.missing(self.record_id)
        if action == "approve":
            return any(m.startswith(("supervisor:", "iris_supervisor:")) for m in missing)
        if action == "submit_receipt":  # only a complete record can be queued (and the 80x24 footer
            return not missing  # never holds it beside "approve")
        return True

    def refresh_texts(self) -> None:
        super().refresh_texts()
        store = self.kiosk.store
        ident = store.identity(self.record_id)
        lines = [f"[b]{translate('tui.review.identity')}[/b]", f"{translate('tui.field.nik')}: {ident.nik}"]
        for name, _, _ in FIELDS:
            value = getattr(ident, name)
            shown = value.strftime("%d-%m-%Y") if name == "birth_date" else option_label(name, str(value))
            lines.append(f"{translate('tui.field.' + name)}: {shown}")
        lines.append(f"{translate('tui.review.region')}: {ident.district}, {ident.regency}, {ident.province}")
        lines.append(f"[b]{translate('tui.review.samples')}[/b]")
        for s in store.samples(self.record_id):
            if s.kind == "face":
                how = translate("tui.review.face_manual", reason=translate("tui.face.reason." + override_reason(
                    store, self.record_id))) if (s.metadata.get("report") or {}).get("manual") \
                    else translate("tui.review.face_auto")
                lines.append(f"{translate('tui.review.face')}: {how}")
            elif s.kind == "finger":
                score = translate("tui.fingers.nfiq2", score="-" if s.quality is None else f"{s.quality:.0f}")
                lines.append(f"{translate('tui.finger.' + str(s.position))}: {score}")
            elif s.kind == "iris":
                score = "-" if s.quality is None else f"{s.quality:.0f}"
                lines.append(translate("iris.review_right" if s.position == 1 else "iris.review_left", score=score))
            elif s.kind == "signature":
                lines.append(f"{translate('tui.review.signature')}: {translate('tui.review.present')}")
        for e in store.exceptions(self.record_id):
            who = translate("tui.review.approved_by", name=e.approved_by) if e.approved_by else ""
            lines.append(f"{translate('tui.finger.' + str(e.position))}: "
                         f"{translate('tui.fingers.reason.' + e.reason)} {who}")
        for eye in store.iris_exceptions(self.record_id):
            who = translate("tui.review.approved_by", name=eye.approved_by) if eye.approved_by else ""
            lines.append(translate("iris.review_exception", eye=translate("iris." + EYE_WORDS[eye.eye]),
                                   reason=translate("iris.reason." + eye.reason), who=who).rstrip())
        self.missing = missing = store.missing(self.record_id)
        if missing:
            status = f"[b red]{translate('tui.review.missing')}[/b red] [red]" \
                     + ", ".join(missing_words(m) for m in missing) + "[/red]"
        else:
            status = f"[green]{translate('tui.review.complete')}[/green]"
        self.query_one("#review-status", Static).update(status)
        self.query_one("#review", Static).update("\n".join(lines))

    def action_approve(self) -> None:
        from kiosk.tui.modals import SupervisorModal

        def done(supervisor: str | None) -> None:
            if not supervisor:
                return
            store = self.kiosk.store
            for e in store.exceptions(self.record_id):
                if e.reason in self.kiosk.cfg.policy.supervisor_exceptions and not e.approved_by:
                    store.add_exception(self.record_id, e.position, e.reason, actor=self.actor, approved_by=supervisor)
            for eye in store.iris_exceptions(self.record_id):
                if eye.reason in self.kiosk.cfg.policy.supervisor_iris_exceptions and not eye.approved_by:
                    store.add_iris_exception(self.record_id, eye.eye, eye.reason, actor=self.actor,
                                             approved_by=supervisor)
            self.refresh_texts()
            self.refresh_bindings()

        self.app.push_screen(SupervisorModal(), done)

    def action_submit(self) -> bool:
        """Queue the record and leave the step; False (and the reason shown) when refused."""
        store = self.kiosk.store
        try:
            if store.get(self.record_id).state is RecordState.DRAFT:
                store.transition(self.record_id, RecordState.CAPTURED, actor=self.actor)
            store.transition(self.record_id, RecordState.QUEUED, actor=self.actor)
        except KioskError as exc:
            self.notify(describe(exc), severity="error")
            self.refresh_texts()
            return False
        ident = store.identity(self.record_id)
        self.notify(translate("tui.review.queued", name=ident.full_name, nik=ident.nik))
        app = self.kiosk
        if app.sync is not None:  # its packet is sealed now, in the sync worker's sealer thread
            app.sync.record_queued(self.record_id)
        app.pop_screen()
        app.call_after_refresh(app.release_memory)  # the resident's screens are gone by then
        return True

    def action_submit_receipt(self) -> None:
        """Queue the record, then print the resident's receipt (issue 14 §4) in a worker."""
        from kiosk.tui.screens.receipt_print import print_receipt_now

        record_id, app = self.record_id, self.app
        if self.action_submit():
            print_receipt_now(app, record_id)
