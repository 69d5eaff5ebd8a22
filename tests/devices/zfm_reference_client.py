"""An independent, minimal client of the ZhianTec ZFM protocol, used only to check the emulator.

It deliberately shares nothing with ``kiosk.devices.zfm``: no pyserial (a raw file descriptor,
termios and select), ``struct`` framing, a byte-at-a-time state machine for the reply, and its
own constants taken from the R307/ZFM-20 manual. If the driver and the emulator ever agree on a
mistake, this client is the third opinion.
"""

from __future__ import annotations

import os
import select
import struct
import termios
import time
import tty

ADDR = 0xFFFFFFFF
CMD, DATA, ACK, END = 1, 2, 7, 8


class RefError(Exception):
    pass


def frame(pid: int, body: bytes, addr: int = ADDR) -> bytes:
    size = len(body) + 2
    total = (pid + (size >> 8) + (size & 0xFF) + sum(body)) % 65536
    return struct.pack(">HIBH", 0xEF01, addr, pid, size) + body + struct.pack(">H", total)


class RefClient:
    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self.timeout = timeout

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> "RefClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def raw_write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _byte(self, until: float) -> int:
        while True:
            left = until - time.monotonic()
            if left <= 0:
                raise RefError("timeout")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    got = os.read(self.fd, 1)
                except BlockingIOError:
                    continue
                if got:
                    return got[0]

    def receive(self) -> tuple[int, bytes]:
        """One packet as (pid, body), verified field by field."""
        until = time.monotonic() + self.timeout
        if self._byte(until) != 0xEF or self._byte(until) != 0x01:
            raise RefError("start code")
        addr = 0
        for _ in range(4):
            addr = addr * 256 + self._byte(until)
        if addr != ADDR:
            raise RefError(f"address {addr:#x}")
        pid = self._byte(until)
        size = self._byte(until) * 256 + self._byte(until)
        rest = bytes(self._byte(until) for _ in range(size))
        body, (given,) = rest[:-2], struct.unpack(">H", rest[-2:])
        if given != (pid + (size >> 8) + (size & 0xFF) + sum(body)) % 65536:
            raise RefError("checksum")
        return pid, body

    def ask(self, instr: int, *args: int, fmt: str = "") -> tuple[int, bytes]:
        """Send a command; return (confirmation code, the ack's remaining bytes)."""
        termios.tcflush(self.fd, termios.TCIFLUSH)  # drop leftovers of a failed exchange
        os.write(self.fd, frame(CMD, struct.pack(">B" + fmt, instr, *args)))
        pid, body = self.receive()
        if pid != ACK:
            raise RefError(f"pid {pid}")
        return body[0], body[1:]

    def bulk_in(self) -> tuple[bytes, list[int]]:
        """Data packets until the end packet: (data, size of each packet)."""
        data, sizes = b"", []
        while True:
            pid, body = self.receive()
            if pid not in (DATA, END):
                raise RefError(f"pid {pid} in data phase")
            data += body
            sizes.append(len(body))
            if pid == END:
                return data, sizes

    def bulk_out(self, data: bytes, size: int) -> None:
        parts = [data[i:i + size] for i in range(0, len(data), size)]
        for n, part in enumerate(parts):
            os.write(self.fd, frame(END if n == len(parts) - 1 else DATA, part))

    # named commands, numbers from the manual
    def vfy_pwd(self, pw: int) -> int:
        return self.ask(0x13, pw, fmt="I")[0]

    def read_sys_para(self) -> dict[str, int]:
        code, rest = self.ask(0x0F)
        if code:
            raise RefError(f"ReadSysPara {code:#x}")
        sr, sid, cap, lvl, addr, size, baud = struct.unpack(">HHHHIHH", rest[:16])
        return {"status": sr, "system_id": sid, "capacity": cap, "level": lvl, "address": addr,
                "packet_size": 32 << size, "baud": baud * 9600}

    def gen_img(self) -> int:
        return self.ask(0x01)[0]

    def up_image(self) -> tuple[int, bytes, list[int]]:
        code, _ = self.ask(0x0A)
        if code:
            return code, b"", []
        data, sizes = self.bulk_in()
        return code, data, sizes

    def img2tz(self, buf: int) -> int:
        return self.ask(0x02, buf, fmt="B")[0]

    def reg_model(self) -> int:
        return self.ask(0x05)[0]

    def store(self, buf: int, page: int) -> int:
        return self.ask(0x06, buf, page, fmt="BH")[0]

    def load_char(self, buf: int, page: int) -> int:
        return self.ask(0x07, buf, page, fmt="BH")[0]

    def up_char(self, buf: int) -> tuple[int, bytes]:
        code, _ = self.ask(0x08, buf, fmt="B")
        return (code, self.bulk_in()[0]) if code == 0 else (code, b"")

    def down_char(self, buf: int, data: bytes, size: int) -> int:
        code, _ = self.ask(0x09, buf, fmt="B")
        if code == 0:
            self.bulk_out(data, size)
        return code

    def search(self, buf: int, start: int, count: int) -> tuple[int, int, int]:
        code, rest = self.ask(0x04, buf, start, count, fmt="BHH")
        page, score = struct.unpack(">HH", rest[:4])
        return code, page, score

    def template_num(self) -> int:
        code, rest = self.ask(0x1D)
        if code:
            raise RefError(f"TemplateNum {code:#x}")
        return int(struct.unpack(">H", rest[:2])[0])

    def delete(self, page: int, count: int) -> int:
        return self.ask(0x0C, page, count, fmt="HH")[0]

    def empty(self) -> int:
        return self.ask(0x0D)[0]
