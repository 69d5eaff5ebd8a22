"""The far end of ``sync_loopback``, each in a process of its own: the central registry, or the
plain sink the baseline posts to.

In the field the central is another machine; run in the benchmark's process, its packet checks
would share the GIL with the station's sealing and the figure would measure that contention.
The baseline sink gets a process of its own too, so both sides pay the same process hop.

``python -m benchmarks.loopback_peer central DATA_DIR`` or ``... sink``: prints the URL on the
first line of stdout, serves until stdin closes, then stops cleanly (the central's database is
closed, so the benchmark can read it afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class Sink(BaseHTTPRequestHandler):
    """Reads each POST body whole and answers 204: what moving the bytes alone costs."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` from /proc (Linux, proc(5): fields 14 and 15
    of /proc/PID/stat, in clock ticks); None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Peer:
    """A peer process: ``with Peer("central", data_dir) as peer: ... peer.url ...``."""

    def __init__(self, kind: str, data_dir: Path | None = None) -> None:
        args = [sys.executable, "-m", "benchmarks.loopback_peer", kind] + ([str(data_dir)] if data_dir else [])
        self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"{kind} peer did not start")

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the peer process has used so far; None off Linux."""
        return process_cpu_seconds(self.proc.pid)

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _serve(kind: str, data_dir: str | None) -> None:
    if kind == "central":
        from kiosk.central.registry import CentralRegistry
        from kiosk.central.server import CentralServer

        assert data_dir is not None
        reg = CentralRegistry(Path(data_dir), decision_delay_s=3600)
        server = CentralServer(reg).start()
        print(server.url, flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin
        server.stop()
        reg.close()
    else:
        import threading

        sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        print(f"http://127.0.0.1:{sink.server_address[1]}", flush=True)
        sys.stdin.read()
        sink.shutdown()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
