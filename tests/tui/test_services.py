"""The UI wired to the real capture checks, storage, sync state and card preview."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from device_mocks.faces import portrait
from kiosk.i18n import translate
from kiosk.tui import services
from kiosk.tui.screens.enroll_fingers import MARK_FLAGGED
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.screens.queue import decision_words
from kiosk.tui.wizard import step_screen
from tests.conftest import resident
from tests.tui.test_flow import NIK, login, wait_for


async def start_step(pilot: Any, app: Any, step: str) -> str:
    await login(pilot, "siti", "rahasia123")
    await pilot.press("n", *NIK, "enter")
    await pilot.pause()
    record_id = app.screen.record_id
    app.switch_screen(step_screen(step, record_id))
    await pilot.pause()
    return str(record_id)


async def test_failing_face_checks_are_instructions_and_a_manual_override_records_them(
        make_app: Any, accounts: Any, devices: Any) -> None:
    devices.get("camera").image = portrait(scale=1.0)  # the resident sits too far away
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id = await start_step(pilot, app, "face")
        await wait_for(pilot, lambda: app.screen.checks is not None, tries=200)
        guide = str(app.screen.query_one("#face-guide", Static).render())
        failed = [c for c in app.screen.checks if not c.passed]
        assert "head_size" in [c.name for c in failed]
        assert translate(failed[0].code, **failed[0].params) in guide  # the failing check, as an instruction
        assert not app.screen.captured  # no auto-capture while a check fails
        await pilot.press("m")
        await pilot.pause()
        await pilot.press("enter")  # first reason: medical
        await wait_for(pilot, lambda: app.screen.captured)
        face = next(s for s in app.store.samples(record_id) if s.kind == "face")
        assert face.metadata["report"]["manual"] is True and not face.metadata["report"]["passed"]
        override = [e for e in app.store.audit(record_id) if e.action == "face_override"]
        assert override[-1].reason == "medical" and "head_size" in override[-1].params["failed"]


async def test_nfiq2_is_shown_and_a_repeated_finger_is_flagged_for_recapture(
        make_app: Any, accounts: Any, devices: Any) -> None:
    scanner = devices.get("scanner")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id = await start_step(pilot, app, "fingers")
        for position, offset in ((1, 0), (2, -1)):  # the resident puts the right thumb down twice
            scanner.finger_offset = offset
            await pilot.press("c")
            await wait_for(pilot, lambda: position in app.screen.scores, tries=200)
        app.screen.current = 1
        app.screen.refresh_texts()
        status = str(app.screen.query_one("#finger-status", Static).render())
        assert translate("tui.fingers.nfiq2", score=f"{app.screen.scores[1]:.0f}") in status
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.flagged, tries=200)
        assert app.screen.flagged == {1, 2} and app.screen.mark(2) == MARK_FLAGGED
        assert app.store.audit(record_id)[-1].action == "wrong_finger"
        scanner.finger_offset = 0
        for position in (1, 2):
            assert app.screen.current == position
            await pilot.press("c")
            await wait_for(pilot, lambda: position not in app.screen.flagged, tries=200)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, SignatureScreen), tries=200)


def test_network_state_without_a_running_worker_reads_the_queue(store: Any) -> None:
    store.create_draft(resident(3), actor="t")
    state = services.network_state(store, None)
    assert state.state == "unknown" and state.upload_progress is None and state.last_sync is None


def test_card_preview_is_a_png_of_the_record(store: Any) -> None:
    import cv2

    rec = store.create_draft(resident(4), actor="t")
    ok, jpeg = cv2.imencode(".jpg", portrait())
    store.put_sample(rec.id, kind="face", data=jpeg.tobytes(), format="jpeg", actor="t")
    png = services.card_preview(store, rec.id, width=254)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_duplicate_decision_names_where_the_resident_is_recorded() -> None:
    text = decision_words({"decision": "duplicate", "duplicate_of": {"record_id": "abcdef0123456789",
                                                                     "station_id": "SIM-9", "region": "320102"},
                           "reason": None, "deletion": "sent"})
    assert "abcdef01" in text and "SIM-9" in text and translate("tui.queue.deletion.sent") in text
    assert decision_words({}) == translate("tui.queue.no_decision")


def test_network_state_of_a_running_worker_carries_its_upload_progress(store: Any) -> None:
    from types import SimpleNamespace

    from kiosk.sync.worker import NetworkStatus, SyncProgress
    from kiosk.tui.messages import NetworkReport
    from kiosk.tui.screens.home import network_lines

    net = NetworkStatus("degraded", "2026-11-23T10:00:00+00:00", "central.timeout", 1, "2026-11-23T10:00:05+00:00")
    progress = SyncProgress("upload", 1, 3, 300 * 1024, 0, net, "r1")
    sync = SimpleNamespace(worker=SimpleNamespace(network=lambda: net), progress=lambda: progress)
    state = services.network_state(store, sync)  # type: ignore[arg-type]
    assert (state.state, state.upload_progress, state.bytes_sent) == ("degraded", (1, 3), 300 * 1024)
    lines = network_lines(NetworkReport(state))
    assert translate("tui.net.degraded") in lines
    assert translate("tui.net.uploading", done=1, total=3, kib="300") in lines
    assert any("2026-11-23 17:00:00" in line for line in lines)  # 10:00 UTC in the station's WIB
