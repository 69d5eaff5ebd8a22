"""https for the central: the server's TLS context, and a self-signed certificate for a central
that has no CA-issued one (the local central, a test or benchmark, a pilot deployment). The
station pins either the certificate itself or its CA as ``[central] ca_file``
(:func:`kiosk.sync.worker.central_transport`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def tls_context(cert_file: "str | Path", key_file: "str | Path") -> ssl.SSLContext:
    """The server side of https for the central: its certificate chain and key (the station
    pins the certificate or its CA as ``[central] ca_file``). TLS 1.2 at least; TLS 1.3 session
    tickets stay on (OpenSSL's default), so a station cut off mid-upload resumes its session
    instead of paying a full handshake (:mod:`kiosk.sync.tls_transport`)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


def self_signed_certificate(folder: Path, file_name: str, common_name: str, *, ip: str = "127.0.0.1",
                            days: int = 1) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate (a smaller handshake than RSA) for ``ip``, valid from
    five minutes ago for ``days``; written as ``<file_name>.crt`` and ``<file_name>.key`` (PEM)
    into ``folder``. Each call makes a new key, so two calls with the same names give two
    certificates a pinning station tells apart."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{file_name}.crt", folder / f"{file_name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path
