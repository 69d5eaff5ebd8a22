"""Every guidance code the capture checks can emit has words in both languages; capture
never imports textual."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kiosk.capture.finger import FingerPosition
from kiosk.capture.finger_exceptions import ExceptionReason
from kiosk.i18n import catalog

CAPTURE = Path(__file__).resolve().parents[2] / "kiosk" / "capture"


def _codes_in_source() -> set[str]:
    codes = set()
    for path in CAPTURE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if re.fullmatch(r"(face|finger|signature|capture)\.[a-z_0-9.]*[a-z0-9]", node.value):
                    codes.add(node.value)
            if isinstance(node, ast.JoinedStr):  # f"face.shadow_{side}"
                head = node.values[0]
                if isinstance(head, ast.Constant) and str(head.value).startswith("face.shadow_"):
                    codes |= {"face.shadow_left", "face.shadow_right"}
    return codes


def test_all_codes_are_in_both_catalogs() -> None:
    codes = _codes_in_source()
    codes |= {p.code for p in FingerPosition} | {r.code for r in ExceptionReason}
    assert len(codes) > 40
    for lang in ("id", "en"):
        missing = sorted(c for c in codes if c not in catalog(lang))
        assert not missing, (lang, missing)


def test_check_names_have_labels() -> None:
    from device_mocks import faces
    from kiosk.capture.face import analyze_face

    for c in analyze_face(faces.portrait()).report.checks:
        assert f"face.check.{c.name}" in catalog("id")


def test_capture_does_not_import_textual() -> None:
    for path in CAPTURE.glob("*.py"):
        assert "textual" not in path.read_text(), path
