"""Face test images: a studio portrait and degraded versions, from the NASA portrait of
Eileen Collins (public domain) that :mod:`device_mocks.portrait` ships.

The subject is cut out of its mottled backdrop once (colour saturation + largest component),
then composed into camera frames at any size, position, scale and roll, on a plain or a
patterned background. Degradations change exactly one property so each face check can be
tested on its own:

    good = portrait()                      # 640 x 480 BGR, passes every face check
    blurred(good), dark(good), portrait(offset_x=150), portrait(scale=1.0), two_faces(), ...
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from device_mocks.portrait import region

FRAME = (480, 640)  # height, width
#: plain light-grey backdrop (BGR), as ICAO 9303 part 3 asks for
BACKDROP = (206, 201, 196)
#: eye midpoint of the astronaut in the source picture and her eye distance (px)
_SRC_EYES = (225.0, 104.0)
_SRC_EYE_DISTANCE = 46.0
#: the two eye centres in the source picture (image left first)
_SRC_EYE_CENTRES = ((201.0, 100.0), (247.0, 102.0))
_SRC_BOX = (100, 0, 370, 330)  # x0, y0, x1, y1 of the head-and-shoulders cut-out


@dataclass(frozen=True)
class Subject:
    """The cut-out subject: BGR pixels and a soft 0..1 mask, in source coordinates."""

    pixels: np.ndarray
    mask: np.ndarray
    eyes: tuple[float, float]


@cache
def subject() -> Subject:
    x0, y0, _, _ = _SRC_BOX
    crop = region(*_SRC_BOX)
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    # the backdrop is a desaturated grey; hair, skin and the orange suit are saturated or dark
    mask = ((hsv[..., 1] > 70) | (hsv[..., 2] < 90)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (labels == biggest).astype(np.uint8) * 255
    flood = mask.copy()
    h, w = mask.shape
    cv2.floodFill(flood, np.zeros((h + 2, w + 2), np.uint8), (0, 0), 255)
    mask = mask | cv2.bitwise_not(flood)  # fill holes (eyes, mouth)
    soft = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 1.5)
    return Subject(pixels=crop, mask=soft, eyes=(_SRC_EYES[0] - x0, _SRC_EYES[1] - y0))


def patterned_background(shape: tuple[int, int] = FRAME, seed: int = 0) -> np.ndarray:
    """A busy backdrop (shelves, posters): random rectangles of different greys and colours."""
    rng = np.random.default_rng(seed)
    h, w = shape
    img = np.full((h, w, 3), BACKDROP, np.uint8)
    for _ in range(60):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(img, (x, y), (x + int(rng.integers(10, 90)), y + int(rng.integers(10, 90))),
                      tuple(int(c) for c in rng.integers(30, 230, 3)), -1)
    return img


def portrait(*, shape: tuple[int, int] = FRAME, scale: float = 1.85, eyes_at: tuple[float, float] | None = None,
             offset_x: float = 0.0, roll_deg: float = 0.0, background: np.ndarray | None = None,
             shade_left: float = 1.0, glare: float = 0.0) -> np.ndarray:
    """A camera frame (BGR) with the subject's eye midpoint at ``eyes_at`` (default: centred
    horizontally, 40 % from the top), eye distance 46 px x ``scale``, rolled by ``roll_deg``."""
    h, w = shape
    sub = subject()
    ex, ey = eyes_at if eyes_at is not None else (w / 2 + offset_x, 0.40 * h)
    angle = roll_deg
    m = cv2.getRotationMatrix2D(sub.eyes, angle, scale)
    m[0, 2] += ex - sub.eyes[0]
    m[1, 2] += ey - sub.eyes[1]
    pixels = cv2.warpAffine(sub.pixels, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(sub.mask, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)[..., None]
    if shade_left != 1.0:
        # light from the subject's left only: the image-left half of the face falls into shadow
        ramp = shade_left + (1.0 - shade_left) / (1.0 + np.exp(-(np.arange(w, dtype=np.float32) - ex) / 12.0))
        pixels = np.clip(pixels.astype(np.float32) * ramp[None, :, None], 0, 255)
    if glare > 0.0:
        # reflections of a lamp in spectacle lenses: white ovals over both eyes
        spots = pixels.astype(np.float32).copy()
        for sx, sy in _SRC_EYE_CENTRES:
            fx, fy = m @ np.array([sx - _SRC_BOX[0], sy - _SRC_BOX[1], 1.0])
            axes = (int(0.12 * _SRC_EYE_DISTANCE * scale), int(0.07 * _SRC_EYE_DISTANCE * scale))
            cv2.ellipse(spots, (int(fx), int(fy)), axes, 0, 0, 360, (255, 255, 255), -1)
        pixels = pixels.astype(np.float32) * (1.0 - glare) + spots * glare
    bg = background if background is not None else np.full((h, w, 3), BACKDROP, np.uint8)
    out = pixels.astype(np.float32) * mask + bg.astype(np.float32) * (1.0 - mask)
    return np.clip(out, 0, 255).astype(np.uint8)


def two_faces(shape: tuple[int, int] = FRAME) -> np.ndarray:
    h, w = shape
    left = portrait(shape=shape, scale=1.4, eyes_at=(w * 0.28, h * 0.40))
    right = portrait(shape=shape, scale=1.4, eyes_at=(w * 0.72, h * 0.40))
    out = left.copy()
    out[:, w // 2:] = right[:, w // 2:]
    return out


def blurred(img: np.ndarray, sigma: float = 3.0) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigma)


def dark(img: np.ndarray, factor: float = 0.22) -> np.ndarray:
    return np.clip(img.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def bright(img: np.ndarray, gain: float = 2.2) -> np.ndarray:
    return np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def flat_contrast(img: np.ndarray, span: float = 0.35) -> np.ndarray:
    """Washed-out picture: grey levels squeezed around the middle (fog, wrong gain)."""
    f = img.astype(np.float32)
    return np.clip((f - 128.0) * span + 128.0, 0, 255).astype(np.uint8)


def side_lit(shadow: float = 0.3) -> np.ndarray:
    """Light from one side only: the image-left half of the face is in shadow."""
    return portrait(shade_left=shadow)


def turned(img: np.ndarray, yaw_deg: float = 25.0, *, eyes_at: tuple[float, float] | None = None,
           radius: float = 110.0) -> np.ndarray:
    """Head turned about a vertical axis: the face region is remapped on a cylinder, so the
    features slide sideways while the outline stays where it was."""
    h, w = img.shape[:2]
    cx = eyes_at[0] if eyes_at else w / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = np.clip((xx - cx) / radius, -1.0, 1.0)
    phi = np.arcsin(u) - np.deg2rad(yaw_deg)
    src_x = np.where(np.abs(xx - cx) < radius, cx + radius * np.sin(np.clip(phi, -np.pi / 2, np.pi / 2)), xx)
    return cv2.remap(img, src_x.astype(np.float32), yy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def shifted(img: np.ndarray, dx: float, dy: float = 0.0) -> np.ndarray:
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def approach(frames: int = 45, *, settle: float = 0.6, seed: int = 0) -> list[np.ndarray]:
    """A resident sitting down: starts small and off to the side, moves into place over the
    first ``settle`` share of the frames, then holds still with sub-pixel sway (camera-mock
    and auto-capture material)."""
    rng = np.random.default_rng(seed)
    h, w = FRAME
    out = []
    moving = max(1, int(frames * settle))
    for i in range(frames):
        t = min(1.0, i / moving)
        ease = t * t * (3 - 2 * t)
        scale = 1.0 + (1.85 - 1.0) * ease
        ex = w / 2 + 170 * (1 - ease) + (rng.uniform(-0.4, 0.4) if t >= 1 else 0.0)
        ey = 0.40 * h + 40 * (1 - ease) + (rng.uniform(-0.4, 0.4) if t >= 1 else 0.0)
        out.append(portrait(scale=scale, eyes_at=(ex, ey)))
    return out


def empty_frame(shape: tuple[int, int] = FRAME) -> np.ndarray:
    return np.full((*shape, 3), BACKDROP, np.uint8)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "faces")
    out.mkdir(parents=True, exist_ok=True)
    good = portrait()
    samples = {"good": good, "blurred": blurred(good), "dark": dark(good), "off_centre": portrait(offset_x=150),
               "small": portrait(scale=1.0), "two_faces": two_faces(), "rolled": portrait(roll_deg=14),
               "turned": turned(good), "side_lit": side_lit(), "glare": portrait(glare=1.0),
               "background": portrait(background=patterned_background())}
    for name, img in samples.items():
        cv2.imwrite(str(out / f"{name}.png"), img)
    print(f"wrote {len(samples)} frames to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
