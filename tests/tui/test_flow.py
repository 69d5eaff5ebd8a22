"""Pilot walk of a full enrollment, from login to a queued record."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from kiosk.store import RecordState
from kiosk.tui.screens.enroll_face import FaceScreen
from kiosk.tui.screens.enroll_fingers import FingersScreen
from kiosk.tui.screens.enroll_form import FormScreen
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.enroll_review import ReviewScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from tests.conftest import resident

NIK = resident(7).nik


async def wait_for(pilot: Any, cond: Any, tries: int = 100) -> None:
    """Wait until ``cond()`` holds. The bound is wall-clock and generous (at least 60 s; ``tries``
    × 50 ms when longer): on two loaded cores a step took more than the 5 s that 100 tries of 50 ms
    gave, and a passing test never waits for the bound."""
    import time

    deadline = time.monotonic() + max(60.0, tries * 0.05)
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached on {pilot.app.screen!r}: "
                                 f"{getattr(pilot.app.screen, 'problem', None)!r}")
        await pilot.pause(0.05)


async def login(pilot: Any, name: str, password: str, *, typed: bool = False) -> None:
    """Log in; ``typed`` presses every key (slower), else the fields are filled and Enter pressed."""
    if typed:
        await pilot.press(*name, "enter", *password, "enter")
    else:
        screen = pilot.app.screen
        screen.query_one("#name", Input).value = name
        screen.query_one("#password", Input).value = password
        screen.query_one("#password", Input).focus()
        await pilot.press("enter")
    await pilot.pause()
    # the password check runs in a worker (scrypt off the event loop): wait for its answer
    screen = pilot.app.screen
    await wait_for(pilot, lambda: not getattr(screen, "checking", False))
    await pilot.pause()


async def login_to_home(pilot: Any, name: str, password: str) -> None:
    """Log in and pass the offer to resume a draft when the store holds one (home is shown)."""
    await login(pilot, name, password)
    # home looks for drafts in a worker: wait for its answer (the offer, or none)
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ != "HomeScreen" or pilot.app.screen.drafts_checked)
    if type(pilot.app.screen).__name__ == "ResumeDraftModal":
        await pilot.press("escape")


async def confirm_as_supervisor(pilot: Any, name: str = "budi", password: str = "rahasia456") -> None:
    """Answer the supervisor dialog that is about to show (name, password, Enter)."""
    from kiosk.tui.modals import SupervisorModal

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SupervisorModal))
    dialog = pilot.app.screen
    dialog.query_one("#sup-name", Input).value = name
    dialog.query_one("#sup-password", Input).value = password
    dialog.query_one("#sup-password", Input).focus()
    await pilot.press("enter")


async def form_saved(pilot: Any, app: Any) -> None:
    """The form saves in a worker, then moves on (or stays, its problems shown): wait for the answer."""
    await wait_for(pilot, lambda: not (isinstance(app.screen, FormScreen) and app.screen.saving))
    await pilot.pause()


async def fill_form(pilot: Any, app: Any) -> None:
    for field, value in (("full_name", "SITI AMINAH"), ("birth_place", "BOGOR"), ("address", "JL MAWAR 3"),
                         ("rt", "001"), ("rw", "002"), ("village", "PAKANSARI"), ("occupation", "PETANI")):
        app.screen.query_one(f"#{field}", Input).focus()
        await pilot.press(*value)


async def enroll(pilot: Any, app: Any, devices: Any, nik: str = NIK, *, submit: str = "ctrl+s") -> str:
    """From home to a queued record; returns the record id. ``submit``: the review step's key
    (Ctrl+T also prints the receipt; "" stays on the review step)."""
    await pilot.press("n")
    assert isinstance(app.screen, NikScreen)
    await pilot.press(*nik, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))  # the draft is written in a worker
    record_id = app.screen.record_id
    await fill_form(pilot, app)
    await pilot.press("ctrl+s")
    await form_saved(pilot, app)
    assert isinstance(app.screen, FaceScreen), app.screen.query_one("#form-errors").render()
    await wait_for(pilot, lambda: getattr(app.screen, "captured", False), tries=200)  # auto-capture
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(app.screen, FingersScreen)
    for _ in range(2):
        before = len(app.screen.scores)
        await pilot.press("c")
        await wait_for(pilot, lambda: len(app.screen.scores) > before, tries=200)
    await pilot.press("ctrl+s")  # the wrong-finger check runs, then the step is left
    await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen), tries=200)
    pad = devices.get("pad")
    await wait_for(pilot, lambda: pad.discards + pad.clears > 0)  # the step dropped the pad's backlog
    pad.sign()
    await wait_for(pilot, lambda: len(app.screen.points) >= 20)
    await pilot.press("ctrl+a")
    await wait_for(pilot, lambda: app.screen.saved)
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(app.screen, ReviewScreen)
    if submit:
        await pilot.press(submit)
        await wait_for(pilot, lambda: not getattr(app.screen, "submitting", False))  # queued in a worker
    return record_id


async def test_complete_enrollment_from_login_to_queued_record(make_app: Any, accounts: Any, devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await login(pilot, "siti", "rahasia123", typed=True)
        assert isinstance(app.screen, HomeScreen)
        record_id = await enroll(pilot, app, devices)
        assert isinstance(app.screen, HomeScreen)
        store = app.store
        assert store.get(record_id).state is RecordState.QUEUED
        ident = store.identity(record_id)
        assert ident.full_name == "SITI AMINAH" and ident.nik == NIK and ident.district
        kinds = sorted((s.kind, s.position) for s in store.samples(record_id))
        assert kinds == [("face", 0), ("finger", 1), ("finger", 2), ("finger_template", 1), ("finger_template", 2),
                         ("signature", 0), ("signature_points", 0)]
        face = next(s for s in store.samples(record_id) if s.kind == "face")
        assert face.metadata["report"]["passed"] and not face.metadata["report"]["manual"]
        assert (face.metadata["width"], face.metadata["height"]) == (480, 640)  # ISO/IEC 19794-5 token crop
        sig = next(s for s in store.samples(record_id) if s.kind == "signature")
        assert sig.format == "png" and sig.metadata["report"]["passed"]
