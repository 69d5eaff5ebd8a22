"""Pilot tests of what goes wrong at a station: bad NIKs, unplugged devices, crashes, roles."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Static

from kiosk.i18n import translate
from kiosk.store import RecordState
from kiosk.tui.modals import ResumeDraftModal
from kiosk.tui.screens.enroll_fingers import FingersScreen
from kiosk.tui.screens.enroll_form import FormScreen
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.wizard import step_screen
from tests.conftest import resident
from tests.tui.test_flow import NIK, enroll, fill_form, login, login_to_home, wait_for


def text_of(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_invalid_nik_is_explained_as_typed_and_refused(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *"12345")
        assert "5 of 16" in text_of(app, "#nik-status")
        bad_month = NIK[:8] + "13" + NIK[10:]  # month 13
        await pilot.press("ctrl+a", "ctrl+k", *bad_month)
        assert text_of(app, "#nik-status") == translate("nik.date", digits=bad_month[6:12])
        await pilot.press("enter")
        assert isinstance(app.screen, NikScreen)
        assert app.store.list() == []


async def test_duplicate_nik_is_refused_at_entry(make_app: Any, accounts: Any) -> None:
    app = make_app()
    app.store.create_draft(resident(7), actor="other")
    async with app.run_test(size=(80, 24)) as pilot:
        await login_to_home(pilot, "siti", "rahasia123")  # the offer of the other terminal's draft passed
        await pilot.press("n", *NIK)
        # this station's records are read in a worker: wait for its answer
        await wait_for(pilot, lambda: "already recorded" in text_of(app, "#nik-status"))
        await pilot.press("enter")
        assert isinstance(app.screen, NikScreen)
        assert len(app.store.list()) == 1


async def test_scanner_unplugged_mid_capture_shows_action_and_keeps_draft(make_app: Any, accounts: Any,
                                                                        devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        scanner = devices.get("scanner")
        scanner.hold = True
        await pilot.press("c")
        await wait_for(pilot, scanner.started.is_set)
        scanner.unplugged = True  # the cable is pulled while the finger is on the glass
        scanner.release.set()
        await wait_for(pilot, lambda: app.screen.problem is not None)
        status = text_of(app, "#finger-status")
        assert translate("device.absent", device="Fingerprint scanner") in status
        assert translate("tui.action.replug", key="C") in status
        assert isinstance(app.screen, FingersScreen)
        assert app.store.get(record_id).state is RecordState.DRAFT
        # plugged back in: the next capture reopens the device and works
        scanner.unplugged, scanner.hold = False, False
        await pilot.press("c")
        await wait_for(pilot, lambda: 1 in app.screen.scores)
        assert app.screen.problem is None


async def test_crashed_draft_is_offered_and_resumes_at_its_step_with_samples(make_app: Any, accounts: Any,
                                                                             devices: Any) -> None:
    first = make_app()
    async with first.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = first.screen.record_id
        await fill_form(pilot, first)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: getattr(first.screen, "frame", None) is not None)
        await pilot.press("m", "enter")
        await wait_for(pilot, lambda: first.screen.captured)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(first.screen, FingersScreen)
        await pilot.press("c")
        await wait_for(pilot, lambda: 1 in first.screen.scores)
    # the terminal is closed without leaving the wizard; a new app starts on the same station
    devices.close()
    second = make_app()
    async with second.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(second.screen, ResumeDraftModal))  # found by a worker
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(second.screen, FingersScreen)
        assert second.screen.record_id == record_id
        assert 1 in second.screen.scores and second.screen.current == 2
        assert second.store.identity(record_id).full_name == "SITI AMINAH"
        await pilot.press("escape")  # step back: the face photo is still there
        await pilot.pause()
        assert second.screen.captured


async def test_step_back_keeps_samples(make_app: Any, accounts: Any, devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        await pilot.press("c")
        await wait_for(pilot, lambda: 1 in app.screen.scores)
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        assert [s.position for s in app.store.samples(record_id) if s.kind == "finger"] == [1]


async def test_operator_and_technician_see_their_own_screens(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.check_action("diagnostics", ()) is False
        await pilot.press("d")
        assert isinstance(app.screen, HomeScreen)
        app.open_screen("diagnostics")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("f10")
        await pilot.pause()
        await login(pilot, "teknisi", "rahasia789")
        assert app.screen.check_action("enroll", ()) is False
        await pilot.press("n")
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("d")
        await pilot.pause()
        assert type(app.screen).__name__ == "DiagnosticsScreen"


async def test_blocked_capture_worker_does_not_freeze_keys(make_app: Any, accounts: Any, devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        app.switch_screen(step_screen("fingers", app.screen.record_id))
        await pilot.pause()
        scanner = devices.get("scanner")
        scanner.hold = True  # the scanner never answers
        await pilot.press("c")
        await wait_for(pilot, scanner.started.is_set)
        started = time.monotonic()
        await pilot.press("f2")  # language switch is handled while the worker is blocked
        await pilot.pause()
        assert "Sisa percobaan" in text_of(app, "#finger-status")
        await pilot.press("z")  # stop capture: the cancel event reaches the blocked driver call
        await wait_for(pilot, lambda: app.screen.problem is not None)
        assert time.monotonic() - started < 5
        assert translate("device.cancelled", device=translate("tui.kind.fingerprint").capitalize()) in text_of(app, "#finger-status")
        await pilot.press("f2")


async def test_a_supervisor_enrolling_cannot_confirm_their_own_finger_exception(make_app: Any, accounts: Any,
                                                                                 devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "budi", "rahasia456")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        await pilot.press("x", "enter")  # first reason: amputated; the policy wants a second person
        await pilot.pause()
        await pilot.press(*"budi", "enter", *"rahasia456", "enter")
        await pilot.pause()
        assert app.store.exceptions(record_id) == []  # check_exception: supervisor_not_operator
        assert app.screen.current == 1


async def test_a_draft_can_be_discarded_from_the_resume_offer(make_app: Any, accounts: Any) -> None:
    app = make_app()
    rid = app.store.create_draft(resident(7), actor="siti").id
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: isinstance(app.screen, ResumeDraftModal))  # found by a worker
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("n")  # keep it after all
        await pilot.pause()
        assert app.store.get(rid).state is RecordState.DRAFT
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.store.get(rid).state is RecordState.CANCELLED
        assert isinstance(app.screen, HomeScreen)
        assert app.store.holder_of(resident(7).nik) is None  # the NIK may be enrolled again


async def test_driver_bug_or_missing_driver_is_shown_not_fatal(make_app: Any, accounts: Any, devices: Any) -> None:
    def broken_capture(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("driver bug")

    devices.get("scanner").capture = broken_capture
    original_of_kind = devices.of_kind

    def of_kind(kind: str) -> Any:
        if kind == "signature":
            raise ModuleNotFoundError("No module named 'kiosk.devices.hid_digitizer'", name="kiosk.devices.hid_digitizer")
        return original_of_kind(kind)

    devices.of_kind = of_kind
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.problem is not None)
        assert translate("error.unexpected", kind="RuntimeError") in text_of(app, "#finger-status")
        app.switch_screen(step_screen("signature", record_id))
        await wait_for(pilot, lambda: app.screen.problem is not None)
        assert translate("tui.feature.driver") in text_of(app, "#sig-status")
        assert app.is_running and app.store.get(record_id).state is RecordState.DRAFT
