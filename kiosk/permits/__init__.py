"""Print permits and reprint requests: one owner.

- :func:`receive` — the sync inbox hands over a permit the central sent, inside the
  transaction that approves the record (or answers a reprint request).
- :func:`parse_permit` — a permit document read strictly (typed :class:`MalformedPermit` refusals).
- :func:`check` — does this permit authorise exactly this record's card, here, now.
- :mod:`kiosk.permits.ledger` — single use as the audit chain proves it.
- reprint requests: :func:`reprint_requests`, :func:`reprint_answered`.

The print gate (:mod:`kiosk.printer.gate`) is the only caller of the status changes
(:func:`take`, :func:`mark_spent`, :func:`release`, :func:`mark_spoiled`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.permit import PermitError, PrintPermit, card_data_hash
from kiosk.permits.parse import MalformedPermit, parse_permit
from kiosk.permits.store import (PermitRow, adopt_sync_permits, attach_print, held_permits, mark_spent, mark_spoiled,
                                 permit, permits_for, receive, release, reprint_answered, reprint_requests, void_permits,
                                 store_permit, take)

__all__ = ["MalformedPermit", "PermitError", "PermitRow", "PrintPermit", "adopt_sync_permits", "attach_print", "check", "held_permits",
           "mark_spent", "mark_spoiled", "parse_permit", "permit", "permits_for", "receive", "release", "void_permits",
           "reprint_answered", "reprint_requests", "store_permit", "take"]


def check(store: Any, record_id: str, permit: PrintPermit, *, central_key: Ed25519PublicKey, station_id: str,
          now: dt.datetime | None = None) -> Any:
    """Raise PermitError unless ``permit`` authorises the card recomputed NOW from the store
    (:func:`kiosk.central.carddata.card_from_store`, what the central hashes). Returns that card."""
    from kiosk.central.carddata import card_from_store

    try:
        card = card_from_store(store, record_id, issued_at=permit.issued_at)
    except ValueError:  # an issued_at parse_permit let through but the card's date cannot use
        raise MalformedPermit(field="issued_at", problem="not_a_date") from None
    permit.verify(central_key, station_id=station_id, record_id=record_id, card_hash=card_data_hash(card.data),
                  now=now)
    return card
