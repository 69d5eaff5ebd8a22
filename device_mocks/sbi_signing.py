"""The SBI emulator's test PKI: an RSA key with a self-signed certificate that signs compact JWS
(RS256, the certificate in the ``x5c`` header), as MOSIP MockMDS signs with its keystore
(mosip/mosip-mock-services MockMDS ``JwtUtility.java``; SBI specification 0.9.5, "Signature").
A driver pins the certificate the emulator writes as PEM; ``untrusted`` signs with another one."""

from __future__ import annotations

import base64
import datetime as dt
import json
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@cache
def _rsa_key(slot: int) -> rsa.RSAPrivateKey:
    # RSA-2048 generation costs ~0.3 s; emulators of one process share a key per slot (each
    # still gets its own certificate, which is what the driver pins and checks).
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestSigner:
    """An RSA key with a self-signed certificate, signing compact JWS with x5c headers."""

    __test__ = False  # not a pytest test class

    def __init__(self, common_name: str, *, key_slot: int = 0) -> None:
        self.key = _rsa_key(key_slot)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kiosk simulated SBI device")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                     .sign(self.key, hashes.SHA256()))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self._header = b64url(json.dumps({"alg": "RS256", "typ": "JWT",
                                          "x5c": [base64.b64encode(der).decode()]}).encode())

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, payload: bytes, *, corrupt: bool = False) -> str:
        head_body = f"{self._header}.{b64url(payload)}"
        sig = bytearray(self.key.sign(head_body.encode(), padding.PKCS1v15(), hashes.SHA256()))
        if corrupt:
            sig[len(sig) // 2] ^= 0x55
        return f"{head_body}.{b64url(bytes(sig))}"
