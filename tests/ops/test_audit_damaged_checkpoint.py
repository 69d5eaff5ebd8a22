"""A checkpoint row edited into something that is not a number is a named finding of
`kiosk audit verify`, not a crash (issue 15, "Every bad value gets a plain line")."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from kiosk.ops.audit import EXIT_CODES
from kiosk.store import RecordStore
from tests.conftest import run_kiosk


@pytest.mark.parametrize(("column", "value"), [("entries", "many"), ("prev", "x"), ("entries", "12abc")])
def test_checkpoint_with_text_in_a_number_column_is_a_signature_finding(
        history: RecordStore, station: Path, config_file: Path, column: str, value: object) -> None:
    conn = sqlite3.connect(station / "station.db", isolation_level=None)
    seq = conn.execute("SELECT MAX(seq) FROM audit_checkpoints").fetchone()[0]
    conn.execute(f"UPDATE audit_checkpoints SET {column} = ? WHERE seq = ?", (value, seq))
    conn.close()
    out = run_kiosk("--config", str(config_file), "audit", "verify", "--json")
    assert out.returncode == EXIT_CODES["signature"], out.stderr
    report = json.loads(out.stdout)
    assert {"kind": "signature", "seq": seq} .items() <= report["findings"][0].items()
    text = run_kiosk("--config", str(config_file), "--lang", "en", "audit", "verify")
    assert "Unexpected" not in text.stdout + text.stderr and text.returncode == EXIT_CODES["signature"]
