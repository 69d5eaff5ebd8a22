"""OpenCV camera driver against the scripted-video camera mock (same cv2.VideoCapture path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from device_mocks.camera import CameraMock, parse_script, render_scene, start_for_station
from kiosk.config import load_config
from kiosk.devices.errors import DeviceAbsent
from kiosk.devices.camera import OpenCvCameraDriver
from kiosk.composition import device_set
from tests.devices.contract_camera import CameraContract, CameraRig

ROOT = Path(__file__).resolve().parents[2]
W, H, FPS = 320, 240, 30.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    mock = start_for_station({"width": W, "height": H, "fps": FPS}, tmp_path_factory.mktemp("camera"))
    return Path(mock.overrides["source"])


@pytest.fixture
def rig(video: Path, tmp_path: Path) -> Iterator[CameraRig]:
    # each test gets its own copy: unplugging empties the file in place
    path = tmp_path / video.name
    path.write_bytes(video.read_bytes())
    mock = CameraMock(path)
    params = OpenCvCameraDriver.Params(source=str(path), width=W, height=H, fps=FPS, loop=True)
    yield CameraRig(make=lambda: OpenCvCameraDriver("camera", params), unplug=mock.unplug, plug=mock.plug,
                    width=W, height=H, fps=FPS)
    mock.close()


class TestOpenCvCameraOnMockVideo(CameraContract):
    pass


def test_missing_device_is_absent_at_open(tmp_path: Path) -> None:
    for source in ("/dev/video99", str(tmp_path / "nothing.avi")):
        cam = OpenCvCameraDriver("camera", OpenCvCameraDriver.Params(source=source, open_timeout_s=1))
        with pytest.raises(DeviceAbsent) as err:
            cam.open()
        assert err.value.device == "camera" and err.value.params["source"] == source


def test_a_file_that_ends_without_loop_counts_as_gone(tmp_path: Path) -> None:
    mock_path = tmp_path / "short.avi"
    from device_mocks.camera import write_video

    write_video(mock_path, "face:0.2", width=W, height=H, fps=FPS)
    cam = OpenCvCameraDriver("camera", OpenCvCameraDriver.Params(source=str(mock_path), width=W, height=H, fps=FPS))
    with cam:
        seq = cam.latest().seq
        with pytest.raises(DeviceAbsent):
            for _ in range(100):
                seq = cam.latest(newer_than=seq).seq
        assert cam.stats().frames == 6  # 0.2 s at 30 fps, then nothing


def test_file_playback_is_paced_at_the_configured_rate(rig: CameraRig) -> None:
    # Unpaced, the reader would decode this small video at hundreds of frames per second; paced,
    # it can only be at most as fast as the configured rate (a loaded machine makes it slower).
    with rig.make() as cam:
        first = cam.latest()
        cam.latest(newer_than=first.seq + 10)
        stats = cam.stats()
        assert stats.frames >= 12 and 0 < stats.fps <= FPS * 1.3


def test_an_unwatched_camera_reads_a_few_frames_a_second_until_asked_again(video: Path, tmp_path: Path) -> None:
    """A kiosk idling on its home screen decoded all 30 frames a second (6 % of a core)."""
    path = tmp_path / video.name
    path.write_bytes(video.read_bytes())
    params = OpenCvCameraDriver.Params(source=str(path), width=W, height=H, fps=FPS, loop=True, idle_after_s=0.2)
    with OpenCvCameraDriver("camera", params) as cam:
        seq = cam.latest().seq
        time.sleep(0.5)  # nobody asks for frames: the reader idles (what is measured is below)
        before, t0 = cam.stats().frames, time.monotonic()
        time.sleep(1.0)
        idle_rate = (cam.stats().frames - before) / (time.monotonic() - t0)
        # an upper bound: a busy machine can only read fewer (1 / idle_interval_s = 3 a second)
        assert idle_rate <= 1 / cam.idle_interval_s + 1.5, idle_rate
        assert cam.idle_interval_s < cam.stale_after_s  # the status stays READY while idle
        # asked again: the next frames come at the camera's rate, not the idle one
        seq = cam.latest(newer_than=cam.latest().seq).seq
        start = time.monotonic()
        for _ in range(10):
            seq = cam.latest(newer_than=seq, timeout_s=5.0).seq
        assert time.monotonic() - start < 10 * cam.idle_interval_s  # faster than idling would allow


def test_station_config_points_the_driver_at_the_mock_video(tmp_path: Path) -> None:
    from tests.conftest import BASE_CONFIG

    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text(BASE_CONFIG + f'\n[devices.camera]\ndriver = "opencv"\nmock = "camera"\n'
                                      f'source = 0\nwidth = {W}\nheight = {H}\nfps = {FPS}\n')
    with device_set(load_config(cfg_file)) as devices:
        cam = devices.get("camera")
        assert isinstance(cam, OpenCvCameraDriver) and cam.params.loop and not cam.is_live
        with cam:
            assert cam.latest().image.shape == (H, W, 3)


# -- the mock's scenes ----------------------------------------------------------------------------------


def _foreground(scene: str) -> float:
    """Fraction of pixels that differ clearly from the empty room."""
    diff = np.abs(render_scene(scene, 0, W, H).astype(np.int16) - render_scene("empty", 0, W, H).astype(np.int16))
    return float((diff.max(axis=2) > 40).mean())


def test_scenes_show_nobody_a_face_a_far_face_and_a_dark_room() -> None:
    empty = render_scene("empty", 0, W, H)
    assert empty.std(axis=1).max() < 6  # each row is plain wall (plus sensor noise)
    face, far = _foreground("face"), _foreground("far")
    assert face > 0.15 and 0.002 < far < face / 4
    assert render_scene("dark", 0, W, H).mean() < 0.3 * render_scene("face", 0, W, H).mean()


def test_consecutive_frames_differ_but_are_deterministic() -> None:
    a, b = render_scene("face", 0, W, H), render_scene("face", 1, W, H)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, render_scene("face", 0, W, H))


def test_script_parsing() -> None:
    assert parse_script("empty:1,face:2.5,dark") == [("empty", 1.0), ("face", 2.5), ("dark", 2.0)]
    with pytest.raises(ValueError):
        parse_script("selfie:1")


def test_mock_runs_alone_and_writes_a_video_opencv_reads(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "device_mocks.camera", "--scene", "far", "--seconds", "0.5",
                          "--fps", "10", "--width", "160", "--height", "120", "--workdir", str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    path = Path(out.stdout.splitlines()[0])
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (120, 160, 3)
        frames += 1
    cap.release()
    assert frames == 5
