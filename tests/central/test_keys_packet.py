"""Keys on disk, sealed packets: only the central can open them, and any change is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.central.keys import CentralKeys, KeyFileError, StationKeys
from kiosk.central.packet import CONTENT_FORMAT, PacketError, open_packet, read_header, seal

RECORD = "0b6f6c1e-8a4e-4a43-9f7a-0d2c1c1f0001"


def test_station_keys_are_private_files_and_stable_across_starts(tmp_path: Path) -> None:
    first = StationKeys.init(tmp_path)
    assert first.created
    mode = os.stat(tmp_path / "keys" / "station_ed25519.pem").st_mode & 0o777
    assert mode == 0o600
    again = StationKeys.init(tmp_path)
    assert not again.created
    assert again.public.public_bytes_raw() == first.public.public_bytes_raw()


def test_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    StationKeys.init(tmp_path)
    os.chmod(tmp_path / "keys" / "station_ed25519.pem", 0o644)
    with pytest.raises(KeyFileError) as err:
        StationKeys.load(tmp_path)
    assert err.value.code == "keys.permissions"


def test_central_keys_created_with_owner_only_private_files(tmp_path: Path) -> None:
    keys = CentralKeys.init(tmp_path)
    for name in ("central_ed25519.pem", "central_x25519.pem"):
        assert os.stat(keys.folder / name).st_mode & 0o777 == 0o600
    assert CentralKeys.init(tmp_path).sealing_public.public_bytes_raw() == keys.sealing_public.public_bytes_raw()


@pytest.fixture(scope="module")
def parties() -> tuple[Ed25519PrivateKey, X25519PrivateKey]:
    return Ed25519PrivateKey.generate(), X25519PrivateKey.generate()


VALID = json.dumps({"format": CONTENT_FORMAT, "record_id": RECORD, "station_id": "ST-01", "samples": [],
                    "identity": {"nik": "3201015705900001"}}).encode()


def _seal(station: Ed25519PrivateKey, central: X25519PrivateKey, content: bytes = VALID) -> bytes:
    return seal(content, record_id=RECORD, station_id="ST-01", submission=1, station_key=station,
                central_key=central.public_key())


def _open(blob: bytes, station: Ed25519PrivateKey, central: X25519PrivateKey) -> dict:  # type: ignore[type-arg]
    return open_packet(blob, station_key=lambda sid: station.public_key() if sid == "ST-01" else None, central_key=central).content


def test_sealed_packet_opens_at_the_central(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    assert _open(_seal(station, central), station, central)["identity"]["nik"] == "3201015705900001"


def test_sealed_packet_hides_content_and_names_record_in_clear_header(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = _seal(station, central)
    assert b"3201015705900001" not in blob
    header = read_header(blob)
    assert (header.record_id, header.station_id, header.submission) == (RECORD, "ST-01", 1)


def test_packet_flipped_byte_refused_as_bad_signature(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = bytearray(_seal(station, central))
    blob[-80] ^= 0x01  # inside the ciphertext
    with pytest.raises(PacketError) as err:
        _open(bytes(blob), station, central)
    assert err.value.code == "packet.signature"


def test_packet_resigned_after_tampering_refused_as_tampered(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = bytearray(_seal(station, central))
    body = blob[:-64]
    body[-20] ^= 0x01
    resigned = bytes(body) + station.sign(bytes(body))  # a thief with the station key still cannot alter it
    with pytest.raises(PacketError) as err:
        _open(resigned, station, central)
    assert err.value.code == "packet.tampered"


def test_packet_from_unknown_station_refused(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = seal(b"{}", record_id=RECORD, station_id="ST-99", submission=1, station_key=station,
                central_key=central.public_key())
    with pytest.raises(PacketError) as err:
        _open(blob, station, central)
    assert err.value.code == "packet.unknown_station"


def test_packet_signed_with_another_key_refused(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = _seal(Ed25519PrivateKey.generate(), central)
    with pytest.raises(PacketError) as err:
        _open(blob, station, central)
    assert err.value.code == "packet.signature"


def test_packet_for_another_central_refused(parties) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = _seal(station, X25519PrivateKey.generate())
    with pytest.raises(PacketError) as err:
        _open(blob, station, central)
    assert err.value.code == "packet.recipient"


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_single_bit_flip_is_refused(parties, position: int, bit: int) -> None:  # type: ignore[no-untyped-def]
    station, central = parties
    blob = bytearray(_seal(station, central))
    blob[position % len(blob)] ^= 1 << bit
    with pytest.raises(PacketError):
        _open(bytes(blob), station, central)
