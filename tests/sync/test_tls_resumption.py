"""TLS to the central on a link that keeps breaking (issue 13 §3): after a cut the station
resumes its TLS session (no certificate down the link again), and pinning is as strict on a
resumed connection: a central with a foreign certificate, even one copying the real one's
names, is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer, tls_context
from kiosk.sync.client import CentralClient, CentralUnavailable
from kiosk.sync.worker import central_transport


def certificate(folder: Path, file_name: str, common_name: str = "central.test") -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for 127.0.0.1 (two calls with the same
    ``common_name`` give two certificates with the same names and different keys)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{file_name}.crt", folder / f"{file_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Forwarder:
    """A TCP relay on 127.0.0.1 that can cut every connection (RST) and be pointed at another
    server: the station keeps one address while what answers there changes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self.accepted += 1
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        with self._lock:
            for s in self._open:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._open.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _central(folder: Path, cert: Path, key: Path) -> tuple[CentralRegistry, CentralServer]:
    reg = CentralRegistry(folder)
    return reg, CentralServer(reg, tls=tls_context(cert, key)).start()


@pytest.fixture
def pinned(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The real central (its certificate pinned by the station) behind a relay, and a client."""
    cert, key = certificate(tmp_path, "central")
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
    cert, key = certificate(pinned.tmp, "impostor", impostor_name)
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
