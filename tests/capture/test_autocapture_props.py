"""AutoCapture as a state machine (hypothesis): it fires exactly when N consecutive frames
passed, keeps the sharpest frame of that run, and fires only once."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.capture.face import FaceAnalysis
from kiosk.capture.face_capture import AutoCapture
from kiosk.capture.report import Check, QualityReport
from kiosk.capture.thresholds import FaceThresholds


class ScriptedAnalyzer:
    """Reads the verdict out of the frame itself: pixel [0] = passed, pixel [1] = sharpness."""

    def analyze(self, image: np.ndarray, previous: object = None) -> FaceAnalysis:
        passed, sharp = bool(image[0]), float(image[1])
        report = QualityReport("face", (Check("sharpness", passed, sharp, "face.blurred"),))
        return FaceAnalysis(report, None, 1, sharp)

    def reset(self) -> None:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.lists(st.tuples(st.booleans(), st.integers(0, 1000)), max_size=40))
def test_fires_on_first_run_of_n_passing_frames(n: int, script: list[tuple[bool, int]]) -> None:
    auto = AutoCapture(FaceThresholds(auto_capture_frames=n), analyzer=ScriptedAnalyzer(),  # type: ignore[arg-type]
                       confirmer=ScriptedAnalyzer())  # type: ignore[arg-type]
    fired_at = None
    for i, (ok, sharp) in enumerate(script):
        _, cap = auto.feed(np.array([int(ok), sharp], dtype=np.int64))
        if cap is not None:
            assert fired_at is None, "fired twice"
            fired_at = i
            run = script[i - n + 1: i + 1]
            assert all(p for p, _ in run)
            assert cap.analysis.sharpness == max(s for _, s in run)
            assert not cap.report.manual
    # reference: index where the first run of n passing frames completes
    streak, expected = 0, None
    for i, (ok, _) in enumerate(script):
        streak = streak + 1 if ok else 0
        if streak >= n:
            expected = i
            break
    assert fired_at == expected
