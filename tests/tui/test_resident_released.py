"""Issue 11 §3: what a resident's enrollment shows is released once the station is back home.

Textual starts a new screen's message loop as a task of the current context, where the screen
whose handler runs is the active message pump, and the loop keeps that screen (its context
token's old value) for as long as it runs. Home (opened by the login screen) and the kept form
(opened by the NIK step) live for the session, so they kept the login screen and the first
resident's NIK screen (with the NIK, its parsed region and the central's answer) until logout.
KioskApp.switch_screen now starts screens from the app's context.
"""

from __future__ import annotations

import gc
from typing import Any

from kiosk.nik import ParsedNik
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.login import LoginScreen
from tests.tui.test_flow import enroll, login, wait_for


def alive(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


async def enrolled_and_home(pilot: Any, app: Any, devices: Any) -> None:
    """One resident enrolled from login to queue, the station back home with no worker running."""
    await login(pilot, "siti", "rahasia123")
    await enroll(pilot, app, devices)
    await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and not app.screen.workers)
    await pilot.pause()


async def test_after_an_enrollment_neither_the_login_screen_nor_the_residents_nik_is_kept(
        make_app: Any, accounts: Any, devices: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await enrolled_and_home(pilot, app, devices)
        assert alive(LoginScreen) == 0
        # the NIK screen is kept for the session (kiosk.tui.kept: building it was the slowest key),
        # without the resident: no NIK in its box, no parsed NIK, no central's answer
        nik_screens = [o for o in gc.get_objects() if isinstance(o, NikScreen)]
        assert len(nik_screens) <= 1
        for screen in nik_screens:
            assert screen.query_one("#nik").value == "" and screen.lookup is None and screen.parsed is None
        assert alive(ParsedNik) == 0  # the resident's NIK, read into its region and birth date


async def test_after_an_enrollment_its_capture_screens_and_samples_are_released(make_app: Any, accounts: Any,
                                                                                devices: Any) -> None:
    from kiosk.capture.face_capture import FaceCapture
    from kiosk.capture.finger import FingerAssessment
    from kiosk.tui.screens.enroll_face import FaceScreen
    from kiosk.tui.screens.enroll_fingers import FingersScreen
    from kiosk.tui.screens.enroll_review import ReviewScreen
    from kiosk.tui.screens.enroll_signature import SignatureScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await enrolled_and_home(pilot, app, devices)
        kept = {kind.__name__: alive(kind) for kind in (FaceScreen, FingersScreen, SignatureScreen, ReviewScreen,
                                                         FaceCapture, FingerAssessment)}
        assert kept == dict.fromkeys(kept, 0)
