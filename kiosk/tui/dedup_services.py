"""The services of the duplicate and receipt steps (the same contract as :mod:`kiosk.tui.services`:
no Textual here, a few lines over the real module, typed errors).

- the NIK step asks the central whether the NIK is recorded (:mod:`kiosk.dedup.nik_lookup`) and
  checks the NIK's district against the station's (:mod:`kiosk.dedup.district`);
- a deletion request is filed through the core (:func:`kiosk.sync.requests.request_deletion`);
- the resident's receipt is rendered and printed through CUPS (:mod:`kiosk.receipt`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from kiosk.config import Config
from kiosk.dedup.district import district_check, region_names
from kiosk.dedup.nik_lookup import EarlierRecord, LookupState, NikLookup
from kiosk.errors import KioskError
from kiosk.nik import NikError
from kiosk.receipt.content import long_date
from kiosk.store import RecordStore

log = logging.getLogger(__name__)


class ReceiptUnavailable(KioskError):
    """No CUPS queue is configured for receipts (``[receipt] queue`` in config.toml)."""

    code = "tui.receipt.no_queue"


# -- the NIK step ---------------------------------------------------------------------------------
def ask_central_about_nik(sync: Any, nik: str) -> NikLookup:
    """Never raises: no sync worker (not started, no central key) is an offline answer, like a
    dead link; the central decides later. ``sync`` is the app's StationSync (or None)."""
    if sync is None:
        return NikLookup(LookupState.OFFLINE)
    from kiosk.dedup.nik_lookup import lookup_nik

    worker = sync.worker
    try:
        return lookup_nik(worker.client, nik, central_key=worker.permit_key)
    except Exception:  # noqa: BLE001 - the lookup is advice: a bug in it must not stop an enrollment
        log.exception("NIK lookup failed")
        return NikLookup(LookupState.OFFLINE)


def earlier_words(record: EarlierRecord, language: str) -> dict[str, str]:
    """Where and when the resident was recorded, as the operator tells the resident: the
    district and regency by name, the date in long form ("23 November 2026")."""
    district, regency = region_names(record.region)
    try:
        when = long_date(dt.datetime.fromisoformat(record.recorded_at), language)
    except ValueError:
        when = record.recorded_at[:10]
    return {"station": record.station_id, "district": district or record.region, "regency": regency,
            "date": when}


def district_warning(nik: str, station_region: str) -> tuple[str, dict[str, str]] | None:
    """The catalog code and parameters of the district warning, or None (same district, or a NIK
    the NIK rules refuse anyway)."""
    try:
        return district_check(nik, station_region).message()
    except NikError:
        return None


# -- deletion requests ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DeletionRequest:
    """A deletion request the operator filed: the new record whose earlier record the central
    deletes, the reason, the request's idempotency key, and its status (``to_send``: sent on the
    next pass; ``waiting``: sent once the central calls the record a duplicate)."""

    record_id: str
    reason: str
    request_id: str
    status: str


def file_deletion(store: RecordStore, cfg: Config, record_id: str, reason: str, *, actor: str) -> DeletionRequest:
    """Through the core (one transaction with its audit row); asking twice is one request."""
    from kiosk.sync.requests import request_deletion, request_id
    from kiosk.sync.status import deletion_status

    status = request_deletion(store, record_id, reason=reason, actor=actor)
    row = deletion_status(store, record_id) or {}
    rid = row.get("request_id") or request_id(cfg.station.id, "deletion", record_id, row.get("submission", 1))
    return DeletionRequest(record_id, str(row.get("reason") or reason), str(rid), status)


# -- the receipt ----------------------------------------------------------------------------------
def print_receipt_of(store: RecordStore, cfg: Config, record_id: str) -> str:
    """Render the receipt (the station's language: the resident reads it) and print it on the
    configured CUPS queue; returns the job reference. Raises ReceiptUnavailable, InputError
    (record not recorded yet) or DeviceError (queue absent, printer stopped, job failed)."""
    from kiosk.receipt.content import receipt_for
    from kiosk.receipt.pdf import render_pdf
    from kiosk.receipt.printing import print_receipt

    if not cfg.receipt.queue:
        raise ReceiptUnavailable()
    language = cfg.station.language
    receipt = receipt_for(store, record_id, station_id=cfg.station.id, station_name=cfg.station.name,
                          language=language)
    pdf = render_pdf(receipt, language)
    return print_receipt(pdf, queue=cfg.receipt.queue, server=cfg.receipt.server,
                         job_timeout_s=cfg.receipt.job_timeout_s)
