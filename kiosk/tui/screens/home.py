"""Home: station health at a glance (placeholder until the UI issue lands the full screen)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from kiosk.i18n import translate


class HomeScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="counts")
        yield Footer()

    def on_mount(self) -> None:
        counts = self.app.store.counts()  # type: ignore[attr-defined]
        lines = [f"{translate('state.' + state):14} {n:>6}" for state, n in counts.items()]
        self.query_one("#counts", Static).update("\n".join(lines))
