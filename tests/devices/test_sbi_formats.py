"""The SBI driver's parsers: ISO/IEC 19794-4:2011 records and x5c-signed compact JWS."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.sbi import iso_finger_record, synthetic_finger
from kiosk.devices.iso19794_4 import IsoRecordError, parse_record
from kiosk.devices.jws import JwsError, b64url_encode, verify
from kiosk.devices.sbi_wire import JPEG_START, multipart_frames

FINGER = synthetic_finger(11, 64, 80)
PNG_RECORD = iso_finger_record(FINGER, 7, 66, compression="png")


def test_record_header_fields_are_read() -> None:
    (rep,) = parse_record(PNG_RECORD).representations
    assert (rep.position, rep.quality, rep.ppi, rep.bit_depth, rep.compression_name) == (7, 66, 500, 8, "png")
    assert (rep.width, rep.height) == (64, 80)
    assert np.array_equal(rep.decode(), FINGER)


@pytest.mark.parametrize("compression, name, tolerance", [("jp2", "jpeg2000", 12), ("wsq", "wsq", 15)])
def test_lossy_records_decode_close_to_the_original(compression: str, name: str, tolerance: float) -> None:
    finger = synthetic_finger(12, 160, 200)  # WSQ needs a finger-sized image to do well
    (rep,) = parse_record(iso_finger_record(finger, 2, 50, compression=compression)).representations
    assert rep.compression_name == name
    assert np.abs(rep.decode().astype(np.int16) - finger.astype(np.int16)).mean() < tolerance


def test_raw_and_ppcm_records_decode() -> None:
    # A record built by hand here (not by the emulator): raw pixels, scale in pixels per cm.
    h, w = 4, 3
    pixels = bytes(range(12))
    rep = (struct.pack(">HBBBBBH", 2026, 1, 2, 3, 4, 5, 6) + struct.pack(">BHH", 0, 1, 1) + b"\x00"
           + struct.pack(">BBB", 3, 0, 2) + struct.pack(">HHHH", 197, 197, 197, 197)
           + struct.pack(">BBB", 8, 0, 0) + struct.pack(">HHI", w, h, len(pixels)) + pixels)
    rep = struct.pack(">I", len(rep) + 4) + rep
    record = struct.pack(">4s4sIHBB", b"FIR\x00", b"020\x00", 16 + len(rep), 1, 0, 1) + rep
    (parsed,) = parse_record(record).representations
    assert parsed.ppi == 500 and parsed.quality is None and parsed.position == 3
    assert parsed.decode().tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]


def test_wrong_version_and_length_are_refused() -> None:
    with pytest.raises(IsoRecordError, match="version"):
        parse_record(PNG_RECORD[:4] + b"010\x00" + PNG_RECORD[8:])
    with pytest.raises(IsoRecordError, match="length"):
        parse_record(PNG_RECORD + b"\x00")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_only_record_errors(data: bytes) -> None:
    # a well-formed general header (right length, one representation) over random contents, so
    # the parser gets past the header into the representation fields
    record = struct.pack(">4s4sIHBB", b"FIR\x00", b"020\x00", 16 + len(data), 1, data[:1] == b"\x01", 1) + data
    for candidate in (record, b"FIR\x00020\x00" + data):
        try:
            for rep in parse_record(candidate).representations:
                rep.decode()
        except IsoRecordError:
            pass


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(PNG_RECORD) - 1), st.integers(1, 255), st.booleans())
def test_corrupted_records_give_only_record_errors(index: int, flip: int, truncate: bool) -> None:
    data = PNG_RECORD[:index] if truncate else PNG_RECORD[:index] + bytes([PNG_RECORD[index] ^ flip]) + \
        PNG_RECORD[index + 1:]
    try:
        for rep in parse_record(data).representations:
            assert rep.decode().shape == (rep.height, rep.width)
    except IsoRecordError:
        pass


# -- JWS --------------------------------------------------------------------------------------------


def _cert(key, subject: str, issuer_key=None, issuer: str | None = None, *, ca: bool = False,  # type: ignore[no-untyped-def]
          days: int = 30) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _token(key, cert: x509.Certificate, payload: bytes, alg: str = "RS256") -> str:  # type: ignore[no-untyped-def]
    header = {"alg": alg, "typ": "JWT",
              "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
    signed = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(payload)}"
    if alg == "RS256":
        sig = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signed.encode(), ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return f"{signed}.{b64url_encode(sig)}"


RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_device_certificate_issued_by_a_pinned_provider_ca_is_trusted() -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_key, "Device Provider CA", ca=True)
    device = _cert(RSA_KEY, "device 1", ca_key, "Device Provider CA")
    token = _token(RSA_KEY, device, b'{"bioValue": "x"}')
    assert verify(token, (ca,)).json() == {"bioValue": "x"}
    with pytest.raises(JwsError) as err:
        verify(token, (_cert(ec.generate_private_key(ec.SECP256R1()), "Other CA", ca=True),))
    assert err.value.reason == "untrusted"


def test_es256_tokens_verify_and_tampering_is_caught() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(key, "ec device")
    token = _token(key, cert, b'{"a": 1}', alg="ES256")
    assert verify(token, (cert,)).json() == {"a": 1}
    head, _, sig = token.split(".")
    forged_body = b64url_encode(b'{"a": 2}')
    forged = f"{head}.{forged_body}.{sig}"
    with pytest.raises(JwsError) as err:
        verify(forged, (cert,))
    assert err.value.reason == "bad_signature"


def test_expired_certificate_is_untrusted() -> None:
    cert = _cert(RSA_KEY, "old device")
    token = _token(RSA_KEY, cert, b"{}")
    with pytest.raises(JwsError) as err:
        verify(token, (cert,), now=dt.datetime.now(dt.UTC) + dt.timedelta(days=400))
    assert err.value.reason == "untrusted"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.e30.e30", "e30.e30.e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(JwsError):
        verify(token, ())


def test_algorithm_mismatch_is_refused() -> None:
    cert = _cert(RSA_KEY, "rsa device")
    token = _token(RSA_KEY, cert, b"{}")
    head, body, sig = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    header["alg"] = "HS256"
    bad = f"{b64url_encode(json.dumps(header).encode())}.{body}.{sig}"
    with pytest.raises(JwsError) as err:
        verify(bad, (cert,))
    assert err.value.reason == "unsupported_alg"


# -- multipart/x-mixed-replace (STREAM) ------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=4), st.lists(st.integers(1, 30), max_size=20),
       st.booleans(), st.sampled_from([(b"--frame", b"--frame"), (b"frame", b"--frame"), (b"--frame", b"----frame")]))
def test_stream_frames_survive_any_chunking(parts: list[bytes], cuts: list[int], with_length: bool,
                                            boundary: tuple[bytes, bytes]) -> None:
    # declared boundary vs. the line written: MockMDS declares "--BoundaryString" and writes
    # "--BoundaryString"; RFC 2046 would write "--" + declared. Frames are JPEG (0xFF 0xD8 first).
    declared, line = boundary
    parts = [JPEG_START + p.replace(b"frame", b"") for p in parts]
    stream = b""
    for p in parts:
        length = b"Content-Length:%d\r\n" % len(p) if with_length else b""
        stream += line + b"\r\nContent-Type:image/jpeg\r\n" + length + b"\r\n" + p + b"\r\n"
    stream += line + b"--\r\n"
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(stream[pos:pos + cut])
        pos += cut
    chunks.append(stream[pos:])
    got = list(multipart_frames(iter(chunks), declared))
    expected = parts if with_length else [p.rstrip(b"\r\n") for p in parts]
    assert got == expected
