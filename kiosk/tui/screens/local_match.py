"""The supervisor's look at a record held by the station's own fingerprint check (issue 14 §2).

Opened from the queue screen (Ctrl+L on a ``held`` record). Both records side by side: photo
(a small half-block thumbnail), name, masked NIK, date and state; under them the match score
and the matching fingers. Ctrl+Y "same person" cancels the new record, Ctrl+K "same person,
keep the new record" sends it (the deletion request of the earlier one follows the central's
duplicate answer), Ctrl+N "different people" sends it to the central; either asks a supervisor's name and password
(:class:`kiosk.tui.modals.SupervisorModal`) and calls the core decision
(:func:`kiosk.dedup.local_hold.decide_local_match`, the same function as the CLI) in a worker.
Loading (identities, photos) runs in a worker too: the UI thread only shows what it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Static

from kiosk.tui.chrome import KioskFooter
from kiosk.i18n import translate
from kiosk.tui.base import KioskModal
from kiosk.tui.pictures import picture_widget
from kiosk.tui.screens.device_help import problem_words

#: thumbnail size in pixels (half-block cells: 24 columns x 16 rows)
THUMB = (24, 32)


@dataclass
class MatchLoaded(Message):
    """Both records as :func:`kiosk.dedup.local_hold.match_view` gives them, with thumbnails."""

    view: dict[str, Any] | None
    faces: dict[str, PILImage.Image | None]
    problem: BaseException | None = None


@dataclass
class MatchDecided(Message):
    verdict: str
    problem: BaseException | None = None


def thumbnail(store: Any, record_id: str) -> PILImage.Image | None:
    """The record's face, small; None when it has none (or it was purged)."""
    import io

    try:
        data = store.sample_data(record_id, "face")
        image = PILImage.open(io.BytesIO(data)).convert("RGB")
    except Exception:  # noqa: BLE001 - no photo is shown as "(no photo)", the decision still works
        return None
    image.thumbnail(THUMB)
    return image


class LocalMatchModal(KioskModal[str | None]):
    """Returns the verdict saved (``same_person`` / ``different_people``), or None when closed."""

    KEYS = [("ctrl+y", "same", "dedup_flow.key.same"), ("ctrl+k", "keep_new", "dedup_flow.key.keep_new"),
            ("ctrl+n", "different", "dedup_flow.key.different"), ("escape", "close", "tui.key.close")]
    DEFAULT_CSS = """
    LocalMatchModal .side { width: 1fr; height: auto; padding: 0 1; }
    LocalMatchModal .thumb { width: 24; height: 16; }
    LocalMatchModal #match-sides { height: auto; }
    """

    def __init__(self, record_id: str) -> None:
        super().__init__()
        self.record_id = record_id
        self.view: dict[str, Any] | None = None
        self.result = ""
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(id="match-title", classes="title")
            yield Static(id="match-intro")
            with Horizontal(id="match-sides"):
                for side in ("new", "earlier"):
                    with Vertical(classes="side"):
                        yield picture_widget(id=f"face-{side}", classes="thumb")
                        yield Static(id=f"text-{side}")
            yield Static(id="match-score")
            yield Static(id="match-result", classes="error")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.load()

    @work(thread=True, exclusive=True, group="local-match")
    def load(self) -> None:
        from kiosk.dedup.local_hold import local_match, match_view

        store = self.kiosk.store
        try:
            held = local_match(store, self.record_id)
            view = match_view(store, held) if held is not None else None
            faces = {"new": thumbnail(store, self.record_id),
                     "earlier": thumbnail(store, held.matched_record) if held is not None else None}
        except Exception as exc:  # noqa: BLE001 - shown to the operator in their words
            self.post_message(MatchLoaded(None, {}, exc))
            return
        self.post_message(MatchLoaded(view, faces))

    def on_match_loaded(self, msg: MatchLoaded) -> None:
        self.view = msg.view
        if msg.problem is not None:
            self.result = problem_words(msg.problem)
        for side, image in msg.faces.items():
            if image is not None:
                self.query_one(f"#face-{side}").image = image
        self.refresh_texts()

    def refresh_texts(self) -> None:
        self.query_one("#match-title", Label).update(translate("dedup_flow.modal.title"))
        self.query_one("#match-intro", Static).update(translate("dedup_flow.modal.intro"))
        view = self.view
        for side in ("new", "earlier"):
            text = translate("tui.home.asking")
            if view is not None:
                r = view[side]
                text = "\n".join([f"[b]{translate('dedup_flow.modal.' + side)}[/b]  {r['record_id'][:8]}",
                                  f"{translate('dedup_flow.modal.name')}: {r['name'] or '-'}",
                                  f"{translate('dedup_flow.modal.nik')}: {r['nik']}",
                                  f"{translate('dedup_flow.modal.date')}: {r['created_at']}",
                                  f"{translate('dedup_flow.modal.state')}: {translate('state.' + r['state'])}"])
            self.query_one(f"#text-{side}", Static).update(text)
        score = ""
        if view is not None:
            fingers = ", ".join(translate("dedup_flow.modal.finger_score", position=translate(f"tui.finger.{p}"),
                                          score=s) for p, s in view["fingers"].items())
            score = "\n".join([translate("dedup_flow.modal.score", score=view["score"]),
                               translate("dedup_flow.modal.fingers", fingers=fingers or "-")])
        self.query_one("#match-score", Static).update(score)
        self.query_one("#match-result", Static).update(self.result)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("same", "keep_new", "different"):
            return self.view is not None and not self.busy
        return True

    def _ask(self, verdict: str) -> None:
        from kiosk.tui.modals import SupervisorModal

        self.app.push_screen(SupervisorModal(), lambda sup: self.decide(verdict, sup) if sup else None)

    def action_same(self) -> None:
        self._ask("same_person")

    def action_keep_new(self) -> None:
        self._ask("same_person_keep_new")

    def action_different(self) -> None:
        self._ask("different_people")

    @work(thread=True, exclusive=True, group="local-match")
    def decide(self, verdict: str, supervisor: str) -> None:
        from kiosk.dedup.local_hold import decide_local_match

        self.busy = True
        try:
            decide_local_match(self.kiosk.store, self.record_id, verdict, supervisor=supervisor)
        except Exception as exc:  # noqa: BLE001 - e.g. another supervisor decided first
            self.post_message(MatchDecided(verdict, exc))
            return
        self.post_message(MatchDecided(verdict))

    def on_match_decided(self, msg: MatchDecided) -> None:
        self.busy = False
        if msg.problem is not None:
            self.result = problem_words(msg.problem)
            self.refresh_texts()
            return
        self.dismiss(msg.verdict)

    def action_close(self) -> None:
        self.dismiss(None)
