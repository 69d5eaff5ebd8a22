"""Issue 11 §3: what the day's benchmark found still running on the event loop now runs in workers.

Each test holds the moved call (the login's password check, the form's identity save, the iris
step's first read and its save) on a gate, checks that it runs off the event loop's thread, and
presses F2 while it waits: the screen must answer (its words change language) before the call is
let go. Before the move the call ran on the event loop, so F2 could not be handled while it ran
and the thread check failed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from textual.widgets import Label

from kiosk.i18n import set_language, translate
from kiosk.tui.screens.enroll_face import FaceScreen
from kiosk.tui.screens.enroll_form import FormScreen
from kiosk.tui.screens.enroll_iris import IrisScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from tests.conftest import resident
from tests.tui.test_flow import NIK, fill_form, login, wait_for
from tests.tui.test_iris_step import IRIS_TABLES, FakeIris, _app

#: the longest a gated call waits to be let go (the test opens it; a bound for a test gone wrong). On
#: the event loop it would block the test this long
GATE_S = 30.0


class Gate:
    """Wraps a callable: notes the thread of each call and holds it until :meth:`open`."""

    def __init__(self, real: Callable[..., Any]) -> None:
        self.real = real
        self.on_main: list[bool] = []
        self.entered = threading.Event()
        self._open = threading.Event()

    def __call__(self, *args: Any, **kw: Any) -> Any:
        self.on_main.append(threading.current_thread() is threading.main_thread())
        self.entered.set()
        self._open.wait(GATE_S)
        return self.real(*args, **kw)

    def open(self) -> None:
        self._open.set()


def label(screen: Any, widget_id: str) -> str:
    return str(screen.query_one(widget_id, Label).content)


async def test_the_login_password_check_runs_in_a_worker_and_f2_is_answered_meanwhile(
        make_app: Any, accounts: Any) -> None:
    app = make_app()
    gate = Gate(app.accounts.authenticate)
    app.accounts.authenticate = gate
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        screen = app.screen
        screen.query_one("#name").value, screen.query_one("#password").value = "siti", "rahasia123"
        screen.query_one("#password").focus()
        await pilot.press("enter")
        await wait_for(pilot, gate.entered.is_set)
        english = translate("tui.login.name")
        await pilot.press("f2")  # the check still runs
        await wait_for(pilot, lambda: label(screen, "#name-label") != english)
        assert isinstance(app.screen, LoginScreen) and screen.checking
        gate.open()
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert gate.on_main == [False]


async def test_the_supervisor_password_check_runs_in_a_worker_and_keys_are_answered_meanwhile(
        make_app: Any, accounts: Any) -> None:
    """The supervisor dialog ran scrypt on the event loop: the station froze for the check."""
    from textual.widgets import Input, Static

    from kiosk.tui.modals import SupervisorModal

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        gate = Gate(app.accounts.authenticate)
        app.accounts.authenticate = gate
        answers: list[str | None] = []
        app.push_screen(SupervisorModal(), answers.append)
        await wait_for(pilot, lambda: isinstance(app.screen, SupervisorModal) and app.screen.is_mounted)
        dialog = app.screen
        dialog.query_one("#sup-name", Input).value = "siti"  # an operator: refused after the check
        dialog.query_one("#sup-password", Input).value = "rahasia123"
        dialog.query_one("#sup-password", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, gate.entered.is_set)
        await pilot.press("enter")  # a second confirm while the first is checked: ignored
        assert str(dialog.query_one("#sup-error", Static).content) == translate("tui.supervisor.checking")
        gate.open()
        refused = translate("tui.supervisor.not_supervisor", name="siti")
        await wait_for(pilot, lambda: str(dialog.query_one("#sup-error", Static).content) == refused)
        dialog.query_one("#sup-name", Input).value = "budi"
        dialog.query_one("#sup-password", Input).value = "rahasia456"
        await pilot.press("enter")
        await wait_for(pilot, lambda: answers == ["budi"])
    assert gate.on_main and not any(gate.on_main) and len(gate.on_main) == 2


async def test_a_refused_login_is_answered_from_the_worker(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "salah")
        assert isinstance(app.screen, LoginScreen)
        assert app.screen.query_one("#password").value == ""
        assert str(app.screen.query_one("#login-error").content) == translate("accounts.login_failed")
    assert [e.action for e in app.store.audit() if e.action == "login_failed"] == ["login_failed"]


async def test_the_form_saves_the_identity_in_a_worker_and_f2_is_answered_meanwhile(
        make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await fill_form(pilot, app)
        form = app.screen
        gate = Gate(app.store.update_identity)
        app.store.update_identity = gate
        await pilot.press("ctrl+s")
        await wait_for(pilot, gate.entered.is_set)
        english = label(form, "#label-full_name")
        await pilot.press("f2")
        await wait_for(pilot, lambda: label(form, "#label-full_name") != english)
        assert app.screen is form and form.saving
        gate.open()
        await wait_for(pilot, lambda: isinstance(app.screen, FaceScreen))
        record_id = app.screen.record_id
    assert gate.on_main == [False]
    assert app.store.identity(record_id).full_name == "SITI AMINAH"


async def test_the_form_stays_when_a_field_is_wrong_and_keeps_what_was_typed(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#birth_place").value = "BOGOR"  # the name stays empty: required
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not form.saving)
        assert app.screen is form and form.query_one("#full_name").has_class("invalid")
        assert app.store.identity(form.record_id).birth_place == "BOGOR"


async def test_the_iris_step_reads_and_stores_the_eyes_in_workers_and_f2_is_answered_meanwhile(
        tmp_path: Path) -> None:
    from kiosk.i18n import set_language

    app = _app(tmp_path, IRIS_TABLES, FakeIris([(90, 90)]))
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            rec = app.store.create_draft(resident(3), actor="siti")
            read = Gate(app.store.samples)
            app.store.samples = read
            app.push_screen(IrisScreen(rec.id))
            await wait_for(pilot, read.entered.is_set)  # the first read of the kept eyes
            screen: Any = app.screen
            before = str(screen.query_one("#steps").content)
            await pilot.press("f2")
            await wait_for(pilot, lambda: str(screen.query_one("#steps").content) != before)
            read.open()
            await wait_for(pilot, lambda: screen.loaded)
            stored = Gate(app.store.put_sample)  # each kept eye is stored by the capture worker
            app.store.put_sample = stored
            await pilot.press("c")
            await wait_for(pilot, stored.entered.is_set)
            before = str(screen.query_one("#steps").content)
            await pilot.press("f2")
            await wait_for(pilot, lambda: str(screen.query_one("#steps").content) != before)
            assert app.screen is screen and screen.busy
            stored.open()
            await wait_for(pilot, lambda: screen.slots.all_done() and not screen.busy)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen))
            read_on_main, stored_on_main = list(read.on_main), list(stored.on_main)
        assert read_on_main and not any(read_on_main)
        assert stored_on_main == [False, False]  # both eyes, off the event loop
        assert {s.position for s in app.store.samples(rec.id) if s.kind == "iris"} == {1, 2}
    finally:
        set_language("id")


# -- the kept form (kiosk.tui.wizard.KEPT_STEPS): built once, shown again for each record ------------

async def _to_form(pilot: Any, app: Any, nik: str) -> Any:
    from kiosk.tui.screens.enroll_nik import NikScreen

    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(app.screen, NikScreen))
    await pilot.press(*nik, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen.is_mounted)
    await pilot.pause()
    return app.screen


async def test_the_next_resident_gets_the_same_form_showing_only_their_record(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        first = await _to_form(pilot, app, NIK)
        first.query_one("#birth_place").value = "BOGOR"  # the name is missing: marked, the form stays
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not first.saving)
        assert first.query_one("#full_name").has_class("invalid")
        await pilot.press("f4")  # the draft is kept; back home
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        other = resident(8)
        second = await _to_form(pilot, app, other.nik)
        assert second is first  # shown again, not built again
        assert second.record_id != app.store.holder_of(NIK).id
        assert second.query_one("#birth_place").value == ""  # nothing of the first resident
        assert not second.query_one("#full_name").has_class("invalid")
        assert str(second.query_one("#form-errors").content) == ""
        assert other.nik in str(second.query_one("#form-region").content)
        assert app.screen.focused is second.query_one("#full_name")
        await wait_for(pilot, lambda: app.store.get(second.record_id).step == "form")


async def test_the_kept_form_follows_a_language_switch_made_while_it_was_aside(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        form = await _to_form(pilot, app, NIK)
        english = label(form, "#label-full_name")
        await fill_form(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, FaceScreen))
        await pilot.press("f2")  # on the face step: the form lies aside, off the stack
        await pilot.pause()
        await pilot.press("escape")  # back to the form
        await wait_for(pilot, lambda: app.screen is form)
        await wait_for(pilot, lambda: label(form, "#label-full_name") != english)
        assert form.query_one("#full_name").value == "SITI AMINAH"  # what was saved


async def test_logout_lets_the_kept_form_and_its_resident_data_go(make_app: Any, accounts: Any) -> None:
    import gc
    import weakref

    from kiosk.tui.wizard import kept_name

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        form = await _to_form(pilot, app, NIK)
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        ref = weakref.ref(form)
        del form
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert not app.is_screen_installed(kept_name("form"))
        await wait_for(pilot, lambda: ref() is None or not ref().is_attached)
        await pilot.pause()
        gc.collect()
        assert ref() is None or not ref().is_attached


async def test_accepting_a_signature_says_at_once_that_it_is_being_saved(make_app: Any, accounts: Any,
                                                                        devices: Any, monkeypatch: Any) -> None:
    """Ctrl+A starts the check and the save in a worker; before, nothing on the screen changed until
    the worker had finished (tui_day counted the key unanswered meanwhile)."""
    from textual.widgets import Static

    from kiosk.tui import services
    from tests.tui.test_signature_backlog import open_signature_step

    gate = Gate(services.save_signature)
    monkeypatch.setattr(services, "save_signature", gate)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_signature_step(pilot, app)
        screen: Any = app.screen
        pad = devices.get("pad")
        await wait_for(pilot, lambda: pad.discards > 0)  # the step dropped what came before it
        pad.sign()
        await wait_for(pilot, lambda: len(screen.points) == 20)
        await pilot.press("ctrl+a")
        await wait_for(pilot, gate.entered.is_set)
        await wait_for(pilot, lambda: translate("tui.signature.saving") in str(screen.query_one("#sig-status", Static).content))
        gate.open()
        await wait_for(pilot, lambda: screen.saved)
        assert translate("tui.signature.saving") not in str(screen.query_one("#sig-status", Static).content)
    assert gate.on_main == [False]


async def test_new_figures_on_home_repaint_their_panel_without_a_screen_layout(make_app: Any, accounts: Any) -> None:
    from kiosk.tui.messages import QueueReport

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        home: Any = app.screen
        await wait_for(pilot, lambda: home.queue is not None)
        panel = home.query_one("#queue")
        layouts: list[bool] = []
        real_refresh = panel.refresh
        panel.refresh = lambda *a, **k: layouts.append(bool(k.get("layout"))) or real_refresh(*a, **k)  # type: ignore
        home.post_message(QueueReport({"queued": 7}, 3))
        await wait_for(pilot, lambda: bool(layouts))
        assert layouts == [False]
        assert "7" in str(panel.content)


# -- the whole day's path: the store is opened only in workers ------------------------------------------

def watch_store_on_event_loop(app: Any) -> list[str]:
    """Every use of the app's store connection by the UI (kiosk.tui) from the event loop's thread, as
    the kiosk frames that asked for it (each store call reaches SQLite through ``RecordStore.conn``)."""
    import traceback

    uses: list[str] = []
    real = type(app.store)

    class EventLoopWatched(real):  # type: ignore[misc, valid-type]
        @property
        def conn(self) -> Any:
            stack = traceback.extract_stack()[:-1]
            # the UI's own calls (the test's checks of the store are not the UI's)
            if threading.current_thread() is threading.main_thread() and any("/kiosk/tui/" in f.filename for f in stack):
                uses.append(" <- ".join(f"{f.name} ({Path(f.filename).name}:{f.lineno})"
                                        for f in reversed(stack) if "/kiosk/" in f.filename))
            return real.conn.fget(self)  # type: ignore[attr-defined]

    app.store.__class__ = EventLoopWatched
    return uses


async def test_an_enrollment_from_login_to_print_reads_and_writes_the_store_only_in_workers(
        make_app: Any, accounts: Any, devices: Any) -> None:
    """Login (its audit row), the draft offer, the NIK's check against this station and its draft, the
    form's identity, every capture step, the review (read, queue), the print screen and the logout:
    none of them opens SQLite on the event loop (before: the login's and logout's audit rows, the
    draft offer, the NIK check and draft, the form's read, the review's reads and queueing did)."""
    from tests.tui.test_flow import enroll, login_to_home

    app = make_app()
    app.store.create_draft(resident(12), actor="siti")  # a draft left open: home offers it
    uses = watch_store_on_event_loop(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await login_to_home(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        record_id = await enroll(pilot, app, devices)
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PrintScreen" and app.screen.approved is not None)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("f10")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        await wait_for(pilot, lambda: any(e.action == "logout" for e in app.store.audit()))
    assert app.store.get(record_id).state.value == "queued"
    assert uses == []


async def test_enter_on_the_nik_writes_the_draft_in_a_worker_says_so_and_ignores_a_second_enter(
        make_app: Any, accounts: Any) -> None:
    from textual.widgets import Static

    from kiosk.tui.screens.enroll_nik import NikScreen
    from tests.tui.test_flow import login_to_home

    app = make_app()
    gate = Gate(app.store.create_draft)
    app.store.create_draft = gate
    async with app.run_test(size=(80, 24)) as pilot:
        await login_to_home(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK)
        nik: Any = app.screen
        assert isinstance(nik, NikScreen)
        await wait_for(pilot, lambda: nik.parsed is not None)
        await pilot.press("enter")
        await wait_for(pilot, gate.entered.is_set)
        status = lambda: str(nik.query_one("#nik-status", Static).content)  # noqa: E731
        assert status() == translate("tui.nik.creating") and nik.creating
        await pilot.press("enter")  # the draft is still being written: not a second one
        before = str(nik.query_one("#steps").content)
        await pilot.press("f2")
        await wait_for(pilot, lambda: str(nik.query_one("#steps").content) != before)
        assert status() == translate("tui.nik.creating")  # in the other language now
        assert app.screen is nik
        gate.open()
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        form: Any = app.screen
        await wait_for(pilot, lambda: NIK in str(form.query_one("#form-region").content))
    assert gate.on_main == [False]
    assert [r.id for r in app.store.list()] == [form.record_id]
    set_language("en")


async def test_a_draft_refused_by_the_store_is_one_plain_line_on_the_nik_step(make_app: Any, accounts: Any) -> None:
    """Another terminal took the NIK between the check and the Enter: the draft's transaction refuses
    it and the step says so in the catalog's words (the screen stays)."""
    from textual.widgets import Static

    from kiosk.store import DuplicateNik
    from kiosk.tui.screens.device_help import problem_words
    from kiosk.tui.screens.enroll_nik import NikScreen
    from tests.tui.test_flow import login_to_home

    app = make_app()
    real = app.store.create_draft

    def taken(ident: Any, **kw: Any) -> Any:
        real(ident, actor="other")  # the other terminal, first
        return real(ident, **kw)

    app.store.create_draft = taken
    async with app.run_test(size=(80, 24)) as pilot:
        await login_to_home(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK)
        nik: Any = app.screen
        await wait_for(pilot, lambda: nik.parsed is not None and nik.lookup is not None)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not nik.creating)
        holder = app.store.holder_of(NIK)
        assert holder is not None
        words = str(nik.query_one("#nik-status", Static).content)
        assert words == problem_words(DuplicateNik(record_id=holder.id, state=str(holder.state)))
        assert "already recorded" in words
        assert isinstance(app.screen, NikScreen)


async def test_the_review_reads_and_queues_the_record_in_workers_and_f2_is_answered_meanwhile(
        make_app: Any, accounts: Any) -> None:
    from textual.widgets import Static

    from kiosk.config import PolicyConfig
    from kiosk.store import RecordState
    from kiosk.tui.screens.enroll_review import ReviewScreen
    from tests.tui.test_flow import login_to_home

    app = make_app()
    app.store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    rec = app.store.create_draft(resident(4), actor="siti")
    async with app.run_test(size=(80, 24)) as pilot:
        await login_to_home(pilot, "siti", "rahasia123")
        read = Gate(app.store.identity)
        app.store.identity = read
        app.push_screen(ReviewScreen(rec.id))
        await wait_for(pilot, read.entered.is_set)
        review: Any = app.screen
        assert str(review.query_one("#review-status", Static).content) == translate("tui.wizard.reading")
        before = str(review.query_one("#steps").content)
        await pilot.press("f2")
        await wait_for(pilot, lambda: str(review.query_one("#steps").content) != before)
        read.open()
        await wait_for(pilot, lambda: review.data is not None)
        assert resident(4).nik in str(review.query_one("#review", Static).content)
        queued = Gate(app.store.transition)
        app.store.transition = queued
        await pilot.press("ctrl+s")
        await wait_for(pilot, queued.entered.is_set)
        assert str(review.query_one("#review-status", Static).content) == translate("tui.review.submitting")
        await pilot.press("ctrl+s", "escape")  # queued meanwhile: neither queues again nor leaves
        assert app.screen is review
        queued.open()
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert read.on_main and not any(read.on_main)
    assert queued.on_main == [False, False]  # draft -> captured -> queued, off the event loop
    assert app.store.get(rec.id).state is RecordState.QUEUED
    set_language("en")
