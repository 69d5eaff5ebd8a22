"""`kiosk records show` speaks the station's language (issue 11 §5): in Indonesian mode no label of
the English catalog and none of the former hard-coded English labels."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk.config import load_config
from kiosk.i18n import catalog
from kiosk.store import RecordStore
from tests.conftest import resident, run_kiosk

#: the labels `records show` printed before it used the catalogs
OLD_LABELS = ("created_at", "updated_at", "created_by", "full_name", "birth_place", "sample ", "exception ",
              "missing ", "approved by", "finger ")


def _record(config_file: Path) -> str:
    cfg = load_config(config_file)
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    return store.create_draft(resident(1), actor="op1").id


def _labels(language: str) -> set[str]:
    words = catalog(language)
    return {v for k, v in words.items() if k.startswith(("records.label.", "records.kind.", "tui.field."))}


def test_records_show_in_indonesian_has_no_english_label(config_file: Path) -> None:
    rid = _record(config_file)
    proc = run_kiosk("--config", str(config_file), "--lang", "id", "records", "show", rid)
    assert proc.returncode == 0, proc.stderr
    english = _labels("en") - _labels("id")  # "NIK", "RT", "iris" are the same words in both
    shown = proc.stdout
    found = [w for w in english if re.search(rf"(?m)^{re.escape(w)}\s|\b{re.escape(w)}\b", shown)]
    assert not found, shown
    assert not [w for w in OLD_LABELS if w in shown], shown
    assert "Nama lengkap" in shown and "Belum ada" in shown and "foto wajah" in shown


def test_records_show_in_english_uses_the_english_labels(config_file: Path) -> None:
    rid = _record(config_file)
    proc = run_kiosk("--config", str(config_file), "--lang", "en", "records", "show", rid)
    assert proc.returncode == 0, proc.stderr
    assert "Full name" in proc.stdout and "Missing" in proc.stdout and "face photo" in proc.stdout
