"""The message catalogs: both languages have the same keys, and every code used in kiosk/ exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from kiosk.i18n import LANGUAGES, catalog

ROOT = Path(__file__).resolve().parent.parent
#: translate("a.b") / translate('a.b') with a literal, complete code (no trailing dot: those are prefixes)
LITERAL_CALL = re.compile(r"""\btranslate\(\s*(["'])([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\1""")
#: codes listed in KEYS tables and reason/title codes: "tui.xxx.yyy" string literals
TUI_LITERAL = re.compile(r"""["'](tui\.[a-z0-9_]+(?:\.[A-Za-z0-9_]+)+)["']""")


def source_codes() -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / "kiosk").rglob("*.py"):
        text = path.read_text("utf-8")
        for m in LITERAL_CALL.finditer(text):
            found.add((str(path.relative_to(ROOT)), m.group(2)))
        for m in TUI_LITERAL.finditer(text):
            found.add((str(path.relative_to(ROOT)), m.group(1)))
    return found


def test_every_language_has_the_same_keys() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(keys[other] - keys[lang])
            assert not missing, f"{lang} lacks {missing[:20]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_used_in_the_sources_is_in_the_catalog(lang: str) -> None:
    known = catalog(lang)
    # a prefix such as "tui.face.reason" (used with a suffix at run time) counts when keys start with it
    missing = sorted((f, c) for f, c in source_codes()
                     if c not in known and not any(k.startswith(c + ".") for k in known))
    assert not missing, f"codes used but not in the {lang} catalog: {missing}"


def test_the_scan_finds_the_codes_of_the_ui() -> None:
    codes = {c for _, c in source_codes()}
    assert {"tui.key.enroll", "tui.nik.valid", "accounts.cli.added"} <= codes


def test_placeholders_agree_between_languages() -> None:
    fmt = string.Formatter()
    en, ident = catalog("en"), catalog("id")
    for key in en:
        a = {f for _, f, _, _ in fmt.parse(en[key]) if f}
        b = {f for _, f, _, _ in fmt.parse(ident[key]) if f}
        assert a == b, f"{key}: en uses {sorted(a)}, id uses {sorted(b)}"


def test_dynamic_codes_of_the_ui_exist() -> None:
    """Codes built at run time (state names, finger names, device states, reasons) are all present."""
    from kiosk.devices.base import DeviceState
    from kiosk.store import RecordState
    from kiosk.tui.screens.enroll_face import OVERRIDE_REASONS
    from kiosk.tui.screens.enroll_fingers import EXCEPTION_REASONS
    from kiosk.tui.wizard import STEPS

    for lang in LANGUAGES:
        known = catalog(lang)
        wanted = [f"tui.finger.{p}" for p in range(0, 11)]
        wanted += [f"tui.device.state.{s.value}" for s in DeviceState]
        wanted += [f"state.{s.value}" for s in RecordState]
        wanted += [f"tui.face.reason.{r}" for r in OVERRIDE_REASONS]
        wanted += [f"tui.fingers.reason.{r}" for r in EXCEPTION_REASONS]
        wanted += [f"tui.step.{s}" for s in ("nik", *STEPS)]
        wanted += [f"tui.net.{s}" for s in ("unknown", "online", "degraded", "offline")]
        wanted += [f"tui.queue.decision.{d}" for d in ("approved", "rejected", "duplicate")]
        wanted += [f"tui.queue.deletion.{d}" for d in ("to_send", "sent", "done", "refused")]
        wanted += [f"tui.kind.{k}" for k in ("fingerprint", "camera", "signature", "printer")]
        wanted += [f"tui.feature.{f}" for f in ("driver", "sync", "no_camera", "no_scanner", "no_pad", "no_printer")]
        wanted += [f"accounts.role.{r}" for r in ("operator", "supervisor", "technician")]
        assert not [w for w in wanted if w not in known], lang


def test_stored_times_are_shown_in_the_station_time_zone() -> None:
    """The station stores UTC ("...T07:21:09.229+00:00"); an operator in WIB read 07:21 for 14:21
    (the UTC time sliced out of the stamp). The zone is the config's, not the machine's (often UTC)."""
    from kiosk.i18n import local_time, set_time_zone

    assert local_time("2026-12-02T07:21:09.229+00:00") == "2026-12-02 14:21:09"  # WIB unless told
    assert local_time("2026-12-02T23:30:00+00:00", seconds=False) == "2026-12-03 06:30"
    set_time_zone("Asia/Jayapura")  # WIT, UTC+9
    try:
        assert local_time("2026-12-02T07:21:09.229+00:00") == "2026-12-02 16:21:09"
    finally:
        set_time_zone("Asia/Jakarta")
    assert local_time(None) == "" and local_time("") == ""
    assert local_time("not a time") == "not a time"


def test_an_unknown_time_zone_is_refused_at_load(tmp_path: Path) -> None:
    from kiosk.config import load_config
    from kiosk.errors import ConfigError
    from tests.conftest import BASE_CONFIG

    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.replace("[station]\n", '[station]\ntimezone = "Asia/Bogor"\n', 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.code == "config.shape.timezone" and err.value.params["key"] == "station.timezone"


def test_database_errors_are_told_in_words_not_as_unexpected() -> None:
    """The home screen's network panel said "Kesalahan tak terduga (OperationalError)" when the
    station's database failed under it: a disk full, a busy or a damaged database is a field
    condition with its own plain line, in each language."""
    import sqlite3

    from kiosk.i18n import describe, translate

    cases = {"database or disk is full": "store.disk_full", "database is locked": "store.busy",
             "disk I/O error": "store.unreadable"}
    for message, code in cases.items():
        for lang in ("id", "en"):
            words = describe(sqlite3.OperationalError(message), lang)
            assert words == translate(code, lang) and "OperationalError" not in words
    assert describe(sqlite3.DatabaseError("database disk image is malformed"), "id") == translate("store.unreadable", "id")
