"""Enrollment step 6: review everything, get supervisor approval where needed, submit to the queue.

What the review shows is read from the store (the identity decrypted, the face decoded) in a worker
when the step opens and after each change; the queueing and the supervisor's approvals are written
in workers too (issue 11 §3: the event loop only shows what they answer). F2 re-words what was read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from PIL import Image as PILImage
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from kiosk.enroll.irises import EYE_WORDS
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.identity import Identity
from kiosk.store import RecordState
from kiosk.tui.base import set_text
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.pictures import decode_image, picture_widget
from kiosk.tui.screens.device_help import problem_words
from kiosk.tui.screens.enroll_form import FIELDS, option_label
from kiosk.tui.wizard import WizardStep

log = logging.getLogger(__name__)


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


@dataclass
class ReviewData:
    """What the review shows of a record, as read from the store (the words are made from it on the
    event loop, in the language of the moment)."""

    ident: Identity
    #: (kind, position, quality, captured by hand) of each sample, in the store's order
    samples: list[tuple[str, int, float | None, bool]]
    #: the reason of the latest manual face capture
    face_reason: str
    #: (position, reason, approved by) of each finger exception
    exceptions: list[tuple[int, str, str | None]]
    #: (eye, reason, approved by) of each eye exception
    iris_exceptions: list[tuple[int, str, str | None]]
    #: what the capture policy still requires (codes like ``finger:3``)
    missing: list[str]
    face: PILImage.Image | None = field(default=None, repr=False)


def read_review(store: Any, record_id: str) -> ReviewData:
    """Everything the review shows, read (and decrypted, decoded) at once: in a worker."""
    samples = store.samples(record_id)
    face = decode_image(store.sample_data(record_id, "face")) if any(s.kind == "face" for s in samples) else None
    manual = any(s.kind == "face" and (s.metadata.get("report") or {}).get("manual") for s in samples)
    return ReviewData(
        ident=store.identity(record_id),
        samples=[(s.kind, s.position, s.quality, bool((s.metadata.get("report") or {}).get("manual")))
                 for s in samples],
        face_reason=override_reason(store, record_id) if manual else "other",
        exceptions=[(e.position, e.reason, e.approved_by) for e in store.exceptions(record_id)],
        iris_exceptions=[(e.eye, e.reason, e.approved_by) for e in store.iris_exceptions(record_id)],
        missing=store.missing(record_id),
        face=face)


def review_lines(data: ReviewData) -> list[str]:
    """The record in words (current language)."""
    ident = data.ident
    lines = [f"[b]{translate('tui.review.identity')}[/b]", f"{translate('tui.field.nik')}: {ident.nik}"]
    for name, _, _ in FIELDS:
        value = getattr(ident, name)
        shown = value.strftime("%d-%m-%Y") if name == "birth_date" else option_label(name, str(value))
        lines.append(f"{translate('tui.field.' + name)}: {shown}")
    lines.append(f"{translate('tui.review.region')}: {ident.district}, {ident.regency}, {ident.province}")
    lines.append(f"[b]{translate('tui.review.samples')}[/b]")
    for kind, position, quality, manual in data.samples:
        if kind == "face":
            how = translate("tui.review.face_manual", reason=translate("tui.face.reason." + data.face_reason)) \
                if manual else translate("tui.review.face_auto")
            lines.append(f"{translate('tui.review.face')}: {how}")
        elif kind == "finger":
            score = translate("tui.fingers.nfiq2", score="-" if quality is None else f"{quality:.0f}")
            lines.append(f"{translate('tui.finger.' + str(position))}: {score}")
        elif kind == "iris":
            score = "-" if quality is None else f"{quality:.0f}"
            lines.append(translate("iris.review_right" if position == 1 else "iris.review_left", score=score))
        elif kind == "signature":
            lines.append(f"{translate('tui.review.signature')}: {translate('tui.review.present')}")
    for position, reason, approved_by in data.exceptions:
        who = translate("tui.review.approved_by", name=approved_by) if approved_by else ""
        lines.append(f"{translate('tui.finger.' + str(position))}: {translate('tui.fingers.reason.' + reason)} {who}")
    for eye, reason, approved_by in data.iris_exceptions:
        who = translate("tui.review.approved_by", name=approved_by) if approved_by else ""
        lines.append(translate("iris.review_exception", eye=translate("iris." + EYE_WORDS[eye]),
                               reason=translate("iris.reason." + reason), who=who).rstrip())
    return lines


@dataclass
class ReviewRead(Message):
    """The record as read by the worker, or why it could not be read (no traceback kept)."""

    record_id: str
    data: ReviewData | None
    error: BaseException | None = None


@dataclass
class RecordQueued(Message):
    """The queueing worker's answer: the resident's (name, NIK) once queued, or why it was refused."""

    who: tuple[str, str] | None
    receipt: bool
    error: BaseException | None = None


@dataclass
class ExceptionsApproved(Message):
    """The supervisor's approvals are written (or why not)."""

    error: BaseException | None = None


class ReviewScreen(WizardStep):
    STEP = "review"
    KEYS = [
        ("ctrl+s", "submit", "tui.key.submit"),
        ("escape", "back", "tui.key.back"),
        ("f4", "leave", "tui.key.leave"),
        ("s", "approve", "tui.key.approve"),
        ("ctrl+t", "submit_receipt", "tui.key.submit_receipt"),
    ]

    #: the record as last read (None until the first read answers)
    data: ReviewData | None = None
    #: the record is being queued (in a worker): the keys that would leave or queue again wait
    submitting = False

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
        self.read_record()
        self.query_one("#review-text").focus()

    @property
    def missing(self) -> list[str] | None:
        """What the record still lacks, as last read (None before the first read)."""
        return None if self.data is None else self.data.missing

    # -- workers: the store -------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="review-read")
    def read_record(self) -> None:
        try:
            data = read_review(self.kiosk.store, self.record_id)
        except Exception as exc:  # shown in words; anything but a KioskError logged for the technician
            if not isinstance(exc, KioskError):
                log.exception("record not readable for review")
            self.post_message(ReviewRead(self.record_id, None, exc.with_traceback(None)))
            return
        self.post_message(ReviewRead(self.record_id, data))

    def on_review_read(self, msg: ReviewRead) -> None:
        if msg.record_id != self.record_id:
            return
        if msg.data is None:
            set_text(self.query_one("#review-status", Static), f"[red]{problem_words(msg.error)}[/red]"
                     if msg.error else "")
            return
        if self.data is None:  # the face does not change during the review: drawn once
            self.query_one("#review-face").image = msg.data.face
        self.data = msg.data
        self.refresh_texts()
        self.refresh_bindings()

    # -- what is shown ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        missing = self.missing
        if action == "approve":
            return missing is not None and any(m.startswith(("supervisor:", "iris_supervisor:")) for m in missing)
        if action == "submit_receipt":  # only a complete record can be queued (and the 80x24 footer
            return not missing  # never holds it beside "approve"); before the read the store decides
        return True

    def status_words(self) -> str:
        """The banner: being queued, being read, what is missing, or complete."""
        data = self.data
        if self.submitting:
            return translate("tui.review.submitting")
        if data is None:
            return translate("tui.wizard.reading")
        if data.missing:
            return f"[b red]{translate('tui.review.missing')}[/b red] [red]" \
                + ", ".join(missing_words(m) for m in data.missing) + "[/red]"
        return f"[green]{translate('tui.review.complete')}[/green]"

    def refresh_texts(self) -> None:
        super().refresh_texts()
        set_text(self.query_one("#review-status", Static), self.status_words())
        if self.data is not None:
            set_text(self.query_one("#review", Static), "\n".join(review_lines(self.data)))

    # -- keys ---------------------------------------------------------------------------------------
    def action_approve(self) -> None:
        from kiosk.tui.modals import SupervisorModal

        def done(supervisor: str | None) -> None:
            if supervisor:
                self.approve_exceptions(supervisor, self.actor)

        self.app.push_screen(SupervisorModal(), done)

    @work(thread=True, group="review-approve")  # never cancelled: an approval is written or refused
    def approve_exceptions(self, supervisor: str, actor: str) -> None:
        store, policy = self.kiosk.store, self.kiosk.cfg.policy
        try:
            for e in store.exceptions(self.record_id):
                if e.reason in policy.supervisor_exceptions and not e.approved_by:
                    store.add_exception(self.record_id, e.position, e.reason, actor=actor, approved_by=supervisor)
            for eye in store.iris_exceptions(self.record_id):
                if eye.reason in policy.supervisor_iris_exceptions and not eye.approved_by:
                    store.add_iris_exception(self.record_id, eye.eye, eye.reason, actor=actor, approved_by=supervisor)
        except Exception as exc:
            if not isinstance(exc, KioskError):
                log.exception("approval not written")
            self.post_message(ExceptionsApproved(exc.with_traceback(None)))
            return
        self.post_message(ExceptionsApproved())

    def on_exceptions_approved(self, msg: ExceptionsApproved) -> None:
        if msg.error is not None:
            self.notify(problem_words(msg.error), severity="error")
        self.read_record()

    def action_submit(self) -> None:
        """Queue the record in a worker; the screen says so meanwhile, and leaves once it is queued."""
        self.start_submit(receipt=False)

    def action_submit_receipt(self) -> None:
        """Queue the record, then print the resident's receipt (issue 14 §4) in a worker."""
        self.start_submit(receipt=True)

    def start_submit(self, *, receipt: bool) -> None:
        if self.submitting:
            return
        self.submitting = True
        set_text(self.query_one("#review-status", Static), self.status_words())
        self.queue_record(self.actor, receipt)

    @work(thread=True, group="review-submit")  # never cancelled: the transition is written or refused
    def queue_record(self, actor: str, receipt: bool) -> None:
        store = self.kiosk.store
        try:
            if store.get(self.record_id).state is RecordState.DRAFT:
                store.transition(self.record_id, RecordState.CAPTURED, actor=actor)
            store.transition(self.record_id, RecordState.QUEUED, actor=actor)
            sync = self.kiosk.sync
            if sync is not None:  # its packet is sealed now, in the sync worker's sealer thread
                sync.record_queued(self.record_id)
            ident = store.identity(self.record_id)
        except Exception as exc:  # refused (incomplete...) in words; the unexpected logged
            if not isinstance(exc, KioskError):
                log.exception("record not queued")
            self.post_message(RecordQueued(None, receipt, exc.with_traceback(None)))
            return
        self.post_message(RecordQueued((ident.full_name, ident.nik), receipt))

    def on_record_queued(self, msg: RecordQueued) -> None:
        self.submitting = False
        if msg.who is None:
            self.notify(problem_words(msg.error) if msg.error else "", severity="error")
            self.refresh_texts()
            self.read_record()
            return
        name, nik = msg.who
        self.notify(translate("tui.review.queued", name=name, nik=nik))
        app, record_id = self.kiosk, self.record_id
        if app.screen is self:
            app.pop_screen()
            app.call_after_refresh(app.release_memory)  # the resident's screens are gone by then
        if msg.receipt:
            from kiosk.tui.screens.receipt_print import print_receipt_now

            print_receipt_now(app, record_id)

    def action_back(self) -> None:
        if not self.submitting:  # queued meanwhile or not: the answer decides where the operator goes
            super().action_back()

    def action_leave(self) -> None:
        if not self.submitting:
            super().action_leave()
