"""Issue 15 leftover: the HID signature pad's and the Evolis printer's self-test details speak the
station's language through the Worded mechanism ("139 bytes", "0 bad of 11", "ymcko 200" were
English in Indonesian mode). Run through the real `kiosk diag` on the simulated devices."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import BASE_CONFIG, run_kiosk

DEVICES = """
[devices.pad]
driver = "hid-digitizer"
mock = "hid_digitizer"

[devices.printer]
driver = "evolis"
mock = "evolis"
"""


def self_test_lines(tmp_path: Path, lang: str) -> str:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG + DEVICES)
    proc = run_kiosk("--lang", lang, "--config", str(cfg), "diag", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    word = "uji mandiri" if lang == "id" else "self-test"
    return "\n".join(line for line in proc.stdout.splitlines() if word in line)


def test_pad_and_printer_self_test_details_in_indonesian(tmp_path: Path) -> None:
    text = self_test_lines(tmp_path, "id")
    assert not re.search(r"\bbytes\b|\bbad of\b|\bready\b|\bribbon\b|\bstopped\b", text), text
    assert re.search(r"\(\d+ bita\)", text) and re.search(r"\d+ rusak dari \d+ laporan", text), text
    assert "siap (jawaban printer: OK)" in text and re.search(r"pita YMCKO, sisa \d+ panel", text), text
    # a running pen reader says so (the line read "Data pena masuk:" with nothing after it)
    assert "laporan pena terus masuk" in text, text


def test_pad_and_printer_self_test_details_in_english(tmp_path: Path) -> None:
    text = self_test_lines(tmp_path, "en")
    assert re.search(r"\(\d+ bytes\)", text) and "ready (printer's answer: OK)" in text, text
    assert not re.search(r"\bbita\b|\bsiap\b", text), text
