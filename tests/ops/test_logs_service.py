"""The station log under a service manager (issue 15, "Logs and the service"): library lines
(httpx) reach it through the PII filter, the journal gets plain lines with priorities when
stderr is the journal's stream, and logins and refusals are logged without names."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.accounts import AccountStore, LoginFailed, Role
from kiosk.config import AccountsConfig
from kiosk.ops.logs import attach_station_log, configure_console, detach_station_logs
from tests.conftest import ROOT

NIK = "3201011705900001"


@pytest.fixture
def station_log(tmp_path: Path) -> Iterator[Path]:
    configure_console(False)
    path = attach_station_log(tmp_path / "station", max_bytes=200_000)
    yield path
    detach_station_logs()


def entries(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_library_lines_reach_the_station_log_redacted(station_log: Path) -> None:
    logging.getLogger("httpx").info('HTTP Request: GET http://central/records?nik=%s "HTTP/1.1 200 OK"', NIK)
    found = [e for e in entries(station_log) if e["logger"] == "httpx"]
    assert len(found) == 1 and NIK not in found[0]["msg"] and "[nik]" in found[0]["msg"]


def test_library_debug_chatter_stays_out(station_log: Path) -> None:
    logging.getLogger("httpcore.connection").debug("connect_tcp.started host='central'")
    assert not [e for e in entries(station_log) if e["logger"].startswith("httpcore")]


def test_logins_and_refusals_are_logged_without_the_name(station_log: Path, tmp_path: Path) -> None:
    store = AccountStore(AccountsConfig(file=tmp_path / "acc.toml", password_cost=14))
    store.add("sitiaminah", Role.OPERATOR, "rahasia123")
    store.authenticate("sitiaminah", "rahasia123")
    for name in ("sitiaminah", "nobodyhere"):
        with pytest.raises(LoginFailed):
            store.authenticate(name, "wrong-password")
    text = station_log.read_text()
    got = [(e["msg"], e.get("role") or e.get("reason")) for e in entries(station_log) if e["logger"] == "kiosk.accounts"]
    assert got == [("login", "operator"), ("login refused", "failed"), ("login refused", "failed")]
    assert "sitiaminah" not in text and "nobodyhere" not in text


JOURNAL_CHILD = """
import logging, os, sys
st = os.fstat(2)
os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
from kiosk.ops.logs import configure_console
configure_console(False)
logging.getLogger("kiosk.devices.health").error("device lost", extra={"device": "sidik-jari", "nik": "%s"})
logging.getLogger("httpx").info("HTTP Request: POST http://central/uploads 201")
logging.getLogger("kiosk.x").debug("not for the journal")
"""


def test_under_systemd_the_journal_gets_plain_prioritised_lines() -> None:
    proc = subprocess.run([sys.executable, "-c", JOURNAL_CHILD % NIK], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("<3>kiosk.devices.health: device lost") and "device=sidik-jari" in lines[0]
    assert NIK not in proc.stderr
    assert lines[1].startswith("<6>httpx: HTTP Request: POST")
    assert len(lines) == 2


def test_without_the_journal_and_without_verbose_stderr_stays_quiet() -> None:
    child = JOURNAL_CHILD.replace('os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"',
                                  'os.environ.pop("JOURNAL_STREAM", None)')
    proc = subprocess.run([sys.executable, "-c", child % NIK], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stderr == ""
