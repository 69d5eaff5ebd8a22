"""TLS to the central on a link that keeps breaking (issue 13 §3): after a cut the station
resumes its TLS session (no certificate down the link again), and pinning is as strict on a
resumed connection: a central with a foreign certificate, even one copying the real one's
names, is refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.central.tls import self_signed_certificate, tls_context
from kiosk.sync.client import CentralClient, CentralUnavailable
from kiosk.sync.worker import central_transport
from tests.sync.tls_rig import Forwarder


def _central(folder: Path, cert: Path, key: Path) -> tuple[CentralRegistry, CentralServer]:
    reg = CentralRegistry(folder)
    return reg, CentralServer(reg, tls=tls_context(cert, key)).start()


@pytest.fixture
def pinned(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The real central (its certificate pinned by the station) behind a relay, and a client."""
    cert, key = self_signed_certificate(tmp_path, "central", "central.test")
    reg, server = _central(tmp_path / "central", cert, key)
    relay = Forwarder(int(server.url.rsplit(":", 1)[1]))
    url = f"https://127.0.0.1:{relay.port}"
    cfg = SimpleNamespace(path=Path("config.toml"), station=SimpleNamespace(simulated=False),
                          central=SimpleNamespace(url=url, ca_file=cert, allow_plain_http=False))
    client = CentralClient(url, "ST-01", StationKeys.init(tmp_path / "st").signing,
                           verify=central_transport(cfg, url), timeout_s=5.0)
    yield SimpleNamespace(client=client, relay=relay, tmp=tmp_path)
    client.close()
    relay.close()
    server.stop()
    reg.close()


def test_after_a_cut_the_next_connection_resumes_the_tls_session(pinned: SimpleNamespace) -> None:
    client, relay = pinned.client, pinned.relay
    assert client.health()["status"] == "ok"
    assert client.tls_handshakes() == (1, 0)  # the first connection: a full handshake
    relay.cut()
    # the pool sees the cut idle connection (readable: reset) and opens a new one
    assert client.health()["status"] == "ok"
    handshakes, resumed = client.tls_handshakes()
    assert relay.accepted == 2 and handshakes == 2
    assert resumed == 1  # the second connection resumed the first one's session


def test_a_resumed_connection_offers_its_session_to_that_origin_only(pinned: SimpleNamespace) -> None:
    client = pinned.client
    client.health()
    cache = client.tls_sessions
    assert cache is not None
    origins = list(cache._sessions)
    assert [o[:2] for o in origins] == [("127.0.0.1", pinned.relay.port)]


@pytest.mark.parametrize("impostor_name", ["central.test", "impostor.test"])
def test_a_foreign_certificate_is_refused_on_a_connection_that_offers_a_session(
        pinned: SimpleNamespace, impostor_name: str) -> None:
    """The station holds a session of the real central; the relay now leads to a server with
    a certificate of its own (same names as the real one, or others): it cannot accept the
    session, so it must show its certificate, and the pinned context refuses it."""
    client, relay = pinned.client, pinned.relay
    client.health()
    assert client.tls_sessions is not None and client.tls_sessions.get(
        ("127.0.0.1", relay.port, "127.0.0.1")) is not None
    cert, key = self_signed_certificate(pinned.tmp, "impostor", impostor_name)
    reg, impostor = _central(pinned.tmp / "impostor", cert, key)
    try:
        relay.target_port = int(impostor.url.rsplit(":", 1)[1])
        relay.cut()
        for _ in range(2):  # each try is a new connection to the impostor
            with pytest.raises(CentralUnavailable) as err:
                client.health()
        assert err.value.params["kind"] == "ConnectError"
        assert client.tls_handshakes()[1] == 0  # nothing was resumed with the impostor
    finally:
        impostor.stop()
        reg.close()


def test_a_cut_during_the_handshake_is_a_cut_link_not_an_unreachable_central(pinned: SimpleNamespace) -> None:
    """The relay breaks inside the ClientHello: the station reports a cut (which the outbox
    goes on from at once), not ConnectError (which it backs off from and counts as offline)."""
    client, relay = pinned.client, pinned.relay
    relay.cut_after = len(relay.uplink) + 100
    with pytest.raises(CentralUnavailable) as err:
        client.health()
    assert err.value.code == "sync.network"
    assert err.value.params["kind"] == "ReadError"
    assert client.health()["status"] == "ok"  # the next connection gets through
