"""Camera source emulator: a generated MJPG video file that the camera driver opens through the
same cv2.VideoCapture path as a webcam, with scripted scenes.

Scenes: ``empty`` (no one in front of the camera), ``face`` (a resident at the right distance),
``far`` (too far: a small face), ``dark`` (the face in a badly lit room), ``frontal`` (the
resident posing as the photo rules want: every face check passes; the default). The face is the
public-domain astronaut photograph shipped in ``device_mocks/data`` (:mod:`device_mocks.portrait`),
composited on a plain studio background, swaying slightly from frame to frame so consecutive
frames differ. A *script* strings scenes together: ``"empty:1,face:3"`` (scene:seconds).

Run alone: ``python -m device_mocks.camera --scene face`` writes the video and prints its path on
the first line. ``start_for_station`` writes it into the work folder and returns the driver
overrides ``{"source": path, "loop": true}``; ``$KIOSK_CAMERA_SCRIPT`` picks the station's script.
``CameraMock.unplug()`` empties the file (the reader fails, as when a USB camera is pulled) and
``plug()`` puts it back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device_mocks.portrait import region

SCENES = ("empty", "face", "far", "dark", "frontal")
BACKGROUND_BGR = (200, 190, 178)  # plain light grey-blue studio wall
#: "frontal" is a resident posing as the photo rules want (device_mocks.faces.portrait, which
#: passes every face check), so a simulated station's auto-capture fires; "face" is the same
#: person as photographed (head turned ~20 degrees, off centre): the checks ask to correct it
DEFAULT_SCRIPT = "frontal:1"


@cache
def _portrait() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut's head and shoulders (BGR) and a mask separating her from the backdrop."""
    bgr = np.ascontiguousarray(region(120, 0, 400, 300))  # head and shoulders, face in the upper middle
    # The photo's backdrop (flag, space suit edges) is kept out with an oval mask around the person.
    h, w = bgr.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (int(w * 0.46), int(h * 0.38)), (int(w * 0.21), int(h * 0.34)), 0, 0, 360, 1.0, -1)
    cv2.rectangle(mask, (int(w * 0.08), int(h * 0.70)), (int(w * 0.92), h), 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 6)
    return bgr, mask


@cache
def _scene_base(scene: str, width: int, height: int) -> np.ndarray:
    """The still picture of a scene (uint8 BGR), before per-frame sway and sensor noise."""
    if scene == "frontal":
        from device_mocks.faces import portrait

        return portrait(shape=(height, width))
    frame = np.empty((height, width, 3), np.float32)
    frame[:] = BACKGROUND_BGR
    # a gentle vertical light gradient, as on a real wall (constant across x, so sway is invisible)
    frame *= np.linspace(1.04, 0.94, height, dtype=np.float32)[:, None, None]
    if scene not in ("empty", "frontal"):
        portrait, mask = _portrait()
        # "face": the head is about 45 % of the frame height; "far": about 12 %
        scale = (0.95 if scene in ("face", "dark") else 0.25) * height / portrait.shape[0]
        pw, ph = max(1, int(portrait.shape[1] * scale)), max(1, int(portrait.shape[0] * scale))
        img = cv2.resize(portrait, (pw, ph), interpolation=cv2.INTER_AREA).astype(np.float32)
        m = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_AREA)[:, :, None]
        x0 = (width - pw) // 2
        y0 = height - ph if scene != "far" else int(height * 0.45)
        xs, ys = max(0, x0), max(0, y0)
        xe, ye = min(width, x0 + pw), min(height, y0 + ph)
        if xe > xs and ye > ys:
            sub = img[ys - y0:ye - y0, xs - x0:xe - x0]
            sm = m[ys - y0:ye - y0, xs - x0:xe - x0]
            frame[ys:ye, xs:xe] = frame[ys:ye, xs:xe] * (1 - sm) + sub * sm
    if scene == "dark":
        frame *= 0.18
    return np.clip(frame, 0, 255).astype(np.uint8)


@cache
def _noise(width: int, height: int, seed: int) -> tuple[np.ndarray, ...]:
    """A few fields of sensor noise (int16), cycled through the frames."""
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(0, 2.0, size=(height, width, 3)).round().astype(np.int16) for _ in range(8))


def render_scene(scene: str, index: int, width: int, height: int, *, seed: int = 1) -> np.ndarray:
    """Frame ``index`` of ``scene`` as a BGR uint8 image."""
    if scene not in SCENES:
        raise ValueError(f"unknown scene {scene!r}; known: {', '.join(SCENES)}")
    base = _scene_base(scene, width, height)
    sway = float(np.sin(index / 6.0) * width * 0.01)  # the resident moves a little
    moved = cv2.warpAffine(base, np.float32([[1, 0, sway], [0, 1, 0]]), (width, height),
                           borderMode=cv2.BORDER_REPLICATE)
    noisy = moved.astype(np.int16) + _noise(width, height, seed)[index % 8]
    return np.clip(noisy, 0, 255).astype(np.uint8)


def parse_script(script: str) -> list[tuple[str, float]]:
    """``"empty:1,face:3"`` -> [("empty", 1.0), ("face", 3.0)]; a bare scene lasts 2 s."""
    out = []
    for part in script.split(","):
        name, _, seconds = part.strip().partition(":")
        if name not in SCENES:
            raise ValueError(f"unknown scene {name!r}; known: {', '.join(SCENES)}")
        out.append((name, float(seconds) if seconds else 2.0))
    if not out:
        raise ValueError("empty scene script")
    return out


def write_video(path: Path, script: str = DEFAULT_SCRIPT, *, width: int = 640, height: int = 480, fps: float = 15.0,
                seed: int = 1) -> Path:
    """Write the scripted scenes as an MJPG .avi at ``fps`` (frames = seconds x fps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.avi")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write MJPG video to {tmp}")
    try:
        index = 0
        for scene, seconds in parse_script(script):
            for _ in range(max(1, round(seconds * fps))):
                writer.write(render_scene(scene, index, width, height, seed=seed))
                index += 1
    finally:
        writer.release()
    os.replace(tmp, path)
    return path


def video_path(workdir: Path, script: str, width: int, height: int, fps: float, seed: int) -> Path:
    tag = script.replace(":", "-").replace(",", "_").replace(".", "p")
    return Path(workdir) / f"camera-{tag}-{width}x{height}-{fps:g}fps-s{seed}.avi"


class CameraMock:
    """A generated video standing in for the station's camera."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved = path.with_name(path.name + ".unplugged")
        self.overrides: dict[str, Any] = {"source": str(path), "loop": True}

    def unplug(self) -> None:
        """Empty the file in place: the reader's next reads fail, like a pulled USB camera."""
        shutil.copyfile(self.path, self._saved)
        os.truncate(self.path, 0)

    def plug(self) -> None:
        if self._saved.exists():
            os.replace(self._saved, self.path)

    def close(self) -> None:
        self.plug()


def start_for_station(params: dict[str, Any], workdir: Path) -> CameraMock:
    """Generate (or reuse) the scripted video at the configured size and rate."""
    width, height = int(params.get("width", 640)), int(params.get("height", 480))
    fps = float(params.get("fps", 15.0))
    script = os.environ.get("KIOSK_CAMERA_SCRIPT", DEFAULT_SCRIPT)
    path = video_path(Path(workdir), script, width, height, fps, 1)
    if not path.exists() or path.stat().st_size == 0:
        write_video(path, script, width=width, height=height, fps=fps)
    return CameraMock(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device_mocks.camera", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--scene", choices=SCENES, help="one scene for the whole video")
    group.add_argument("--script", help='scenes with durations, e.g. "empty:1,face:3,far:2,dark:2"')
    parser.add_argument("--seconds", type=float, default=2.0, help="length of a --scene video")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("var/mocks"))
    args = parser.parse_args(argv)
    script = args.script or f"{args.scene or 'face'}:{args.seconds:g}"
    path = video_path(args.workdir.resolve(), script, args.width, args.height, args.fps, args.seed)
    write_video(path, script, width=args.width, height=args.height, fps=args.fps, seed=args.seed)
    print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
