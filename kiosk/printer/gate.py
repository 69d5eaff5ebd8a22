"""The print gate: no card leaves the printer without the central's permit for exactly that card.

Before a single byte goes to a printer, :meth:`PrintGate.print_record` checks, in order:
the record is ``approved``; it has a stored permit that has never been used; the permit's
Ed25519 signature verifies with the pinned central key; it names this station and this record;
its card hash equals the SHA-256 of the card data recomputed NOW from the store (identity and
the photo/signature bytes, with :func:`kiosk.central.carddata.card_from_store`, the same
function the central hashes with); it is within its validity window. The card is rendered
from that same data, so what is printed is what the central signed.

Then, in ONE transaction (``RecordStore.transition(..., extra=...)``): the record moves
``approved -> printing``, the permit is marked ``in_use`` (a conditional update: a second
process racing for the same permit fails and rolls back) and a ``prints`` row remembers the
printer's card counter. Only after that commit is the card sent.

Outcome rules (never a double print, never a permit both unspent and printed):

- printed: ``printing -> printed``, permit ``spent``, stock -1 card -1 ribbon print.
- failed before any card left the hopper (the driver says ``card_fed=False``): back to
  ``approved``, the failure recorded, the permit usable again (nothing was printed).
- failed after a card was fed, or the outcome is unknown: back to ``approved``, the card
  recorded as spoiled, the permit ``spoiled`` and a reprint request (with the reason) queued
  for the central: printing again needs a NEW permit.
- start-up (:meth:`recover`): a record found in ``printing`` (the process died mid-print) is
  resolved with the printer's counter: unchanged -> no card fed, permit usable again;
  changed or unknown -> spoiled, reprint request. An operator checks the output tray.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.carddata import StationCard, card_from_store
from kiosk.central.permit import PermitError, PrintPermit, card_data_hash
from kiosk.devices.errors import DeviceError
from kiosk.devices.protocols import CardPrinter
from kiosk.errors import KioskError
from kiosk.printer.layout import Template, render_card
from kiosk.printer.ledger import PermitRow, add_movement, ensure_schema, permits_for, store_permit
from kiosk.store.queue import RecordStore, now_iso
from kiosk.store.states import RecordState


class PrintRefused(KioskError):
    """The gate refused to print; ``code`` says why (print.not_approved, print.no_permit ...)."""

    code = "print.refused"


@dataclass(frozen=True)
class PrintOutcome:
    record_id: str
    permit_id: str
    job: str
    print_id: int


@dataclass(frozen=True)
class Prepared:
    record_id: str
    permit: PrintPermit
    data: dict[str, Any]
    front: np.ndarray


Progress = Callable[[int, int, str], None]


class PrintGate:
    def __init__(self, store: RecordStore, *, central_key: Ed25519PublicKey, station_id: str,
                 template: Template | None = None, now: Callable[[], dt.datetime] | None = None) -> None:
        self.store = store
        self.central_key = central_key
        self.station_id = station_id
        self.template = template
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        ensure_schema(store)

    def store_permit(self, record_id: str, permit: PrintPermit | dict[str, Any]) -> bool:
        """Keep a permit the central sent (see :func:`kiosk.printer.ledger.store_permit`)."""
        return store_permit(self.store, record_id, permit)

    # -- checks -----------------------------------------------------------------------------
    def current_card(self, record_id: str, permit: PrintPermit) -> StationCard:
        """The card recomputed from the store now (what would be printed under ``permit``)."""
        return card_from_store(self.store, record_id, issued_at=permit.issued_at)

    @staticmethod
    def _usable(rows: list[PermitRow]) -> PermitRow | None:
        usable = [r for r in rows if r.status == "received"]
        return usable[-1] if usable else None

    def prepare(self, record_id: str) -> Prepared:
        """Every check of the gate, and the rendered card; raises PrintRefused/PermitError."""
        rec = self.store.get(record_id)
        if rec.state is not RecordState.APPROVED:
            raise PrintRefused("print.not_approved", record_id=record_id, state=str(rec.state))
        rows = permits_for(self.store, record_id)
        row = self._usable(rows)
        if row is None:
            if rows:
                raise PrintRefused("print.permit_used", record_id=record_id, permit_id=rows[-1].permit_id)
            raise PrintRefused("print.no_permit", record_id=record_id)
        if row.permit is None:
            raise PermitError("permit.malformed")
        try:
            card = self.current_card(record_id, row.permit)
        except ValueError:  # an issued_at that is no date: the signature check would refuse it too
            raise PermitError("permit.malformed") from None
        row.permit.verify(self.central_key, station_id=self.station_id, record_id=record_id,
                          card_hash=card_data_hash(card.data), now=self._now())
        front = render_card(card.data, photo=card.photo, signature=card.signature, template=self.template)
        return Prepared(record_id, row.permit, card.data, front)

    # -- printing ---------------------------------------------------------------------------
    def print_record(self, record_id: str, printer: CardPrinter, *, actor: str,
                     progress: Progress | None = None) -> PrintOutcome:
        try:
            prep = self.prepare(record_id)
        except (PrintRefused, PermitError) as exc:
            self.store.log_action(actor, "print_refused", record_id=record_id, reason=exc.code,
                                  params={k: str(v) for k, v in exc.params.items()})
            raise
        counter_before = self._counter(printer)
        permit_id = prep.permit.permit_id
        holder: dict[str, int] = {}

        def use_permit(conn: sqlite3.Connection) -> None:
            cur = conn.execute("UPDATE print_permits SET status='in_use', used_at=? WHERE permit_id=? AND status='received'",
                               (now_iso(), permit_id))
            if cur.rowcount != 1:  # someone else took it between prepare() and now: roll everything back
                raise PrintRefused("print.permit_used", record_id=record_id, permit_id=permit_id)
            cur = conn.execute("INSERT INTO prints(record_id, permit_id, printer, state, started_at, counter_before)"
                               " VALUES (?,?,?,?,?,?)", (record_id, permit_id, printer.name, "started", now_iso(),
                                                         counter_before))
            holder["print_id"] = int(cur.lastrowid or 0)
            conn.execute("UPDATE print_permits SET print_job=? WHERE permit_id=?", (holder["print_id"], permit_id))

        self.store.transition(record_id, RecordState.PRINTING, actor=actor, expect=RecordState.APPROVED,
                              params={"permit_id": permit_id}, extra=use_permit)
        print_id = holder["print_id"]
        try:
            job = printer.print_card(prep.front, None, progress=progress)
        except DeviceError as exc:
            fed = exc.params.get("card_fed")
            self._failed(record_id, permit_id, print_id, reason=exc.code, fed=fed if isinstance(fed, bool) else None,
                         actor=actor, params={k: str(v) for k, v in exc.params.items()})
            raise
        except BaseException as exc:  # a bug or an interrupt mid-job: the card's fate is unknown
            self._failed(record_id, permit_id, print_id, reason=f"error.{type(exc).__name__}", fed=None, actor=actor)
            raise
        self._printed(record_id, permit_id, print_id, job, actor=actor)
        return PrintOutcome(record_id, permit_id, job, print_id)

    @staticmethod
    def _counter(printer: CardPrinter | None) -> int | None:
        if printer is None or not printer.is_open:
            return None
        try:
            return printer.supplies().total_printed
        except DeviceError:
            return None

    def _printed(self, record_id: str, permit_id: str, print_id: int, job: str, *, actor: str) -> None:
        def done(conn: sqlite3.Connection) -> None:
            ts = now_iso()
            conn.execute("UPDATE print_permits SET status='spent', spent_at=? WHERE permit_id=?", (ts, permit_id))
            conn.execute("UPDATE prints SET state='printed', finished_at=?, printer_job=? WHERE id=?", (ts, job, print_id))
            add_movement(conn, "printed", cards=-1, ribbon_panels=-1, record_id=record_id, actor=actor)

        self.store.transition(record_id, RecordState.PRINTED, actor=actor, expect=RecordState.PRINTING,
                              params={"permit_id": permit_id, "job": job}, extra=done)

    def _failed(self, record_id: str, permit_id: str, print_id: int, *, reason: str, fed: bool | None, actor: str,
                params: dict[str, Any] | None = None) -> None:
        """Back to approved; the permit is usable again only when no card was fed."""

        def undo(conn: sqlite3.Connection) -> None:
            ts = now_iso()
            detail = json.dumps(params or {}, sort_keys=True)
            if fed is False:
                conn.execute("UPDATE print_permits SET status='received', used_at=NULL, print_job=NULL WHERE permit_id=?",
                             (permit_id,))
                conn.execute("UPDATE prints SET state='failed', finished_at=?, reason=?, params=? WHERE id=?",
                             (ts, reason, detail, print_id))
                return
            conn.execute("UPDATE print_permits SET status='spoiled', spoiled_at=? WHERE permit_id=?", (ts, permit_id))
            conn.execute("UPDATE prints SET state='spoiled', finished_at=?, reason=?, params=? WHERE id=?",
                         (ts, reason, detail, print_id))
            add_movement(conn, "spoiled", cards=-1, reason=reason, record_id=record_id, actor=actor)
            conn.execute("INSERT INTO reprint_requests(record_id, permit_id, reason, created_at) VALUES (?,?,?,?)",
                         (record_id, permit_id, reason, ts))

        self.store.transition(record_id, RecordState.APPROVED, actor=actor, expect=RecordState.PRINTING,
                              reason=reason, params={"permit_id": permit_id, "card_fed": fed}, extra=undo)

    # -- start-up ---------------------------------------------------------------------------
    def recover(self, printer: CardPrinter | None, *, actor: str = "system") -> list[tuple[str, str]]:
        """Resolve records left in ``printing`` by a crash. Returns (record_id, outcome) pairs."""
        out: list[tuple[str, str]] = []
        counter_now = self._counter(printer)
        for rec in self.store.list(RecordState.PRINTING):
            row = self.store.conn.execute("SELECT * FROM prints WHERE record_id=? AND state='started' ORDER BY id DESC LIMIT 1",
                                          (rec.id,)).fetchone()
            if row is None:  # cannot happen through the gate; still never leave a record stuck
                self.store.transition(rec.id, RecordState.APPROVED, actor=actor, reason="print.interrupted",
                                      expect=RecordState.PRINTING)
                out.append((rec.id, "no_print_row"))
                continue
            before = row["counter_before"]
            fed: bool | None = None
            if counter_now is not None and before is not None:
                fed = counter_now > before
            self._failed(rec.id, row["permit_id"], int(row["id"]), reason="print.interrupted", fed=fed, actor=actor,
                         params={"counter_before": before, "counter_now": counter_now})
            out.append((rec.id, "permit_reusable" if fed is False else "spoiled_reprint_needed"))
        return out
