"""Layering is enforced: nothing below the UI imports Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import kiosk
from tests.conftest import ROOT

UI_MODULES = ("kiosk.tui", "kiosk.cli.ui", "kiosk.__main__")


def lower_modules() -> list[str]:
    names = ["device_mocks"]
    for info in pkgutil.walk_packages(kiosk.__path__, "kiosk."):
        if not info.name.startswith(UI_MODULES):
            names.append(info.name)
    import device_mocks

    names += [i.name for i in pkgutil.walk_packages(device_mocks.__path__, "device_mocks.") if not i.name.endswith("__main__")]
    return names


def test_layers_below_the_ui_never_import_textual() -> None:
    modules = lower_modules()
    assert "kiosk.store.queue" in modules and "kiosk.devices.registry" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"textual imported below the UI: {proc.stdout}"


def test_the_cli_imports_textual_only_when_the_ui_starts() -> None:
    code = "import sys, kiosk.cli; kiosk.cli.build_parser(); print('textual' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "False", proc.stderr
