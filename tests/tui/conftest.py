"""A station for the UI tests: temporary data, two required fingers, fixed clock, fake devices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kiosk.accounts import AccountStore, Role
from kiosk.config import Config, load_config
from kiosk.i18n import set_language
from kiosk.tui.app import KioskApp
from tests.tui.fakes import FakeDeviceSet, fake_devices

TUI_CONFIG = """
[station]
id = "TEST-01"
name = "Test station"
region = "320101"
data_dir = "data"
language = "en"
target = 1000
simulated = true

[central]
url = "local"

[accounts]
file = "data/accounts.toml"
max_failures = 3
lockout_s = 60
idle_logout_s = 120
# scrypt at 2^14 keeps logins fast in tests; the default 2^17 is tested in tests/test_accounts_files.py
password_cost = 14

[policy]
required_fingers = [1, 2]
attempts_per_finger = 2
supervisor_exceptions = ["amputated"]
"""
FIXED_TODAY = dt.date(2026, 11, 23)


class Clock:
    """A settable clock for lockout and idle tests."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def tui_config(tmp_path: Path) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(TUI_CONFIG)
    set_language("en")
    yield load_config(path)
    set_language("id")


@pytest.fixture
def devices() -> FakeDeviceSet:
    return fake_devices()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_app(tui_config: Config, devices: FakeDeviceSet, clock: Clock) -> Any:
    def make(**kw: Any) -> KioskApp:
        kw.setdefault("devices", devices)
        kw.setdefault("sync", False)  # the fault tests need no central; test_simulated_station runs one
        kw.setdefault("preload_models", False)  # loaded at the first capture instead (test_memory_day loads them)
        return KioskApp(tui_config, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY, **kw)

    return make


@pytest.fixture
def accounts(tui_config: Config) -> AccountStore:
    store = AccountStore(tui_config.accounts)
    store.add("siti", Role.OPERATOR, "rahasia123")
    store.add("budi", Role.SUPERVISOR, "rahasia456")
    store.add("teknisi", Role.TECHNICIAN, "rahasia789")
    return store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every ``async def`` test here with anyio's pytest plugin (anyio ships with httpx)."""
    import inspect

    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.add_marker(pytest.mark.anyio)
