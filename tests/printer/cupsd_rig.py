"""A real cupsd for the tests (private config, free port), with a file-device queue "card"
(Generic PDF Printer PPD of cups-filters when installed) and a queue "broken" whose device
path does not exist, so its jobs fail inside CUPS. Used by test_cups.py and the card-printer
contract suite."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

INSTALL = "cupsd not installed: apt-get install cups cups-client cups-bsd"
PDF_PPD = "lsb/usr/cupsfilters/Generic-PDF_Printer-PDF.ppd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def output_file(path: Path) -> Path:
    """Create the file a file:/// queue writes to (cupsd does not create it)."""
    path.touch()
    path.chmod(0o666)
    return path


@pytest.fixture(scope="session")
def cupsd() -> Iterator[dict[str, object]]:
    if not shutil.which("cupsd") or not shutil.which("lpadmin"):
        pytest.skip(INSTALL)
    # not under pytest's 0700 tmp dirs: CUPS filters run as user lp and must reach the spool
    root = Path(tempfile.mkdtemp(prefix="kiosk-cups-"))
    root.chmod(0o755)
    for sub in ("spool", "cache", "state", "log", "tmp", "out", "ppd"):
        (root / sub).mkdir()
    (root / "out").chmod(0o1777)
    (root / "tmp").chmod(0o1777)
    # cupsd 2.4 opens a file:/// device like a device node (O_WRONLY|O_EXCL, no O_CREAT):
    # the file must exist before the first job
    output_file(root / "out" / "card.pdf")
    port = free_port()
    (root / "cupsd.conf").write_text(f"""Listen 127.0.0.1:{port}
LogLevel info
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
    (root / "cups-files.conf").write_text(f"""ServerRoot {root}
RequestRoot {root}/spool
CacheDir {root}/cache
StateDir {root}/state
TempDir {root}/tmp
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
DataDir /usr/share/cups
ServerBin /usr/lib/cups
FileDevice Yes
""")
    proc = subprocess.Popen(["cupsd", "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.skip(f"cupsd did not start ({err.strip()[:200]}); {INSTALL}")
                time.sleep(0.1)
        models = subprocess.run(["lpinfo", "-h", server, "-m"], capture_output=True, text=True).stdout
        model = ["-m", PDF_PPD] if PDF_PPD in models else []
        for queue, uri, extra in (("card", f"file://{root}/out/card.pdf", []),
                                  ("broken", "file:///nonexistent-kiosk-dir/card.pdf",
                                   ["-o", "printer-error-policy=abort-job"])):
            subprocess.run(["lpadmin", "-h", server, "-p", queue, "-E", "-v", uri, *model, *extra],
                           check=True, capture_output=True)
        yield {"server": server, "out": root / "out" / "card.pdf", "pdf": bool(model), "root": root}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
