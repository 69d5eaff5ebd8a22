"""The composition root (issue 11 §1): the simulation is wired in one place, and the config,
the quality thresholds and the device registry no longer import each other in a circle."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import composition
from kiosk.station import Station
from tests.conftest import ROOT, SIMULATED_SYNC_CONFIG

ONCE_CIRCULAR = ["kiosk.config", "kiosk.capture.thresholds", "kiosk.devices.registry", "kiosk.composition",
                 "kiosk.station", "kiosk.typed_tables"]


@pytest.mark.parametrize("module", ONCE_CIRCULAR)
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_config_imports_nothing_from_devices_capture_or_mocks() -> None:
    # loading a config too: the circle used to be closed by imports inside load_config
    code = ("import sys, kiosk.config\n"
            f"kiosk.config.load_config({str(ROOT / 'config.toml')!r})\n"
            "print(sorted(m for m in sys.modules if m.startswith(('kiosk.devices', 'kiosk.capture', "
            "'device_mocks', 'kiosk.printer', 'kiosk.composition'))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("path", ["kiosk/config.py", "kiosk/capture/thresholds.py", "kiosk/devices/registry.py"])
def test_the_once_circular_modules_import_no_higher_layer_anywhere(path: str) -> None:
    imported: list[str] = []
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
        elif isinstance(node, ast.Import):
            imported += [a.name for a in node.names]
    forbidden = {"kiosk/config.py": ("kiosk.devices", "kiosk.capture", "device_mocks", "kiosk.printer"),
                 "kiosk/capture/thresholds.py": ("kiosk.devices", "device_mocks"),
                 "kiosk/devices/registry.py": ("kiosk.capture", "device_mocks", "kiosk.printer")}[path]
    assert not [m for m in imported if m.startswith(forbidden)]


def _string_literals(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


@pytest.mark.parametrize("path", ["kiosk/config.py", "kiosk/devices/registry.py"])
def test_only_the_composition_root_names_mocks_and_printer_modules(path: str) -> None:
    # docstrings may mention them; no code string may name a module to import
    code_strings = [s for s in _string_literals(ROOT / path) if "\n" not in s]
    assert not [s for s in code_strings if s.startswith(("device_mocks", "kiosk.printer"))]


def test_every_mock_and_driver_target_exists() -> None:
    for spec in [*composition.MOCKS.values(), *composition.DRIVERS.values()]:
        module, _, attr = spec.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), spec


def test_station_load_starts_and_stops_the_mocks(tmp_path: Path) -> None:
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(SIMULATED_SYNC_CONFIG + '\n[devices.fingerprint]\ndriver = "zfm"\nmock = "zfm"\n')
    with Station.load(cfg_path) as station:
        scanner = station.devices.get("fingerprint")
        port = scanner.params.port  # type: ignore[attr-defined]
        assert port != "/dev/ttyUSB0"  # pointed at the running mock
        scanner.open()
        assert scanner.info().model
    assert not scanner.is_open
