"""Issue 13 §1: a real station reaches the central over https trusting only the pinned
certificate; plain http needs an explicit flag (and is warned about)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.central.tls import self_signed_certificate
from kiosk.errors import ConfigError
from kiosk.sync.client import CentralClient, CentralUnavailable
from kiosk.sync.worker import central_transport


def cfg(url: str, *, ca_file: Path | None = None, allow_plain_http: bool = False, simulated: bool = False) -> Any:
    return SimpleNamespace(path=Path("config.toml"), station=SimpleNamespace(simulated=simulated),
                           central=SimpleNamespace(url=url, ca_file=ca_file, allow_plain_http=allow_plain_http))


def test_https_to_the_pinned_certificate_works_and_any_other_is_refused(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, "central", "central")
    other, _ = self_signed_certificate(tmp_path, "impostor", "impostor")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    reg = CentralRegistry(tmp_path / "central")
    server = CentralServer(reg, tls=ctx).start()
    station = StationKeys.init(tmp_path / "st")
    try:
        assert server.url.startswith("https://")
        good = CentralClient(server.url, "ST-01", station.signing,
                             verify=central_transport(cfg(server.url, ca_file=cert), server.url))
        assert good.health()["status"] == "ok"
        good.close()
        bad = CentralClient(server.url, "ST-01", station.signing,
                            verify=central_transport(cfg(server.url, ca_file=other), server.url))
        with pytest.raises(CentralUnavailable):
            bad.health()
        bad.close()
    finally:
        server.stop()
        reg.close()


def test_a_real_station_refuses_plain_http_and_https_without_a_pinned_certificate() -> None:
    with pytest.raises(ConfigError) as err:
        central_transport(cfg("http://central.example"), "http://central.example")
    assert err.value.code == "config.insecure_central"
    with pytest.raises(ConfigError) as err:
        central_transport(cfg("https://central.example"), "https://central.example")
    assert err.value.params["key"] == "central.ca_file"


def test_plain_http_only_with_the_flag_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.sync"):
        assert central_transport(cfg("http://central.example", allow_plain_http=True), "http://central.example")
    assert any("plain http" in r.getMessage() for r in caplog.records)


def test_a_url_that_only_looks_local_gets_no_plain_http_exemption() -> None:
    """``http://localhost.example.net`` passed the old prefix check (``startswith("http://localhost")``)."""
    for url in ("http://localhost.example.net", "http://127.0.0.1.example.net:8080", "http://127.0.0.1:8080"):
        with pytest.raises(ConfigError):
            central_transport(cfg(url), url)


def test_the_stations_own_local_central_may_use_plain_http() -> None:
    assert central_transport(cfg("local"), "http://127.0.0.1:41234") is True
