"""The queue screen shows each record's step, and Ctrl+L on a record held by the station's own
fingerprint check opens both records side by side; a supervisor's "different people" sends it
(issue 14 §2). The decision is the core's (kiosk.dedup.local_hold), made in a worker."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from kiosk.dedup.local_hold import PreUploadCheck
from kiosk.store import RecordState as S
from kiosk.sync.synthetic import _put_samples
from tests.conftest import resident
from tests.tui.test_flow import confirm_as_supervisor, login, wait_for

#: realistic synthetic fingers (kiosk.sync.synthetic_samples, cached in ~/.cache/kiosk per seed)
PERSON = 8_400_000


def _record(store: Any, serial: int, person: int, impression: int) -> str:
    rec = store.create_draft(resident(serial), actor="siti")
    _put_samples(store, rec.id, PERSON + person, impression, "siti")
    store.transition(rec.id, S.CAPTURED, actor="siti")
    store.transition(rec.id, S.QUEUED, actor="siti")
    return rec.id


async def test_a_held_record_is_shown_beside_the_earlier_one_and_a_supervisor_releases_it(
        make_app: Any, accounts: Any) -> None:
    from kiosk.tui.screens.local_match import LocalMatchModal
    from kiosk.tui.screens.queue import QueueScreen

    app = make_app()
    store = app.store
    first = _record(store, 61, person=1, impression=0)
    again = _record(store, 62, person=1, impression=1)
    check = PreUploadCheck(store, app.cfg.station.data_dir)
    assert check(first) and not check(again)
    check.close()
    assert store.get(again).state is S.HELD

    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and len(app.screen.rows) == 2)
        table = app.screen.query_one("#records", DataTable)
        held_row = [str(c) for c in table.get_row(again)]
        assert "held for a supervisor" in held_row and any(first[:8] in c for c in held_row)  # the step, in words
        assert not app.screen.check_action("local_match", ())  # the cursor is on the first record
        await pilot.press("down")
        await wait_for(pilot, lambda: app.screen.check_action("local_match", ()))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LocalMatchModal) and app.screen.view is not None)
        modal = app.screen
        new_text = str(modal.query_one("#text-new").render())
        earlier_text = str(modal.query_one("#text-earlier").render())
        assert "PENDUDUK 62" in new_text and "PENDUDUK 61" in earlier_text
        assert resident(62).nik not in new_text and resident(62).nik[-4:] in new_text  # the NIK is masked
        assert "Match score" in str(modal.query_one("#match-score").render())
        assert modal.query_one("#face-new").image is not None  # a photo thumbnail of each record
        assert modal.query_one("#face-earlier").image is not None

        await pilot.press("ctrl+n")
        await confirm_as_supervisor(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen), tries=200)
        await wait_for(pilot, lambda: store.get(again).state is S.QUEUED)
    decided = [e for e in store.audit(again) if e.from_state == "held"]
    assert [(e.actor, e.to_state) for e in decided] == [("budi", "queued")]


async def test_the_queue_steps_and_the_match_dialog_speak_bahasa_indonesia_only(make_app: Any, accounts: Any) -> None:
    """In Indonesian mode no English word of the catalogs shows on the queue or the dialog."""
    import re

    from kiosk.config import PolicyConfig
    from kiosk.dedup.local import LocalMatch
    from kiosk.dedup.local_hold import record_check
    from kiosk.i18n import catalog
    from kiosk.tui.screens.local_match import LocalMatchModal
    from kiosk.tui.screens.queue import QueueScreen
    from tests.tui.test_every_screen_language import DATA, SHARED, screen_words

    def words(lang: str) -> set[str]:
        out: set[str] = set()
        for code, text in catalog(lang).items():
            if code.split(".")[0] in ("tui", "state", "dedup_flow"):
                out.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}", " ", text)))
        return out

    english_only = words("en") - words("id") - SHARED - DATA
    app = make_app()
    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    first = store.create_draft(resident(71), actor="siti").id
    again = store.create_draft(resident(72), actor="siti").id
    for rid in (first, again):
        store.transition(rid, S.CAPTURED, actor="siti")
        store.transition(rid, S.QUEUED, actor="siti")
    store.policy = app.cfg.policy
    # the match itself is what the fingerprint check found; here it is given, to look at the words
    assert not record_check(store, again, [LocalMatch(first, 212, {1: 120, 2: 92})])
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, QueueScreen) and len(app.screen.rows) == 2)
        await pilot.press("f2")  # English -> Bahasa Indonesia: what is on the screen follows
        await pilot.pause(0.2)
        assert screen_words(app) & english_only == set()
        await pilot.press("down")
        await wait_for(pilot, lambda: app.screen.check_action("local_match", ()))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LocalMatchModal) and app.screen.view is not None)
        await pilot.pause(0.2)
        shown = screen_words(app)
        assert {"cocok", "sebelumnya"} <= shown
        assert shown & english_only == set()
