"""The Textual application: the station's operator and technician screens."""

from __future__ import annotations

from textual.app import App

from kiosk.config import Config
from kiosk.store import RecordStore
from kiosk.tui.screens.home import HomeScreen


class KioskApp(App[None]):
    CSS_PATH = "kiosk.tcss"
    TITLE = "Kiosk e-KTP"
    BINDINGS = [("q", "quit", "Keluar")]

    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        self.sub_title = cfg.station.name

    def on_mount(self) -> None:
        self.push_screen(HomeScreen())
