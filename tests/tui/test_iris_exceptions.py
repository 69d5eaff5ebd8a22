"""Irises follow the capture policy like fingers: an eye that cannot be given gets an exception (a
supervisor confirms the permanent reasons), the review and ``kiosk records show`` list it, and the
attempts per eye survive a resumed draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Static

from kiosk.accounts import AccountStore, Role
from kiosk.tui.modals import ReasonModal
from kiosk.tui.screens.enroll_iris import IrisScreen
from kiosk.tui.screens.enroll_review import ReviewScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from tests.conftest import resident, run_kiosk
from tests.tui.test_flow import confirm_as_supervisor, wait_for
from tests.tui.test_iris_step import FakeIris, iris_station


def supervisor_account(app: Any) -> None:
    AccountStore(app.cfg.accounts).add("budi", Role.SUPERVISOR, "rahasia456")


async def open_iris_step(app: Any, pilot: Any, serial: int) -> tuple[str, Any]:
    rec = app.store.create_draft(resident(serial), actor="siti")
    app.push_screen(IrisScreen(rec.id))
    await wait_for(pilot, lambda: isinstance(app.screen, IrisScreen) and app.screen.loaded)
    return rec.id, app.screen


async def choose(pilot: Any, app: Any, downs: int) -> None:
    """Pick the option ``downs`` below the first in the reason list on top."""
    await wait_for(pilot, lambda: isinstance(app.screen, ReasonModal))
    modal = app.screen
    await pilot.press(*(["down"] * downs), "enter")
    await wait_for(pilot, lambda: app.screen is not modal)


async def test_a_lost_eye_gets_a_supervisor_confirmed_exception_and_the_step_moves_on(tmp_path: Path) -> None:
    iris = FakeIris([(90, 12)])  # the left eye is a closed socket: the device sees no iris
    async with iris_station(tmp_path, iris, (100, 40)) as (app, pilot):
        supervisor_account(app)
        record_id, screen = await open_iris_step(app, pilot, 21)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.slots.attempts.get(2) and not screen.busy)
        await pilot.press("ctrl+s")  # refused: the left eye is neither captured nor excepted
        assert app.screen is screen
        await pilot.press("x")
        await choose(pilot, app, 1)  # the left eye
        await choose(pilot, app, 0)  # lost: the policy wants a supervisor
        await confirm_as_supervisor(pilot)
        await wait_for(pilot, lambda: 2 in screen.slots.exceptions)
        status = " ".join(str(screen.query_one("#iris-status", Static).render()).split())
        assert "Left eye: exception (Eye lost)" in status
        await pilot.press("x")  # the right eye's exception is offered, and cancelled: nothing changes
        await wait_for(pilot, lambda: isinstance(app.screen, ReasonModal))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen))
        store = app.store
        assert [(e.eye, e.reason, e.approved_by) for e in store.iris_exceptions(record_id)] == [(2, "lost", "budi")]
        assert {s.position for s in store.samples(record_id) if s.kind == "iris"} == {1}
        assert not [m for m in store.missing(record_id) if m.startswith("iris")]
        assert [e.params["eye"] for e in store.audit(record_id) if e.action == "iris_exception"] == [2]
        app.push_screen(ReviewScreen(record_id))
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.query("#review"))
        await pilot.pause()
        text = str(app.screen.query_one("#review", Static).render())
        assert "Right iris: device score 90" in text
        assert "Left eye: exception (Eye lost) (approved by budi)" in text


async def test_a_bandaged_eye_needs_no_supervisor_and_an_unconfirmed_lost_eye_holds_the_record(
        tmp_path: Path) -> None:
    async with iris_station(tmp_path, FakeIris([(90, 12)]), (100, 40)) as (app, pilot):
        record_id, screen = await open_iris_step(app, pilot, 22)
        await pilot.press("x")
        await choose(pilot, app, 0)  # right eye
        await choose(pilot, app, 3)  # bandaged
        await wait_for(pilot, lambda: 1 in screen.slots.exceptions)
        assert screen.slots.exceptions[1].approved_by is None
        # a lost eye recorded without its supervisor (e.g. from another front end) holds the record
        app.store.add_iris_exception(record_id, 2, "lost", actor="siti")
        assert app.store.missing(record_id)[-2:] == ["iris_supervisor:2", "signature"]
        app.push_screen(ReviewScreen(record_id))
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.query("#review"))
        await pilot.pause()
        missing = " ".join(str(app.screen.query_one("#review-status", Static).render()).split())
        assert "supervisor approval of the exception for: Left eye" in missing


async def test_attempts_per_eye_survive_a_resumed_draft(tmp_path: Path) -> None:
    iris = FakeIris([(90, 40)])  # the left eye stays below the threshold (60); two attempts per eye
    async with iris_station(tmp_path, iris) as (app, pilot):
        record_id, screen = await open_iris_step(app, pilot, 23)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.slots.attempts.get(2) == 1 and not screen.busy)
        app.pop_screen()  # the terminal closed; the draft is opened again
        await wait_for(pilot, lambda: not isinstance(app.screen, IrisScreen))
        app.push_screen(IrisScreen(record_id))
        await wait_for(pilot, lambda: isinstance(app.screen, IrisScreen) and app.screen.loaded)
        again = app.screen
        assert again is not screen
        assert again.slots.attempts == {1: 1, 2: 1} and again.slots.scores == {1: 90, 2: 40}
        assert again.slots.wanted() == (2,)  # the right eye passed: only the left is asked for
        await pilot.press("c")
        await wait_for(pilot, lambda: again.slots.attempts.get(2) == 2 and not again.busy)
        await pilot.press("c")  # no attempt left for either eye: the device is not asked again
        await pilot.pause()
        assert iris.captures == 2
        await pilot.press("ctrl+s")  # the best left eye is kept below the threshold after its attempts
        await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen))


def test_records_show_lists_the_eye_exceptions_and_what_is_missing(config_file: Path) -> None:
    from kiosk.config import PolicyConfig, load_config
    from kiosk.store import RecordStore

    cfg = load_config(config_file)
    store = RecordStore(cfg.station.data_dir, policy=PolicyConfig(required_irises=(1, 2)))
    rid = store.create_draft(resident(24), actor="op1").id
    store.add_iris_exception(rid, 1, "prosthesis", actor="op1", approved_by="budi")
    proc = run_kiosk("--config", str(config_file), "records", "show", rid[:8], "--json")
    data = proc.stdout
    assert '"iris_exceptions": [' in data and '"reason": "prosthesis"' in data
    proc = run_kiosk("--config", str(config_file), "--lang", "en", "records", "show", rid[:8])
    assert "Right eye: Prosthetic eye (approved by budi)" in proc.stdout, proc.stdout + proc.stderr
