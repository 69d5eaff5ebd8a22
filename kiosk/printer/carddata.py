"""Exactly what is printed on an e-KTP front, as one canonical dict (its hash is in the permit).

NOTE for the lead: the central engineer defines ``kiosk/central/carddata.py::card_data``; this is
the printer branch's own version (same idea: identity fields as printed + SHA-256 of the photo
and signature sample bytes). Unify the two when merging so the station and the central hash
the same dict. The date of issue is NOT in it: the printed date is the permit's ``issued_at``
date, which the central's signature already covers.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kiosk.central.permit import card_data_hash
from kiosk.identity import Identity

CARD_DATA_VERSION = 1
SEX_WORDS = {"M": "LAKI-LAKI", "F": "PEREMPUAN"}


def region_word(name: str, prefix: str) -> str:
    """'Kab. Bogor' -> 'KABUPATEN BOGOR'; 'Jawa Barat' -> 'JAWA BARAT' (as the card prints them)."""
    upper = name.strip().upper()
    for short, full in (("KAB.", "KABUPATEN"), ("KOTA", "KOTA")):
        if upper.startswith(short):
            return full + " " + upper[len(short):].strip()
    return f"{prefix} {upper}".strip() if prefix else upper


def card_data(identity: Identity, record_id: str, *, photo: bytes, signature: bytes) -> dict[str, Any]:
    """The printed fields of the e-KTP front plus SHA-256 of the photo and signature samples."""
    i = identity
    regency = region_word(i.regency, "KABUPATEN")
    return {
        "version": CARD_DATA_VERSION,
        "record_id": record_id,
        "province": region_word(i.province, ""),
        "regency": regency,
        "nik": i.nik,
        "name": i.full_name.upper(),
        "birth": f"{i.birth_place.upper()}, {i.birth_date:%d-%m-%Y}",
        "sex": SEX_WORDS.get(i.sex, i.sex),
        "blood_type": i.blood_type,
        "address": i.address.upper(),
        "rt_rw": f"{i.rt}/{i.rw}",
        "village": i.village.upper(),
        "district": i.district.upper(),
        "religion": i.religion,
        "marital_status": i.marital_status,
        "occupation": i.occupation.upper(),
        "citizenship": i.citizenship,
        "valid_until": "SEUMUR HIDUP",
        "issue_place": regency.replace("KABUPATEN ", ""),
        "photo_sha256": hashlib.sha256(photo).hexdigest(),
        "signature_sha256": hashlib.sha256(signature).hexdigest(),
    }


def card_hash(data: dict[str, Any]) -> str:
    return card_data_hash(data)
