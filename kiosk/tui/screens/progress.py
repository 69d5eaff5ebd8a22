"""Progress: enrollments per day and the district's total against its target."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.widgets import ProgressBar, Static
from textual_plotext import PlotextPlot

from kiosk.i18n import translate
from kiosk.tui.base import KioskScreen
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.screens.home import DONE_STATES

DAYS = 14


class ProgressScreen(KioskScreen):
    KEYS = [("escape", "close", "tui.key.close")]

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="progress-total", classes="banner")
        yield ProgressBar(id="progress-bar", show_eta=False)
        yield PlotextPlot(id="progress-chart")
        yield KioskFooter(compact=True)

    def refresh_texts(self) -> None:
        store = self.kiosk.store
        today = self.kiosk.today()
        per_day = dict(store.enrolled_per_day(DAYS + 1))
        days = [today - dt.timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
        values = [per_day.get(d.isoformat(), 0) for d in days]
        counts = store.counts()
        total = sum(counts.get(s.value, 0) for s in DONE_STATES)
        target = self.kiosk.cfg.station.target
        self.query_one("#progress-total", Static).update(
            translate("tui.home.target", done=total, target=target, pct=f"{100 * total / target:.1f}") if target
            else translate("tui.progress.no_target", done=total))
        self.query_one("#progress-bar", ProgressBar).update(total=max(target, 1), progress=min(total, max(target, 1)))
        chart = self.query_one("#progress-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(len(days)))
        plt.bar(xs, values)
        # explicit ticks (every other day): plotext's automatic choice depends on the width it
        # first renders at, and crowded labels run into each other at 80 columns
        plt.xticks(xs[::2], [d.strftime("%d/%m") for d in days[::2]])
        plt.ylim(0, max([*values, 1]))
        plt.title(translate("tui.progress.title", days=DAYS))
        plt.ylabel(translate("tui.progress.per_day"))
        chart.refresh()

    def action_close(self) -> None:
        self.app.pop_screen()
