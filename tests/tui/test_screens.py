"""Supervisor approval in the review, diagnostics actions, queue filter and detail."""

from __future__ import annotations

import json
from typing import Any

from textual.widgets import DataTable, Input, Static

from kiosk.store import RecordState
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.wizard import step_screen
from tests.conftest import resident
from tests.tui.test_flow import NIK, form_saved, login, wait_for


async def test_an_exception_the_policy_reserves_needs_a_supervisor_before_it_counts(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        store = app.store
        ident = store.identity(record_id)
        store.update_identity(record_id, resident(7, full_name="SITI AMINAH").__class__(
            **{**resident(7).__dict__, "full_name": "SITI AMINAH"}), actor="siti")
        del ident
        store.put_sample(record_id, kind="face", data=b"x", format="image/jpeg", actor="siti")
        store.put_sample(record_id, kind="signature", data=b"x", format="image/png", actor="siti")
        store.put_sample(record_id, kind="finger", position=2, data=b"x", format="image/png", actor="siti")
        app.switch_screen(step_screen("fingers", record_id))
        await pilot.pause()
        await pilot.press("x", "enter")  # amputated: the policy wants a supervisor to confirm
        await pilot.pause()
        await pilot.press("escape")  # no supervisor at hand: nothing is recorded
        await pilot.pause()
        assert store.exceptions(record_id) == []
        await pilot.press("x", "enter")
        await pilot.pause()
        await pilot.press(*"siti", "enter", *"rahasia123", "enter")  # an operator cannot confirm
        await pilot.pause()
        assert "not a supervisor" in str(app.screen.query_one("#sup-error", Static).render())
        app.screen.query_one("#sup-name", Input).value = "budi"
        app.screen.query_one("#sup-password", Input).value = "rahasia456"
        await pilot.press("ctrl+s")
        # the supervisor's password is checked in a worker (scrypt): wait for its answer, not one pause
        await wait_for(pilot, lambda: store.exceptions(record_id) != [])
        assert [(e.reason, e.approved_by) for e in store.exceptions(record_id)] == [("amputated", "budi")]
        app.switch_screen(step_screen("review", record_id))
        await pilot.pause()
        review = str(app.screen.query_one("#review", Static).render())
        assert "approved by budi" in review
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert store.get(record_id).state is RecordState.QUEUED
        assert isinstance(app.screen, HomeScreen)


async def test_diagnostics_actions_answer_in_words_and_export_a_bundle(make_app: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "teknisi", "rahasia789")
        await pilot.press("d")
        await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {})) == 3)
        await pilot.press("i")
        await wait_for(pilot, lambda: "Vendor: Fake" in app.screen.output)
        await pilot.press("down", "c")  # test capture on the scanner
        await wait_for(pilot, lambda: "ppi" in app.screen.output)
        assert "NFIQ 2 quality" in app.screen.output
        await pilot.press("l")
        await wait_for(pilot, lambda: "protocol log" in app.screen.output)
        await pilot.press("n")
        await wait_for(pilot, lambda: "sync" in app.screen.output)
        await pilot.press("e")
        await wait_for(pilot, lambda: "bundle written" in app.screen.output)
        path = app.screen.output.rsplit(" ", 1)[-1]
        bundle = json.loads(open(path).read())
        assert set(bundle["devices"]) == {"camera", "scanner", "pad"}
        assert bundle["devices"]["scanner"]["info"]["vendor"] == "Fake"


async def test_queue_filter_and_detail(make_app: Any, accounts: Any) -> None:
    app = make_app()
    store = app.store
    from kiosk.config import PolicyConfig

    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    a = store.create_draft(resident(1), actor="siti").id
    b = store.create_draft(resident(2), actor="siti").id
    store.transition(b, RecordState.CAPTURED, actor="siti")
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("escape", "u")
        await pilot.pause()
        table = app.screen.query_one("#records", DataTable)
        assert table.row_count == 2
        await pilot.press("f")  # drafts only
        await pilot.pause()
        assert table.row_count == 1
        await pilot.press("enter")
        await pilot.pause()
        detail = str(app.screen.query_one("#detail", Static).render())
        assert a in detail and "PENDUDUK 1" in detail
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_form_selects_and_dates_work_from_the_keyboard(make_app: Any, accounts: Any) -> None:
    from textual.widgets import Select

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await pilot.press("n", *NIK, "enter")
        await pilot.pause()
        record_id = app.screen.record_id
        app.screen.query_one("#religion", Select).focus()
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert app.screen.query_one("#religion", Select).value == "KRISTEN"
        date = app.screen.query_one("#birth_date", Input)
        date.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"31-02-1990", "ctrl+s")
        await form_saved(pilot, app)
        errors = str(app.screen.query_one("#form-errors", Static).render())
        assert "31-02-1990" in errors and "DD-MM-YYYY" in errors
        assert app.store.identity(record_id).religion == "KRISTEN"  # kept although the step is not done
        await pilot.press("ctrl+a", "ctrl+k", *"18-05-1990", "ctrl+s")
        await form_saved(pilot, app)
        assert "does not match" in str(app.screen.query_one("#form-errors", Static).render())


async def test_home_shows_each_device_state_in_words(make_app: Any, accounts: Any, devices: Any) -> None:
    devices.get("pad").unplugged = True
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "siti", "rahasia123")
        await wait_for(pilot, lambda: len(app.screen.reports) == 3)
        panel = str(app.screen.query_one("#devices", Static).render())
        # devices are named by kind in the operator's words, never by the config table's name
        assert "Camera: ready" in panel
        assert "Fingerprint scanner: ready" in panel
        from kiosk.i18n import translate

        assert f"Signature pad: {translate('device.absent', device='Signature pad')}" in panel
        assert "scanner" not in panel.replace("Fingerprint scanner", "")
