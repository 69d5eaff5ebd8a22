"""Progress: enrollments per day and the district's total against its target."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual_plotext import PlotextPlot

from kiosk.i18n import station_zone, translate
from kiosk.tui.base import KioskScreen
from kiosk.tui.chrome import KioskFooter, KioskHeader
from kiosk.tui.screens.home import recorded_total, target_line

DAYS = 14


@dataclass
class ProgressFigures(Message):
    """Read in a worker: the last DAYS days' recordings (oldest first) and the district's total."""
    days: list[dt.date]
    per_day: list[int]
    total: int


class ProgressScreen(KioskScreen):
    KEYS = [("escape", "close", "tui.key.close")]

    def __init__(self) -> None:
        super().__init__()
        self.figures: ProgressFigures | None = None

    def compose(self) -> ComposeResult:
        yield KioskHeader()
        yield Static(id="progress-total", classes="banner")
        yield ProgressBar(id="progress-bar", show_eta=False)
        yield PlotextPlot(id="progress-chart")
        yield KioskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.load_figures()

    @work(thread=True, exclusive=True, group="progress-figures")
    def load_figures(self) -> None:
        store = self.kiosk.store
        today = self.kiosk.today()
        per_day = dict(store.enrolled_per_day(DAYS + 1, station_zone()))
        days = [today - dt.timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
        counts = store.counts()
        self.post_message(ProgressFigures(days, [per_day.get(d.isoformat(), 0) for d in days],
                                          recorded_total(counts)))

    def on_progress_figures(self, msg: ProgressFigures) -> None:
        self.figures = msg
        self.refresh_texts()

    def refresh_texts(self) -> None:
        figures = self.figures
        if figures is None:
            self.query_one("#progress-total", Static).update(translate("tui.home.asking"))
            return
        target = self.kiosk.cfg.station.target
        self.query_one("#progress-total", Static).update(target_line(figures.total, target))
        self.query_one("#progress-bar", ProgressBar).update(total=max(target, 1),
                                                            progress=min(figures.total, max(target, 1)))
        chart = self.query_one("#progress-chart", PlotextPlot)
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        xs = list(range(len(figures.days)))
        plt.bar(xs, figures.per_day)
        # explicit ticks (every other day): plotext's automatic choice depends on the width it
        # first renders at, and crowded labels run into each other at 80 columns
        plt.xticks(xs[::2], [d.strftime("%d/%m") for d in figures.days[::2]])
        # recordings are whole numbers: integer ticks (plotext's own read 0.17, 0.33 ... for a
        # quiet fortnight)
        top = max([*figures.per_day, 1])
        step = max(1, -(-top // 5))
        plt.ylim(0, top)
        plt.yticks(list(range(0, top + 1, step)))
        plt.title(translate("tui.progress.title", days=DAYS))
        plt.ylabel(translate("tui.progress.per_day"))
        chart.refresh()

    def action_close(self) -> None:
        self.app.pop_screen()
