"""Config loading: typed, frozen, refused with one line naming file, key and expectation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kiosk.composition import load_station_config
from kiosk.config import DEFAULT_CONFIG, load_config
from kiosk.errors import ConfigError
from kiosk.i18n import describe
from tests.conftest import BASE_CONFIG, run_kiosk


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "station.toml"
    p.write_text(text)
    return p


def test_shipped_config_loads_as_simulated_station() -> None:
    cfg = load_config(DEFAULT_CONFIG)
    assert cfg.station.simulated is True
    assert cfg.central.url == "local"
    assert cfg.station.data_dir == (DEFAULT_CONFIG.parent / "var/station").resolve()


def test_config_objects_are_frozen(config_file: Path) -> None:
    cfg = load_config(config_file)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.station.id = "X"  # type: ignore[misc]


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "copy"
    sub.mkdir()
    cfg = load_config(write(sub, BASE_CONFIG))
    assert cfg.station.data_dir == sub / "data"
    assert cfg.accounts.file == sub / "data" / "accounts.toml"


def test_wrong_type_names_file_key_and_expected(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('language = "en"', 'language = "en"\ntarget = "many"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.params["key"] == "station.target"
    assert info.value.params["expected"] == "an integer"
    text = describe(info.value, "en")
    assert str(path) in text and "station.target" in text and "an integer" in text


def test_bool_is_not_accepted_as_integer(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('language = "en"', 'language = "en"\ntarget = true'))
    with pytest.raises(ConfigError):
        load_config(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG + "\n[policy]\nrequired_fingerz = [1]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "config.unknown_key"
    assert info.value.params["key"] == "policy.required_fingerz"


def test_missing_value_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('region = "320101"\n', ""))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "config.missing_key"
    assert info.value.params["key"] == "station.region"


def test_literal_choice_is_checked(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('language = "en"', 'language = "fr"'))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "'id' or 'en'" in info.value.params["expected"]


def test_list_items_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG + '\n[policy]\nrequired_fingers = [1, "two"]\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.params["key"] == "policy.required_fingers[1]"


def test_corrupted_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[station\nid = ")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "config.syntax"


def test_binary_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code in ("config.unreadable", "config.syntax")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.code == "config.not_found"


def test_unknown_driver_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG + '\n[devices.fingerprint]\ndriver = "no-such"\n')
    with pytest.raises(ConfigError) as info:
        load_station_config(path)
    assert info.value.code == "config.unknown_driver"
    assert info.value.params["key"] == "devices.fingerprint.driver"


def test_kiosk_config_env_picks_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('id = "TEST-01"', 'id = "ENV-STATION"'))
    monkeypatch.setenv("KIOSK_CONFIG", str(path))
    assert load_config().station.id == "ENV-STATION"


def test_cli_reports_a_bad_config_in_one_line_without_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG.replace('language = "en"', 'language = "en"\ntarget = "many"'))
    proc = run_kiosk("--config", str(path), "records", "list")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "station.target" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_kiosk_config_env_is_used(tmp_path: Path) -> None:
    path = write(tmp_path, BASE_CONFIG)
    proc = run_kiosk("records", "list", "--json", env={"KIOSK_CONFIG": str(path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert (tmp_path / "data" / "station.db").exists()


def test_the_shipped_config_documents_every_key_the_station_reads() -> None:
    """A deployer learns the keys from config.toml ("each key is documented in the shipped config"):
    [central] ca_file and allow_plain_http, which a real station needs for https, were missing."""
    import dataclasses
    import tomllib
    import typing

    from kiosk.config import Config

    raw = tomllib.loads((Path(__file__).resolve().parents[1] / "config.toml").read_text())
    missing: list[str] = []

    def walk(cls: type, table: dict[str, object], prefix: str) -> None:
        hints = typing.get_type_hints(cls, include_extras=True)
        for f in dataclasses.fields(cls):
            if cls is Config and f.name == "path":  # where the file was read from, not a key
                continue
            kind = hints[f.name]
            if f.name not in table:
                missing.append(prefix + f.name)
            elif dataclasses.is_dataclass(kind):
                walk(kind, table[f.name], f"{prefix}{f.name}.")  # type: ignore[arg-type]

    walk(Config, raw, "")
    assert missing == []
