"""Camera driver over OpenCV's VideoCapture: V4L2/UVC webcams by index or device path.

A reader thread reads the device continuously and keeps only the newest frame, so
:meth:`OpenCvCameraDriver.latest` never hands out a frame that sat in a driver buffer while newer
ones existed. Frames that were read but replaced before anyone took them are counted as dropped.
Read failures in a row mean the camera went away (USB pulled): the status turns ABSENT and every
``latest()`` raises :class:`DeviceAbsent` naming the device until it is reopened.

The station keeps its camera open all day, but frames are wanted only at the face step: once
nobody has asked for one for ``idle_after_s``, the reader reads a few frames a second (enough for
the status and to notice a pulled camera) instead of decoding every frame (a kiosk idling on its
home screen spent 6 % of a core decoding the simulated camera's video; a 720p MJPEG webcam costs
more). The next ``latest()`` wakes it at once.

``source`` may also be a video file or URL (the simulated station's camera is a generated video
file, read through this same VideoCapture path): its frames are paced at ``fps`` so the reader
behaves like a live camera, and ``loop`` replays it forever.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

import cv2
import numpy as np

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult, Worded
from kiosk.devices.errors import DeviceAbsent, DeviceTimeout
from kiosk.devices.protocols import Camera, CameraStats, Frame
from kiosk.typed_tables import Ge, Gt


def _video_index(source: str | int) -> int | None:
    """The /dev/videoN number of a source given as index or device path, else None."""
    if isinstance(source, int):
        return source
    if source.startswith("/dev/video") and source[len("/dev/video"):].isdigit():
        return int(source[len("/dev/video"):])
    return None


class OpenCvCameraDriver(Camera):
    """UVC/V4L2 camera (or a video file for simulation) through cv2.VideoCapture."""

    @dataclass(frozen=True)
    class Params:
        #: V4L2 index (0), device path ("/dev/video0", "/dev/v4l/by-id/..."), or a video file/URL
        source: str | int = 0
        width: Annotated[int, Gt(0)] = 1280
        height: Annotated[int, Gt(0)] = 720
        fps: Annotated[float, Gt(0)] = 30.0
        #: pixel format asked of the camera: "MJPG" (most UVC webcams at 720p), "YUYV", ...
        fourcc: str = "MJPG"
        #: replay a file source forever (simulation)
        loop: bool = False
        #: failed reads in a row after which the camera counts as gone
        read_failures: Annotated[int, Ge(1)] = 5
        #: seconds open() waits for the first frame
        open_timeout_s: Annotated[float, Gt(0)] = 5.0
        #: seconds without anyone taking a frame after which only a few frames a second are read
        idle_after_s: Annotated[float, Gt(0)] = 5.0

    kind: ClassVar[str] = "camera"

    def __init__(self, name: str, params: Params) -> None:
        super().__init__(name, params)
        self.params: OpenCvCameraDriver.Params = params
        self._cap: cv2.VideoCapture | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._handed = -1  # highest seq handed out
        self._seq = -1
        self._dropped = 0
        self._absent = False
        self._read_times: deque[float] = deque(maxlen=60)
        #: when a frame was last asked for; the reader idles once it is idle_after_s old
        self._wanted_at = time.monotonic()
        self._wake = threading.Event()

    # -- source kinds -------------------------------------------------------------------------
    @property
    def is_live(self) -> bool:
        """A camera device (V4L2), as opposed to a file or URL replayed for simulation."""
        src = self.params.source
        return isinstance(src, int) or src.startswith("/dev/")

    def _describe_source(self) -> str:
        return str(self.params.source)

    # -- lifecycle ----------------------------------------------------------------------------
    def _do_open(self) -> None:
        if self._thread is not None:  # reopened without close: stop the old reader first
            self._do_close()
        p = self.params
        if self.is_live:
            index = _video_index(p.source)
            target: str | int = index if index is not None else str(p.source)
            cap = cv2.VideoCapture(target, cv2.CAP_V4L2)
        else:
            if "://" not in str(p.source) and not Path(str(p.source)).exists():
                raise DeviceAbsent(device=self.name, source=self._describe_source())
            cap = cv2.VideoCapture(str(p.source))
        if not cap.isOpened():
            cap.release()
            raise DeviceAbsent(device=self.name, source=self._describe_source())
        if self.is_live:
            # Order matters for UVC: pixel format first, then size, then rate.
            if len(p.fourcc) == 4:
                cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*p.fourcc))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, p.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, p.height)
            cap.set(cv2.CAP_PROP_FPS, p.fps)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the kernel queue short: newest frame wins
        self._cap = cap
        self._stop.clear()
        self._wanted_at = time.monotonic()
        with self._cond:
            self._latest, self._handed, self._seq, self._dropped, self._absent = None, -1, -1, 0, False
            self._read_times.clear()
        self._thread = threading.Thread(target=self._reader, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + p.open_timeout_s
        with self._cond:
            while self._latest is None and not self._absent:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            ok = self._latest is not None
        if not ok:
            self._do_close()
            raise DeviceAbsent(device=self.name, source=self._describe_source())

    def _do_close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        with self._cond:
            self._cond.notify_all()

    # -- reader thread ------------------------------------------------------------------------
    def _reader(self) -> None:
        cap = self._cap
        assert cap is not None
        interval = 1.0 / self.params.fps if self.params.fps > 0 else 0.0
        pace = not self.is_live and interval > 0
        next_at = time.monotonic()
        failures = 0
        while not self._stop.is_set():
            idle = time.monotonic() - self._wanted_at > self.params.idle_after_s
            if idle:
                self._wake.wait(self.idle_interval_s)  # latest() wakes it; close() too
                self._wake.clear()
                if self._stop.is_set():
                    break
                next_at = time.monotonic()
            elif pace:
                wait = next_at - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    break
                # behind by more than a frame (machine busy): restart the schedule, don't burst
                next_at = max(next_at + interval, time.monotonic())
            ok, image = cap.read()
            if not ok and not self.is_live and self.params.loop:
                # Replay by reopening rather than seeking: works for every container and stream,
                # and a file that is gone or emptied then fails to open, as a pulled camera would.
                cap.release()
                ok = cap.open(str(self.params.source))
                if ok:
                    ok, image = cap.read()
            if not ok or image is None:
                failures += 1
                if failures >= self.params.read_failures or (not self.is_live and not self.params.loop):
                    with self._cond:
                        self._absent = True
                        self._cond.notify_all()
                    return
                self._stop.wait(min(interval or 0.05, 0.05))
                continue
            failures = 0
            if image.ndim == 2:
                image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            now = time.monotonic()
            with self._cond:
                if not idle and self._latest is not None and self._latest.seq > self._handed:
                    self._dropped += 1  # replaced before anyone took it (while frames were wanted)
                self._seq += 1
                self._latest = Frame(image=image, timestamp=now, seq=self._seq)
                self._read_times.append(now)
                self._cond.notify_all()

    @property
    def stale_after_s(self) -> float:
        """A newest frame older than this means the camera stalled (status ERROR)."""
        return max(1.0, 5.0 / self.params.fps) if self.params.fps > 0 else 1.0

    @property
    def idle_interval_s(self) -> float:
        """Seconds between reads while idle: three per stale period, so the status stays READY."""
        return self.stale_after_s / 3

    # -- camera calls -------------------------------------------------------------------------
    def latest(self, *, timeout_s: float = 2.0, newer_than: int = -1) -> Frame:
        self.require_open()
        self._wanted_at = time.monotonic()
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                if self._absent:
                    raise DeviceAbsent(device=self.name, source=self._describe_source())
                frame = self._latest
                if frame is not None and frame.seq > newer_than:
                    self._handed = max(self._handed, frame.seq)
                    return frame
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DeviceTimeout(device=self.name, waited_s=timeout_s)
                self._cond.wait(left)

    def stats(self) -> CameraStats:
        with self._cond:
            times = list(self._read_times)
            frames, dropped = self._seq + 1, self._dropped
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else 0.0
        return CameraStats(frames=frames, dropped=dropped, fps=fps)

    # -- what every device tells --------------------------------------------------------------
    def _v4l2_name(self) -> str:
        index = _video_index(self.params.source)
        if index is None:
            return ""
        try:
            return Path(f"/sys/class/video4linux/video{index}/name").read_text().strip()
        except OSError:
            return ""

    def info(self) -> DeviceInfo:
        self.require_open()
        cap = self._cap
        if cap is None or self._absent:
            raise DeviceAbsent(device=self.name, source=self._describe_source())
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)) if code > 0 else ""
        return DeviceInfo(
            vendor="V4L2/UVC" if self.is_live else "video file",
            model=self._v4l2_name() or cap.getBackendName(),
            serial=self._describe_source(),
            firmware=f"OpenCV {cv2.__version__}",
            extra={"width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                   "fps": self.params.fps if not self.is_live else float(cap.get(cv2.CAP_PROP_FPS)),
                   "fourcc": fourcc.strip("\x00"), "backend": cap.getBackendName(), "live": self.is_live},
        )

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        with self._cond:
            absent, frame = self._absent, self._latest
        if absent:
            return DeviceStatus(DeviceState.ABSENT, "device.absent", {"device": self.name})
        if frame is None or time.monotonic() - frame.timestamp > self.stale_after_s:
            return DeviceStatus(DeviceState.ERROR, "camera.stalled", {"device": self.name})
        return DeviceStatus(DeviceState.READY)

    def self_test(self) -> SelfTestResult:
        self.require_open()
        checks: list[tuple[str, bool, str]] = []
        try:
            first = self.latest(timeout_s=2.0)
            second = self.latest(timeout_s=2.0, newer_than=first.seq)
            h, w = second.image.shape[:2]
            # details carry catalog words too (diagnostics show them in the station's language)
            checks.append(("camera.frames", True, Worded("camera.detail.frames", f"seq {first.seq} -> {second.seq}",
                                                         first=first.seq, second=second.seq)))
            wanted = (self.params.width, self.params.height)
            checks.append(("camera.resolution", (w, h) == wanted,
                           Worded("camera.detail.resolution", f"{w}x{h} (configured {wanted[0]}x{wanted[1]})",
                                  width=w, height=h, want_width=wanted[0], want_height=wanted[1])))
            checks.append(("camera.image", bool(np.asarray(second.image).any()),
                           Worded("camera.detail.image", "non-black frame")))
        except (DeviceAbsent, DeviceTimeout) as exc:
            checks.append(("camera.frames", False, exc.code))
        return SelfTestResult(all(ok for _, ok, _ in checks), tuple(checks))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._describe_source()} {'open' if self.is_open else 'closed'}>"

