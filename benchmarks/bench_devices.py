"""ZFM image upload through the real driver against the pty emulator with wire timing on,
against the wire's own limit: every byte of the UpImage exchange x 10 bit times / baud (8N1).

A ratio near 1.0 means the driver adds nothing to what the UART itself costs; the emulator
sleeps len*10/baud before each packet it sends, as the module's UART would take.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.run import result
from device_mocks.zfm import ZfmEmulator, ZfmMock
from kiosk.devices.zfm import IMAGE_BYTES, ZfmFingerprintDriver

PACKET_OVERHEAD = 11  # start code 2 + address 4 + packet id 1 + length 2 + checksum 2


def wire_bytes(packet_size: int) -> int:
    command = PACKET_OVERHEAD + 1  # UpImage instruction
    ack = PACKET_OVERHEAD + 1  # confirmation code
    return command + ack + (IMAGE_BYTES // packet_size) * (packet_size + PACKET_OVERHEAD)


def _upload_s(baud: int, packet_size: int, wire_timing: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-zfm-") as tmp:
        mock = ZfmMock(ZfmEmulator(baudrate=baud, packet_size=packet_size), Path(tmp), wire_timing=wire_timing,
                       control=False)
        try:
            params = ZfmFingerprintDriver.Params(port=mock.server.port, baudrate=baud, packet_size=packet_size,
                                                 timeout_s=2.0)
            with ZfmFingerprintDriver("bench", params) as drv:
                if not drv.gen_img():
                    raise RuntimeError("emulator reported no finger")
                started = time.perf_counter()
                data = drv.up_image()
                took = time.perf_counter() - started
                assert len(data) == IMAGE_BYTES
            return took
        finally:
            mock.close()


def bench_zfm_image_upload() -> list[dict[str, Any]]:
    rows = []
    for baud, size in ((57600, 128), (115200, 128), (115200, 256)):
        limit = wire_bytes(size) * 10 / baud
        rows.append(result("zfm_image_upload", f"upload_s@{baud}baud/{size}B", _upload_s(baud, size, True), "s", limit))
    # the same exchange without wire timing: what the driver + pty cost on their own
    rows.append(result("zfm_image_upload", "upload_s@no_wire_timing", _upload_s(57600, 128, False), "s",
                       wire_bytes(128) * 10 / 57600))
    return rows


BENCHES = {"zfm_image_upload": bench_zfm_image_upload}
