"""Shared fixtures: a station config in a temporary folder, a record store, residents."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import Config, PolicyConfig, load_config
from kiosk.identity import Identity
from kiosk.nik import make_nik
from kiosk.store import RecordStore

ROOT = Path(__file__).resolve().parent.parent

BASE_CONFIG = """
[station]
id = "TEST-01"
name = "Test station"
region = "320101"
data_dir = "data"
language = "en"

[central]
url = "local"

[accounts]
file = "data/accounts.toml"
# scrypt at 2^14 keeps logins fast in tests; the default 2^17 is tested in tests/test_accounts_files.py
password_cost = 14
"""

#: a simulated station whose local central decides at once (CLI tests of sync, permits, printing)
SIMULATED_SYNC_CONFIG = """[station]
id = "CLI-01"
name = "CLI station"
region = "320101"
data_dir = "data"
language = "en"
simulated = true

[central]
url = "local"
poll_interval_s = 0.2

[central.local]
data_dir = "central"
decision_delay_s = 0.0

[accounts]
file = "data/accounts.toml"
# scrypt at 2^14 keeps logins fast in tests; the default 2^17 is tested in tests/test_accounts_files.py
password_cost = 14

[policy]
required_fingers = [1, 6]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG)
    return path


@pytest.fixture
def config(config_file: Path) -> Config:
    return load_config(config_file)


def resident(serial: int = 1, *, sex: str = "M", born: dt.date = dt.date(1990, 5, 17), district: str = "320101",
             **fields: Any) -> Identity:
    nik = make_nik(district, born, sex, serial)  # type: ignore[arg-type]
    base = dict(nik=nik, full_name=f"PENDUDUK {serial}", birth_place="BOGOR", birth_date=born, sex=sex,
                address="JL. MERDEKA NO. 1", rt="001", rw="002", village="PAKANSARI", occupation="PETANI")
    base.update(fields)
    return Identity(**base).with_region_names()  # type: ignore[arg-type]


def random_resident(rng: random.Random, serial: int) -> Identity:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 50))
    return resident(serial, sex=rng.choice("MF"), born=born)


@pytest.fixture
def lenient_policy() -> PolicyConfig:
    """A policy that needs no samples, for tests about the state machine alone."""
    return PolicyConfig(required_fingers=(), require_face=False, require_signature=False)


@pytest.fixture
def store(tmp_path: Path, lenient_policy: PolicyConfig) -> RecordStore:
    s = RecordStore(tmp_path / "station", policy=lenient_policy)
    yield s
    s.close()


def run_kiosk(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``kiosk`` command line (as ``python -m kiosk``) in a subprocess."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=cwd or ROOT, env=full_env, text=True,
                          capture_output=True, timeout=timeout, input=input)
