"""Every bad config value is one plain line naming the key, exit 2 (issue 15, "Every bad value
gets a plain line"): ranges are declared on the config dataclasses and driver Params and checked
at load, through the real command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.composition import load_station_config
from kiosk.errors import ConfigError
from tests.conftest import BASE_CONFIG, run_kiosk

ZFM = '\n[devices.fingerprint]\ndriver = "zfm"\n'
CAMERA = '\n[devices.camera]\ndriver = "opencv"\n'

#: (id, text added to or replacing part of BASE_CONFIG, the key the line must name)
BAD_VALUES = [
    ("region-letters", ('region = "320101"', 'region = "abcdef"'), "station.region"),
    ("zfm-baudrate-0", ZFM + "baudrate = 0\n", "devices.fingerprint.baudrate"),
    ("zfm-address-negative", ZFM + "address = -1\n", "devices.fingerprint.address"),
    ("zfm-address-2^40", ZFM + f"address = {2**40}\n", "devices.fingerprint.address"),
    ("zfm-packet-size-7", ZFM + "packet_size = 7\n", "devices.fingerprint.packet_size"),
    ("zfm-timeout-0", ZFM + "timeout_s = 0\n", "devices.fingerprint.timeout_s"),
    ("central-timeout-0", ('url = "local"', 'url = "local"\ntimeout_s = 0'), "central.timeout_s"),
    ("central-timeout-negative", ('url = "local"', 'url = "local"\ntimeout_s = -3.5'), "central.timeout_s"),
    ("chunk-size-0", ('url = "local"', 'url = "local"\nchunk_size = 0'), "central.chunk_size"),
    ("local-port-70000", "\n[central.local]\nport = 70000\n", "central.local.port"),
    ("fault-rate-5", "\n[central.local]\nfault_rate = 5\n", "central.local.fault_rate"),
    ("max-failures-negative", ('file = "data/accounts.toml"', 'file = "data/accounts.toml"\nmax_failures = -1'),
     "accounts.max_failures"),
    ("required-finger-11", "\n[policy]\nrequired_fingers = [11, 0, -3]\n", "policy.required_fingers[0]"),
    ("required-finger-0", "\n[policy]\nrequired_fingers = [1, 0]\n", "policy.required_fingers[1]"),
    ("retention-negative", "\n[retention]\ndays = -5\n", "retention.days"),
    ("camera-width-negative", CAMERA + "width = -640\n", "devices.camera.width"),
    ("unknown-mock", ZFM + 'mock = "no_such_mock"\n', "devices.fingerprint.mock"),
    ("quality-share", "\n[quality.face]\ncentre_tolerance = 3.0\n", "quality.face.centre_tolerance"),
    ("quality-jpeg", "\n[quality.face]\njpeg_quality = 0\n", "quality.face.jpeg_quality"),
    ("quality-nfiq", "\n[quality.finger]\nmin_nfiq2 = 101\n", "quality.finger.min_nfiq2"),
    ("checkpoint-every-0", "\n[audit]\ncheckpoint_every = 0\n", "audit.checkpoint_every"),
    ("attempts-0", "\n[policy]\nattempts_per_finger = 0\n", "policy.attempts_per_finger"),
]


def _write(tmp_path: Path, change: str | tuple[str, str]) -> Path:
    text = BASE_CONFIG.replace(*change) if isinstance(change, tuple) else BASE_CONFIG + change
    assert text != BASE_CONFIG
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("change", "key"), [pytest.param(c, k, id=i) for i, c, k in BAD_VALUES])
def test_bad_value_is_refused_at_load_naming_the_key(tmp_path: Path, change: str | tuple[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_station_config(_write(tmp_path, change))
    assert info.value.params["key"] == key


@pytest.mark.parametrize(("change", "key"), [pytest.param(c, k, id=i) for i, c, k in BAD_VALUES])
def test_bad_value_is_one_plain_line_from_the_cli(tmp_path: Path, change: str | tuple[str, str], key: str) -> None:
    path = _write(tmp_path, change)
    proc = run_kiosk("--config", str(path), "--lang", "en", "records", "list")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert key in lines[0] and "Unexpected" not in lines[0]
    assert not (tmp_path / "data").exists(), "nothing is written before the config is valid"


def test_good_values_at_the_edges_load(tmp_path: Path) -> None:
    path = _write(tmp_path, ZFM + "address = 0\npacket_size = 256\nbaudrate = 115200\n"
                  "\n[central.local]\nport = 65535\nfault_rate = 1.0\n\n[retention]\ndays = 0\n")
    cfg = load_station_config(path)
    assert cfg.central.local.port == 65535 and cfg.retention.days == 0


def test_the_line_is_in_indonesian_in_indonesian_mode(tmp_path: Path) -> None:
    path = _write(tmp_path, "\n[retention]\ndays = -5\n")
    proc = run_kiosk("--config", str(path), "--lang", "id", "records", "list")
    assert proc.returncode == 2
    assert "paling kecil 0" in proc.stderr and "retention.days" in proc.stderr


def test_a_config_symlink_loop_is_one_plain_line(tmp_path: Path) -> None:
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    proc = run_kiosk("--config", str(tmp_path / "a.toml"), "--lang", "en", "records", "list")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Unexpected" not in proc.stderr and "a.toml" in proc.stderr


def test_a_100k_deep_toml_array_is_one_plain_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    proc = run_kiosk("--config", str(path), "--lang", "en", "records", "list")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "malformed" in proc.stderr and "Unexpected" not in proc.stderr
