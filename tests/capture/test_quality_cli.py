"""``kiosk quality``: checks image files from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from device_mocks import faces
from device_mocks.fingerprints import FingerprintGenerator
from kiosk.cli import main


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    gen = FingerprintGenerator(3)
    files = {"good": faces.portrait(), "dark": faces.dark(faces.portrait()),
             "f1a": gen.impression(1, 0), "f1b": gen.impression(1, 1), "f2": gen.impression(2, 0)}
    out = {}
    for name, img in files.items():
        out[name] = tmp_path / f"{name}.png"
        cv2.imwrite(str(out[name]), img)
    return out


def test_face_good_frame_exits_0_and_dark_frame_exits_1_with_guidance(
        config_file: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file), "quality", "face", str(images["good"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    assert main(["--config", str(config_file), "--lang", "en", "quality", "face", str(images["dark"])]) == 1
    assert "Face is too dark" in capsys.readouterr().out


def test_finger_reports_nfiq2(config_file: Path, images: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file), "quality", "finger", str(images["f1a"]), "--position", "3",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["nfiq2"] == doc["score"] and doc["minutiae"] > 10


def test_compare_tells_same_and_different_fingers(config_file: Path, images: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    main(["--config", str(config_file), "quality", "compare", str(images["f1a"]), str(images["f1b"]), "--json"])
    assert json.loads(capsys.readouterr().out)["same_finger"] is True
    main(["--config", str(config_file), "quality", "compare", str(images["f1a"]), str(images["f2"]), "--json"])
    assert json.loads(capsys.readouterr().out)["same_finger"] is False


def test_unreadable_image_is_bad_input(config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_file), "--lang", "en", "quality", "face", str(tmp_path / "none.png")]) == 2
    assert "Cannot read image" in capsys.readouterr().err
