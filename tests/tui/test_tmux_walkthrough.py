"""The real `python -m kiosk` driven in tmux by scripts/tmux_walkthrough.sh (skipped without tmux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed (Debian: apt-get install -y tmux)")
def test_walkthrough_in_tmux_reaches_every_step(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "QUIET": "1", "PYTHONPATH": str(ROOT)}
    r = subprocess.run(["bash", str(ROOT / "scripts" / "tmux_walkthrough.sh"), str(tmp_path)], env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    screens = sorted(p.name for p in tmp_path.iterdir())
    assert screens[-1].endswith("logged-out.txt")
    resume = next(p for p in tmp_path.iterdir() if p.name.endswith("resume-offer.txt")).read_text()
    assert "3201015705900007" in resume and "Face" in resume
    review = next(p for p in tmp_path.iterdir() if p.name.endswith("-review.txt")).read_text()
    assert "Face photo: passed all checks" in review  # auto-captured from the camera mock
    queue = next(p for p in tmp_path.iterdir() if p.name.endswith("queue-approved.txt")).read_text()
    assert "SITI AMINAH" in queue and "approved" in queue  # uploaded by the app's sync worker, decided
