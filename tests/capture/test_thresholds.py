"""[quality] config tables: defaults, overrides, refusal of unknown keys and wrong types."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.capture.thresholds import QualityThresholds, quality_thresholds, thresholds_from_mapping
from kiosk.composition import load_station_config as load_config
from kiosk.config import load_config as load_typed_config
from kiosk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_missing_table_gives_standard_defaults() -> None:
    th = thresholds_from_mapping({})
    assert th == QualityThresholds()
    assert th.face.max_roll_deg == 8.0 and th.face.min_eye_distance_px == 60.0
    assert th.finger.ppi == 500


def test_overrides_are_applied(tmp_path: Path) -> None:
    th = thresholds_from_mapping({"face": {"auto_capture_frames": 9}, "finger": {"min_nfiq2": 40}})
    assert th.face.auto_capture_frames == 9 and th.finger.min_nfiq2 == 40
    assert th.signature.dpi == 300


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ConfigError) as err:
        thresholds_from_mapping({"face": {"min_smile": 1}})
    assert err.value.code == "config.unknown_key" and err.value.params["key"] == "quality.face.min_smile"
    with pytest.raises(ConfigError):
        thresholds_from_mapping({"iris": {}})


def test_wrong_type_and_bad_format_are_refused() -> None:
    with pytest.raises(ConfigError) as err:
        thresholds_from_mapping({"finger": {"min_nfiq2": "high"}})
    assert err.value.params["key"] == "quality.finger.min_nfiq2"
    with pytest.raises(ConfigError):
        thresholds_from_mapping({"face": {"token_format": "gif"}})
    with pytest.raises(ConfigError):
        thresholds_from_mapping({"finger": {"image_format": "bmp"}})


def test_shipped_config_quality_tables_load_and_match_defaults() -> None:
    cfg = load_typed_config(ROOT / "config.toml")
    assert set(cfg.quality) == {"face", "finger", "signature"}
    # every key is written out in config.toml with the default value
    th = quality_thresholds(cfg)
    assert th == QualityThresholds()
    assert set(cfg.quality["face"]) == set(QualityThresholds().face.__dataclass_fields__)
    assert set(cfg.quality["finger"]) == set(QualityThresholds().finger.__dataclass_fields__)
    assert set(cfg.quality["signature"]) == set(QualityThresholds().signature.__dataclass_fields__)


def test_load_config_refuses_unknown_quality_key(config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + "\n[quality.finger]\nmin_nfiq = 40\n")
    with pytest.raises(ConfigError) as err:
        load_config(config_file)
    assert err.value.params["key"] == "quality.finger.min_nfiq"


def test_load_config_accepts_quality_overrides(config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + "\n[quality.finger]\nmin_nfiq2 = 40\n")
    assert quality_thresholds(load_config(config_file)).finger.min_nfiq2 == 40
