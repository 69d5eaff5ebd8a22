"""The signature pads as a station builds them: config.toml tables, the registry starting the
mock and pointing the driver at its pyusb backend, the mocks runnable alone, catalog codes."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.devices.protocols import SignaturePad
from kiosk.composition import build_device, check_device_config
from kiosk.i18n import catalog
from tests.conftest import BASE_CONFIG, ROOT
from tests.devices.contract_signature import lifts, read_until

REAL_STU_TABLE = """
[devices.signature]
driver = "wacom-stu"
mock = "wacom_stu"
product_id = 0x00A8
"""


def repo_signature_table() -> str:
    """The [devices.signature] table of the repository's config.toml, and its commented STU twin."""
    text = (ROOT / "config.toml").read_text()
    start = text.index("[devices.signature]")
    end = text.find("\n[", start + 1)
    return text[start:end if end > 0 else None]


def test_repository_config_signature_table_is_valid(tmp_path: Path) -> None:
    raw = tomllib.loads((ROOT / "config.toml").read_text())["devices"]["signature"]
    assert raw["driver"] == "hid-digitizer" and raw["mock"] == "hid_digitizer"
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(BASE_CONFIG + "\n" + repo_signature_table())
    cfg = load_config(cfg_path)
    params = check_device_config(cfg.device("signature"), file=cfg_path, base=tmp_path)
    assert params.usb_backend == ""


def test_commented_wacom_example_is_a_valid_table(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text()
    block = text[text.index("# [devices.signature]"):]
    commented = list(itertools.takewhile(lambda line: line.startswith("#"), block.splitlines()))
    lines = [line[2:] for line in commented if line.startswith("# ") and not line.startswith("# # ")]
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(BASE_CONFIG + "\n" + "\n".join(lines) + "\n")
    cfg = load_config(cfg_path)
    params = check_device_config(cfg.device("signature"), file=cfg_path, base=tmp_path)
    assert params.product_id == 0x00A5 and params.inking is True


@pytest.mark.parametrize("table", ["repo", REAL_STU_TABLE], ids=["hid-digitizer", "wacom-stu"])
def test_station_builds_driver_on_its_mock_and_reads_a_stroke(tmp_path: Path, table: str) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(BASE_CONFIG + "\n" + (repo_signature_table() if table == "repo" else table))
    cfg = load_config(cfg_path)
    built = build_device(cfg, cfg.device("signature"), workdir=tmp_path)
    assert built.mock is not None and built.mock.overrides["usb_backend"].startswith("mock:")
    driver = built.driver
    assert isinstance(driver, SignaturePad)
    try:
        with driver:
            points = read_until(driver, lambda pts: lifts(pts) >= 1, timeout_s=20)
        assert points[0].tip
    finally:
        built.mock.close()


@pytest.mark.parametrize("module", ["device_mocks.hid_digitizer", "device_mocks.wacom_stu"])
def test_mock_runs_alone_and_demonstrates_the_driver(module: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", module, "--seconds", "1.5"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "#" in done.stdout and "unplugged -> device.absent" in done.stdout
    assert "replugged and reopened" in done.stdout


def test_every_code_the_signature_drivers_raise_is_in_both_catalogs() -> None:
    sources = [ROOT / "kiosk/devices" / name for name in
               ("usb/errors.py", "usb/backends.py", "usb/link.py", "usb_pen.py", "hid_digitizer.py", "wacom_stu.py", "hid_descriptor.py")]
    codes = set()
    for path in sources:
        codes |= set(re.findall(r'"((?:usb|hid|signature)\.[a-z_.]+)"', path.read_text()))
    assert len(codes) >= 15
    for language in ("id", "en"):
        missing = codes - set(catalog(language))
        assert not missing, (language, missing)
