"""Structured logs: JSON lines, rotation, private files, PII redacted, --verbose on stderr."""

from __future__ import annotations

import json
import re
import logging
import stat
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.ops.logs import attach_station_log, configure_console, detach_station_logs, redact_text
from tests.conftest import run_kiosk

NIK = "3201011705900001"


@pytest.fixture
def station_log(tmp_path: Path) -> Iterator[Path]:
    configure_console(False)
    path = attach_station_log(tmp_path, max_bytes=2000, backups=2)
    yield path
    detach_station_logs()


def lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_are_json_lines_with_extra_fields(station_log: Path) -> None:
    logging.getLogger("kiosk.test").info("queued %d records", 3, extra={"record_id": "abc", "bytes": 12})
    (entry,) = lines(station_log)
    assert entry["msg"] == "queued 3 records" and entry["level"] == "info" and entry["logger"] == "kiosk.test"
    assert entry["record_id"] == "abc" and entry["bytes"] == 12 and entry["ts"].endswith("+00:00")


def test_sixteen_digit_numbers_are_masked_everywhere(station_log: Path) -> None:
    log = logging.getLogger("kiosk.test")
    log.warning("duplicate NIK %s", NIK, extra={"detail": f"nik={NIK}", "numbers": [int(NIK)]})
    try:
        raise ValueError(f"bad {NIK}")
    except ValueError:
        log.exception("failed for %s", NIK)
    text = station_log.read_text()
    assert NIK not in text and text.count("[nik]") >= 4
    entries = lines(station_log)
    assert entries[0]["detail"] == "nik=[nik]" and entries[0]["numbers"] == ["[nik]"]
    assert "ValueError: bad [nik]" in entries[1]["exc"]


def test_known_pii_fields_are_replaced_whole(station_log: Path) -> None:
    logging.getLogger("kiosk.test").info("edited", extra={"full_name": "SITI AMINAH", "address": "JL. MAWAR 3",
                                                          "password": "hunter22", "fields": {"birth_place": "BOGOR"}})
    (entry,) = lines(station_log)
    assert entry["full_name"] == entry["address"] == entry["password"] == "[redacted]"
    assert entry["fields"] == {"birth_place": "[redacted]"}
    assert "SITI" not in station_log.read_text() and "BOGOR" not in station_log.read_text()


def test_log_rotates_and_every_file_is_private(station_log: Path) -> None:
    log = logging.getLogger("kiosk.test")
    for i in range(200):
        log.info("line %d", i, extra={"pad": "x" * 50})
    files = sorted(station_log.parent.glob("kiosk.log*"))
    assert [f.name for f in files] == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert stat.S_IMODE(station_log.parent.stat().st_mode) == 0o700
    assert all(f.stat().st_size <= 2000 for f in files)


def test_attaching_twice_does_not_duplicate_lines(station_log: Path) -> None:
    attach_station_log(station_log.parent.parent)
    logging.getLogger("kiosk.test").info("once")
    assert len(lines(station_log)) == 1


@given(st.text(alphabet="0123456789 -/abc", max_size=60))
def test_redaction_leaves_no_run_of_16_digits(text: str) -> None:
    out = redact_text(text)
    assert not re.search(r"\d{16}", out)
    if not re.search(r"\d{16}", text):
        assert out == text  # shorter numbers (dates, counts, ids) are left alone


def test_verbose_shows_the_log_on_stderr_and_quiet_does_not(tmp_path: Path, config_file: Path) -> None:
    loud = run_kiosk("--verbose", "--config", str(config_file), "purge", "--dry-run")
    assert loud.returncode == 0, loud.stderr
    records = [json.loads(line) for line in loud.stderr.splitlines() if line.startswith("{")]
    assert records and all("level" in r and "msg" in r for r in records)
    quiet = run_kiosk("--config", str(config_file), "purge", "--dry-run")
    assert quiet.returncode == 0 and quiet.stderr == ""
    # either way the station's log file received the records
    assert (tmp_path / "data" / "logs" / "kiosk.log").stat().st_size > 0
