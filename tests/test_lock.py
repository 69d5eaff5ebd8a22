"""The hashed lock (requirements.lock) is what `make` installs: it must pin every dependency that
pyproject.toml names, within pyproject's range, each with hashes."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _locked() -> dict[str, tuple[str, list[str]]]:
    text = (ROOT / "requirements.lock").read_text("utf-8")
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9_.\-\[\]]+)==([^\s;\\]+)", block)
        if m:
            pins[canonicalize_name(m.group(1).split("[")[0])] = (m.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = project["dependencies"] + project["optional-dependencies"]["test"]
    return [Requirement(r) for r in names]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    pins = _locked()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name][0], prereleases=True), f"{req.name}=={pins[name][0]} is outside {req.specifier}"


def test_every_pin_carries_hashes() -> None:
    pins = _locked()
    assert len(pins) > 20
    assert all(hashes for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]


def test_dropped_dependencies_stay_out() -> None:
    """scikit-image (one photo, ~200 MB with scipy) and sqlite-utils (unused) were removed on purpose."""
    pins = _locked()
    assert "scikit-image" not in pins and "sqlite-utils" not in pins
