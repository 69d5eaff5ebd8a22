"""Snapshots of every screen at 80x24 and 120x40 (fixed clock, fixed data, fake devices)."""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable

import pytest

from kiosk.store import RecordState
from kiosk.tui.wizard import step_screen
from tests.conftest import resident
from tests.tui.test_flow import login, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
RID = "{:08d}-0000-4000-8000-000000000000"


def seed_draft(app: Any, serial: int = 7, **fields: Any) -> str:
    ident = dataclasses.replace(resident(serial), **fields)
    return app.store.create_draft(ident, actor="siti", record_id=RID.format(serial)).id


def seed_queue(app: Any) -> None:
    """Records in several states (no audit dates are shown on the queue screen)."""
    from kiosk.config import PolicyConfig

    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    for serial, path in ((11, ()), (12, ("captured",)), (13, ("captured", "queued")),
                         (14, ("captured", "queued", "submitted", "duplicate")),
                         (15, ("captured", "queued", "submitted", "approved"))):
        rid = seed_draft(app, serial)
        for state in path:
            store.transition(rid, RecordState(state), actor="siti")
    store.policy = app.cfg.policy


def before(steps: Callable[[Any, Any], Awaitable[None]], user: tuple[str, str] = ("siti", "rahasia123")) -> Any:
    async def run(pilot: Any) -> None:
        await login(pilot, *user)
        # home looks for drafts in a worker: its offer (or none) comes before the steps' keys
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ != "HomeScreen" or pilot.app.screen.drafts_checked)
        await steps(pilot, pilot.app)
        await pilot.pause(0.3)
        pilot.app.clear_notifications()
        from textual.widgets import Input

        for widget in pilot.app.screen.query(Input):  # a blinking cursor would make snapshots flaky
            widget.cursor_blink = False
        await pilot.pause(0.1)

    return run


async def nothing(pilot: Any, app: Any) -> None:
    await wait_for(pilot, lambda: len(getattr(app.screen, "reports", {"x": 1})) >= len(app.devices.names()))
    # the queue and today panels are read in a worker too
    await wait_for(pilot, lambda: getattr(app.screen, "queue", True) is not None, tries=400)


@pytest.mark.parametrize("size", SIZES)
def test_login(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_home(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=before(nothing))


@pytest.mark.parametrize("size", SIZES)
def test_home_technician_bahasa(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def steps(pilot: Any, app: Any) -> None:
        await nothing(pilot, app)
        await pilot.press("f2")

    assert snap_compare(make_app(), terminal_size=size, run_before=before(steps, ("teknisi", "rahasia789")))


@pytest.mark.parametrize("size", SIZES)
def test_resume_offer(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    app = make_app()
    seed_draft(app, 7, full_name="SITI AMINAH")
    assert snap_compare(app, terminal_size=size, run_before=before(lambda p, a: p.pause(0.2)))


@pytest.mark.parametrize("size", SIZES)
def test_nik(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def steps(pilot: Any, app: Any) -> None:
        await pilot.press("n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NikScreen")
        await pilot.press(*resident(7).nik)
        await wait_for(pilot, lambda: app.screen.parsed is not None)
        await wait_for(pilot, lambda: app.screen.lookup is not None)  # no central here: "cannot be reached"

    assert snap_compare(make_app(), terminal_size=size, run_before=before(steps))


def recorded_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The central answers that resident 7 was recorded at another station (issue 14 §2)."""
    from kiosk.dedup.nik_lookup import EarlierRecord, LookupState, NikLookup
    from kiosk.tui import dedup_services

    earlier = NikLookup(LookupState.RECORDED, (EarlierRecord("ST-KOTA-09", "320102", "2026-03-05T02:10:00+00:00",
                                                             "approved"),))
    monkeypatch.setattr(dedup_services, "ask_central_about_nik", lambda sync, nik: earlier)


async def nik_recorded_elsewhere(pilot: Any, app: Any) -> None:
    await pilot.press("n")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "NikScreen")
    await pilot.press(*resident(7).nik)
    await wait_for(pilot, lambda: app.screen.lookup is not None)


@pytest.mark.parametrize("size", SIZES)
def test_nik_recorded_elsewhere(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    recorded_elsewhere(monkeypatch)
    assert snap_compare(make_app(), terminal_size=size, run_before=before(nik_recorded_elsewhere))


@pytest.mark.parametrize("size", SIZES)
def test_deletion_request(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    recorded_elsewhere(monkeypatch)

    async def steps(pilot: Any, app: Any) -> None:
        await nik_recorded_elsewhere(pilot, app)
        await pilot.press("f6")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "DeletionRequestModal")

    assert snap_compare(make_app(), terminal_size=size, run_before=before(steps))


def wizard_at(step: str, then: Callable[[Any, Any], Awaitable[None]] | None = None) -> Any:
    async def steps(pilot: Any, app: Any) -> None:
        rid = RID.format(7)
        app.push_screen(step_screen(step, rid))
        await pilot.pause(0.2)
        # the form's identity and the review's record are read in workers: wait for them
        await wait_for(pilot, lambda: getattr(app.screen, "ident", True) is not None
                       and not (step == "review" and getattr(app.screen, "data", None) is None))
        if then is not None:
            await then(pilot, app)

    return steps


def wizard_app(make_app: Any, *, face: bool = False, fingers: bool = False, signature: bool = False) -> Any:
    from tests.tui.fakes import FakeCamera

    app = make_app()
    rid = seed_draft(app, 7, full_name="SITI AMINAH")
    store = app.store
    if face:
        frame = FakeCamera().latest.__func__  # noqa: B018 (shape reference only)
        import numpy as np

        from kiosk.tui.pictures import encode_jpeg

        img = np.full((48, 64, 3), 200, np.uint8)
        img[10:38, 22:42] = (60, 90, 160)
        store.put_sample(rid, kind="face", data=encode_jpeg(img), format="jpeg", actor="siti",
                         metadata={"report": {"modality": "face", "passed": False, "manual": True, "checks": []}})
        store.log_action("siti", "face_override", record_id=rid, reason="equipment", params={"failed": ["eyes"]})
        del frame
    if fingers:
        for pos in (1, 2):
            import numpy as np

            from kiosk.tui.pictures import encode_png

            pixels = (np.random.default_rng(pos).random((60, 50)) * 255).astype(np.uint8)
            store.put_sample(rid, kind="finger", position=pos, data=encode_png(pixels), format="image/png",
                             actor="siti", metadata={"attempts": 1})
    if signature:
        import numpy as np

        from kiosk.tui.pictures import encode_png

        store.put_sample(rid, kind="signature", data=encode_png(np.full((20, 40), 255, np.uint8)),
                         format="image/png", actor="siti")
    return app


@pytest.mark.parametrize("size", SIZES)
def test_form_with_errors(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def then(pilot: Any, app: Any) -> None:
        await pilot.press("ctrl+s")

    app = make_app()
    seed_draft(app, 7, full_name="", occupation="", rt="1A")
    assert snap_compare(app, terminal_size=size, run_before=before(wizard_at("form", then)))


@pytest.mark.parametrize("size", SIZES)
def test_face(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def then(pilot: Any, app: Any) -> None:
        # the fake camera's frontal face passes every check: auto-capture keeps it (same frame each time)
        await wait_for(pilot, lambda: app.screen.captured, tries=200)

    assert snap_compare(wizard_app(make_app), terminal_size=size, run_before=before(wizard_at("face", then)))


@pytest.mark.parametrize("size", SIZES)
def test_fingers(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def then(pilot: Any, app: Any) -> None:
        await pilot.press("c")
        await wait_for(pilot, lambda: 1 in app.screen.scores, tries=200)

    assert snap_compare(wizard_app(make_app, face=True), terminal_size=size, run_before=before(wizard_at("fingers", then)))


@pytest.mark.parametrize("size", SIZES)
def test_signature(snap_compare: Any, make_app: Any, accounts: Any, devices: Any, size: tuple[int, int]) -> None:
    async def then(pilot: Any, app: Any) -> None:
        devices.get("pad").sign()
        await wait_for(pilot, lambda: len(app.screen.points) >= 20)

    assert snap_compare(wizard_app(make_app, face=True, fingers=True), terminal_size=size,
                        run_before=before(wizard_at("signature", then)))


@pytest.mark.parametrize("size", SIZES)
def test_review(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    app = wizard_app(make_app, face=True, fingers=True, signature=False)
    assert snap_compare(app, terminal_size=size, run_before=before(wizard_at("review")))


@pytest.mark.parametrize("size", SIZES)
def test_queue(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    app = make_app()
    seed_queue(app)

    async def steps(pilot: Any, app: Any) -> None:
        if type(app.screen).__name__ == "ResumeDraftModal":
            await pilot.press("escape")
        await pilot.press("u")
        # the rows (identities and each record's step) are read in a worker
        await wait_for(pilot, lambda: type(app.screen).__name__ == "QueueScreen" and len(app.screen.rows) == 5)

    assert snap_compare(app, terminal_size=size, run_before=before(steps))


@pytest.mark.parametrize("size", SIZES)
def test_print(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    app = make_app()
    seed_queue(app)

    async def steps(pilot: Any, app: Any) -> None:
        if type(app.screen).__name__ == "ResumeDraftModal":
            await pilot.press("escape")
        await pilot.press("p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PrintScreen" and app.screen.stock is not None)
        await pilot.press("v")  # the card as it would print (kiosk.printer.layout.preview_png)
        await wait_for(pilot, lambda: app.screen.query_one("#card-preview").image is not None, tries=200)
        # the approved list, stock and preview come from workers: on a loaded machine one can still
        # be running when the preview is shown, so wait until every print worker has finished
        await wait_for(pilot, lambda: app.screen.approved and not any(
            w.group.startswith("print-") and not w.is_finished for w in app.workers), tries=400)

    assert snap_compare(app, terminal_size=size, run_before=before(steps))


@pytest.mark.parametrize("size", SIZES)
def test_diagnostics(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def steps(pilot: Any, app: Any) -> None:
        await nothing(pilot, app)  # home has opened the devices
        await pilot.press("d")
        await wait_for(pilot, lambda: len(app.screen.reports) == 3)
        await pilot.press("t")
        await wait_for(pilot, lambda: "Self-test passed" in app.screen.output)

    assert snap_compare(make_app(), terminal_size=size, run_before=before(steps, ("teknisi", "rahasia789")))


@pytest.mark.parametrize("size", SIZES)
def test_progress(snap_compare: Any, make_app: Any, accounts: Any, size: tuple[int, int]) -> None:
    async def steps(pilot: Any, app: Any) -> None:
        await pilot.press("g")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ProgressScreen")
        await wait_for(pilot, lambda: app.screen.figures is not None, tries=400)  # read in a worker
        await pilot.pause(0.3)

    assert snap_compare(make_app(), terminal_size=size, run_before=before(steps))
