"""A refused signature's reason stays on the screen until the operator acts (Ctrl+R clears, Ctrl+A
checks again): the pad's next pen report (a pen lifted, a hover) must not wipe it before it is read."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from tests.tui.test_flow import wait_for
from tests.tui.test_signature_backlog import open_signature_step

TOO_FEW = "signature is too short"


def status(app: Any) -> str:
    return " ".join(str(app.screen.query_one("#sig-status", Static).render()).split())


async def test_the_reason_of_a_refused_signature_outlives_the_next_pen_reports(make_app: Any, accounts: Any,
                                                                                 devices: Any) -> None:
    pad = devices.get("pad")
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_signature_step(pilot, app)
        await wait_for(pilot, lambda: pad.discards > 0)
        pad.sign(5)  # too few points for a signature
        await wait_for(pilot, lambda: len(app.screen.points) == 5)
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: TOO_FEW in status(app))
        pad.sign(3, start=100.0)  # the pen goes on reporting after the refusal
        await wait_for(pilot, lambda: len(app.screen.points) == 8 and not app.screen.ink.behind)
        assert TOO_FEW in status(app)
        await pilot.press("ctrl+r")  # the operator acts: a new signature, the old reason goes
        await wait_for(pilot, lambda: TOO_FEW not in status(app))
