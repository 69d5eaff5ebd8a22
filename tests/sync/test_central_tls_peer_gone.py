"""A station that vanishes while the central answers over TLS is a cut link, not a failure of
the central: the TLS layer reports the peer's end as ssl.SSLEOFError (an OSError, not a
ConnectionError), which the central logged as "unexpected failure" with a traceback, and then
tried to answer 500 on the same dead connection (seen in the sync_link bench, where the central
now finishes reading a cut chunk's last bytes after the station's side was reset)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralHandler, CentralServer
from kiosk.central.tls import self_signed_certificate, tls_context
from kiosk.sync.client import CentralClient, CentralUnavailable
from kiosk.sync.worker import central_transport


def test_a_tls_peer_gone_while_answering_is_no_unexpected_failure(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = self_signed_certificate(tmp_path, "central", "central.test")
    reg = CentralRegistry(tmp_path / "central")
    server = CentralServer(reg, tls=tls_context(cert, key)).start()
    url = server.url
    cfg = SimpleNamespace(path=Path("config.toml"), station=SimpleNamespace(simulated=False),
                          central=SimpleNamespace(url=url, ca_file=cert, allow_plain_http=False))
    client = CentralClient(url, "ST-01", StationKeys.init(tmp_path / "st").signing,
                           verify=central_transport(cfg, url), timeout_s=5.0)
    answers: list[int] = []
    real_send = CentralHandler._send

    def send_to_a_vanished_station(self: CentralHandler, status: int, *args: Any, **kwargs: Any) -> None:
        answers.append(status)
        self.close_connection = True  # what is left of the connection is closed by the server
        raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")

    monkeypatch.setattr(CentralHandler, "_send", send_to_a_vanished_station)
    try:
        with caplog.at_level(logging.DEBUG, logger="kiosk.central.server"):
            with pytest.raises(CentralUnavailable):
                client.health()
        assert answers == [200]  # it answered once; no 500 tried on the dead connection
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        monkeypatch.setattr(CentralHandler, "_send", real_send)
        assert client.health()["status"] == "ok"  # and serves the next connection
    finally:
        client.close()
        server.stop()
        reg.close()
