"""What a receipt says: name, masked NIK, date, station, what happens next, and the record
reference the QR code carries for later status checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kiosk.errors import InputError
from kiosk.i18n import station_time
from kiosk.store import RecordState, RecordStore

#: the QR payload: a short, versioned reference a status desk (or the resident's phone) reads
REFERENCE_PREFIX = "KTPEL-REC:1"
MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
#: states without a receipt: still being captured, cancelled, or deleted at the central
NO_RECEIPT = frozenset({RecordState.DRAFT, RecordState.CAPTURED, RecordState.CANCELLED, RecordState.DELETED})


def mask_nik(nik: str) -> str:
    """The district (6 digits) and the serial (4 digits) stay readable; the birth date and sex
    in between are hidden, so a lost receipt does not give away the whole NIK."""
    return f"{nik[:6]}••••••{nik[-4:]}" if len(nik) == 16 else "•" * len(nik)


def long_date(when: dt.datetime, language: str) -> str:
    """The date in the station's time zone ([station] timezone: WIB, WITA or WIT)."""
    local = station_time(when)
    return f"{local.day} {MONTHS[language][local.month - 1]} {local.year}"


@dataclass(frozen=True)
class Receipt:
    record_id: str
    full_name: str
    masked_nik: str
    recorded_on: str
    station_id: str
    station_name: str
    reference: str
    state: RecordState


def receipt_for(store: RecordStore, record_id: str, *, station_id: str, station_name: str,
                language: str = "id") -> Receipt:
    """Raises InputError(receipt.not_recorded) for a record in :data:`NO_RECEIPT`."""
    rec = store.find(record_id)
    if rec.state in NO_RECEIPT:
        raise InputError("receipt.not_recorded", record_id=rec.id, state=str(rec.state))
    ident = store.identity(rec.id)
    created = dt.datetime.fromisoformat(rec.created_at)
    return Receipt(rec.id, ident.full_name, mask_nik(ident.nik), long_date(created, language), station_id,
                   station_name, f"{REFERENCE_PREFIX}:{station_id}:{rec.id}", rec.state)
