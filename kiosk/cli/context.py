"""Shared start-up for subcommands: load the config, set the language, open the store."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kiosk.composition import load_station_config
from kiosk.config import Config
from kiosk.i18n import set_language, set_time_zone
from kiosk.store import RecordStore


def config_from(args: argparse.Namespace, *, attach_log: bool = True) -> Config:
    """The station config; also starts the station's log file once the data folder is known."""
    cfg = load_station_config(getattr(args, "config", None))
    if not getattr(args, "lang", None):
        set_language(cfg.station.language)
    set_time_zone(cfg.station.timezone)
    if attach_log:
        from kiosk.ops.logs import attach_station_log

        attach_station_log(cfg.station.data_dir)
    return cfg


def store_from(cfg: Config) -> RecordStore:
    return RecordStore(cfg.station.data_dir, policy=cfg.policy)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
