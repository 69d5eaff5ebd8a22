"""The exact data printed on the front of an e-KTP, as the permit's ``card_hash`` covers it.

ONE definition for both sides: the central computes it from the packet when it issues a
permit (:func:`card_data`), the station's sync worker and print gate recompute it from the
station's store (:func:`card_from_store`) and compare ``card_data_hash(...)`` with
``permit.card_hash``. The print gate renders the card FROM this dict, so every printed value
is covered by the central's signature. The photo and signature are covered by the SHA-256 of
the exact sample bytes.

Issue date rule (the same everywhere): the date printed under "tanggal terbit" is the calendar
date of the permit's ``issued_at`` as the central wrote it (its first 10 characters; the
central writes UTC), printed DD-MM-YYYY. Callers pass the permit's ``issued_at``, never a date
of their own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kiosk.identity import Identity

CARD_DATA_VERSION = 2
#: what the card says under "Berlaku Hingga" since 2016 (e-KTP valid for life)
VALIDITY = "SEUMUR HIDUP"
SEX_ON_CARD = {"M": "LAKI-LAKI", "F": "PEREMPUAN"}
CITIZENSHIP_ON_CARD = {"WNI": "WNI", "WNA": "WNA"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def region_word(name: str, prefix: str) -> str:
    """'Kab. Bogor' -> 'KABUPATEN BOGOR'; 'Kota Bandung' -> 'KOTA BANDUNG' (as the card header prints them)."""
    upper = name.strip().upper()
    for short, full in (("KAB.", "KABUPATEN"), ("KABUPATEN", "KABUPATEN"), ("KOTA", "KOTA")):
        if upper.startswith(short):
            return f"{full} {upper[len(short):].strip()}"
    return f"{prefix} {upper}".strip() if prefix else upper


def issue_date(issued_at: str) -> str:
    """The printed date of issue (DD-MM-YYYY) of a permit issued at ``issued_at`` (ISO 8601)."""
    year, month, day = issued_at[:10].split("-")
    return f"{day}-{month}-{year}"


def card_data(identity: Identity, record_id: str, *, photo_sha256: str, signature_sha256: str | None,
              issue_place: str, issued_at: str) -> dict[str, Any]:
    """Every value printed on the card front, upper-case as printed.

    ``issue_place`` is the regency/city that issues the card (the resident's regency);
    ``issued_at`` is the permit's ``issued_at`` (see the issue date rule above).
    """
    regency = region_word(identity.regency, "KABUPATEN")
    return {
        "version": CARD_DATA_VERSION,
        "record_id": record_id,
        "provinsi": region_word(identity.province, ""),
        "kabupaten_kota": regency,
        "nik": identity.nik,
        "nama": identity.full_name.upper(),
        "tempat_lahir": identity.birth_place.upper(),
        "tanggal_lahir": identity.birth_date.strftime("%d-%m-%Y"),
        "jenis_kelamin": SEX_ON_CARD.get(identity.sex, identity.sex),
        "golongan_darah": identity.blood_type,
        "alamat": identity.address.upper(),
        "rt_rw": f"{identity.rt}/{identity.rw}",
        "kelurahan_desa": identity.village.upper(),
        "kecamatan": identity.district.upper(),
        "agama": identity.religion,
        "status_perkawinan": identity.marital_status,
        "pekerjaan": identity.occupation.upper(),
        "kewarganegaraan": CITIZENSHIP_ON_CARD.get(identity.citizenship, identity.citizenship),
        "berlaku_hingga": VALIDITY,
        "tempat_terbit": region_word(issue_place, "").removeprefix("KABUPATEN ").strip(),
        "tanggal_terbit": issue_date(issued_at),
        "photo_sha256": photo_sha256,
        "signature_sha256": signature_sha256,
    }


@dataclass(frozen=True)
class StationCard:
    """A station record's card: the data the permit covers, and the sample bytes to print."""

    data: dict[str, Any]
    photo: bytes | None
    signature: bytes | None


def card_from_store(store: Any, record_id: str, *, issued_at: str) -> StationCard:
    """The card of a station record (``store`` is a :class:`kiosk.store.RecordStore`).

    The issuing place is the resident's regency, as the central sets it.
    """
    identity = store.identity(record_id)
    kinds = {(s.kind, s.position) for s in store.samples(record_id)}
    photo = store.sample_data(record_id, "face", 0) if ("face", 0) in kinds else None
    sig = store.sample_data(record_id, "signature", 0) if ("signature", 0) in kinds else None
    data = card_data(identity, record_id, photo_sha256=sha256_hex(photo) if photo is not None else "",
                     signature_sha256=sha256_hex(sig) if sig is not None else None,
                     issue_place=identity.regency, issued_at=issued_at)
    return StationCard(data, photo, sig)


def card_data_from_store(store: Any, record_id: str, *, issued_at: str) -> dict[str, Any]:
    """Only the data of :func:`card_from_store` (what the permit's hash covers)."""
    return card_from_store(store, record_id, issued_at=issued_at).data
