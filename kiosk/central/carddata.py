"""The exact data printed on the front of an e-KTP, as the permit's ``card_hash`` covers it.

The central computes it from the packet when it approves a record; the station's print gate
recomputes it from its own store and compares ``card_data_hash(...)`` with
``permit.card_hash``. Both sides call :func:`card_data`, so they cannot drift apart.
The photo and signature are covered by the SHA-256 of the exact sample bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kiosk.identity import Identity

#: what the card says under "Berlaku Hingga" since 2016 (e-KTP valid for life)
VALIDITY = "SEUMUR HIDUP"
SEX_ON_CARD = {"M": "LAKI-LAKI", "F": "PEREMPUAN"}
CITIZENSHIP_ON_CARD = {"WNI": "WNI", "WNA": "WNA"}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def card_data(identity: Identity, record_id: str, *, photo_sha256: str, signature_sha256: str | None,
              issue_place: str, issue_date: str) -> dict[str, Any]:
    """Every field printed on the card front, upper-case as printed.

    ``issue_place`` is the regency/city that issues the card; ``issue_date`` (YYYY-MM-DD) is
    the date of the permit (``permit.issued_at[:10]``).
    """
    return {
        "record_id": record_id,
        "provinsi": identity.province.upper(),
        "kabupaten_kota": identity.regency.upper(),
        "nik": identity.nik,
        "nama": identity.full_name.upper(),
        "tempat_lahir": identity.birth_place.upper(),
        "tanggal_lahir": identity.birth_date.strftime("%d-%m-%Y"),
        "jenis_kelamin": SEX_ON_CARD[identity.sex],
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
        "tempat_terbit": issue_place.upper(),
        "tanggal_terbit": issue_date,
        "photo_sha256": photo_sha256,
        "signature_sha256": signature_sha256,
    }


def card_data_from_store(store: Any, record_id: str, *, issue_date: str) -> dict[str, Any]:
    """The card data of a station record (``store`` is a :class:`kiosk.store.RecordStore`).

    The issuing place is the resident's regency, as the central sets it.
    """
    identity = store.identity(record_id)
    kinds = {(s.kind, s.position) for s in store.samples(record_id)}
    photo = sha256_hex(store.sample_data(record_id, "face", 0)) if ("face", 0) in kinds else ""
    sig = sha256_hex(store.sample_data(record_id, "signature", 0)) if ("signature", 0) in kinds else None
    return card_data(identity, record_id, photo_sha256=photo, signature_sha256=sig,
                     issue_place=identity.regency, issue_date=issue_date)
