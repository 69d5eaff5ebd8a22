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
  changed or unknown -> the card may have come out whole (a printer finishes a job on its own),
  so the record waits for the operator to look in the output tray (:meth:`pending_tray_checks`,
  :meth:`resolve_tray`): a good card is booked as printed, a bad one destroyed and booked as
  spoiled with a reprint request. Nothing prints for that record until then.

Single use does not rest on ``print_permits.status`` alone (a row anyone with the database can
reset): the gate also replays the permit's life from the hash-chained audit trail
(:mod:`kiosk.permits.ledger`) and refuses a permit the chain shows taken, spent or spoiled, and
a record whose state the chain does not show. After each print start and outcome the gate calls
``sign_checkpoint`` (a signed audit checkpoint, :func:`kiosk.ops.audit.checkpoint`), so the
unsigned tail is at most what happened since the last print or sync exchange.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk import permits
from kiosk.central.carddata import StationCard, card_from_store
from kiosk.central.permit import PermitError, PrintPermit
from kiosk.devices.errors import DeviceError
from kiosk.devices.protocols import CardPrinter
from kiosk.errors import KioskError
from kiosk.permits.ledger import audited_state, permit_history
from kiosk.printer.layout import Template, render_card
from kiosk.printer.ledger import add_movement, ensure_schema
from kiosk.store.queue import RecordStore, now_iso
from kiosk.store.states import RecordState

#: ``prints.state`` of an interrupted print whose card may have come out: the operator looks
TRAY_CHECK = "check_tray"


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


@dataclass(frozen=True)
class TrayCheck:
    """An interrupted print whose card may be in the output tray, waiting for the operator."""

    record_id: str
    permit_id: str
    print_id: int
    started_at: str


class PrintGate:
    def __init__(self, store: RecordStore, *, central_key: Ed25519PublicKey, station_id: str,
                 template: Template | None = None, now: Callable[[], dt.datetime] | None = None,
                 sign_checkpoint: Callable[[], object] | None = None) -> None:
        self.store = store
        self.central_key = central_key
        self.station_id = station_id
        self.template = template
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        self._sign_checkpoint = sign_checkpoint
        ensure_schema(store)

    def _checkpoint(self) -> None:
        """Sign the newest audit entry (after the commit it follows; a failure to sign is
        logged by the signer and never undoes or blocks a print)."""
        if self._sign_checkpoint is not None:
            try:
                self._sign_checkpoint()
            except Exception:  # noqa: BLE001 - the print is committed; the next checkpoint covers it
                import logging

                logging.getLogger("kiosk.printer.gate").exception("audit checkpoint after a print failed")

    # -- checks -----------------------------------------------------------------------------
    def current_card(self, record_id: str, permit: PrintPermit) -> StationCard:
        """The card recomputed from the store now (what would be printed under ``permit``)."""
        return card_from_store(self.store, record_id, issued_at=permit.issued_at)

    def prepare(self, record_id: str) -> Prepared:
        """Every check of the gate, and the rendered card; raises PrintRefused/PermitError."""
        rec = self.store.get(record_id)
        if rec.state is not RecordState.APPROVED:
            raise PrintRefused("print.not_approved", record_id=record_id, state=str(rec.state))
        conn = self.store.conn
        rows = permits.permits_for(self.store, record_id)
        received = [r for r in rows if r.status == "received"]
        if not received:
            if rows:
                raise PrintRefused("print.permit_used", record_id=record_id, permit_id=rows[-1].permit_id)
            raise PrintRefused("print.no_permit", record_id=record_id)
        row = received[-1]
        if row.permit is None:
            raise row.problem or PermitError("permit.malformed")
        history = permit_history(conn, record_id, row.permit_id)
        if history.status != "received":  # the row says usable, the signed trail says otherwise
            raise PrintRefused("print.permit_spent", record_id=record_id, permit_id=row.permit_id,
                               audited=history.status)
        audited = audited_state(conn, record_id)
        if audited != RecordState.APPROVED:  # the state was set behind the audit trail's back
            raise PrintRefused("print.state_unaudited", record_id=record_id, state=str(rec.state),
                               audited=str(audited))
        card = permits.check(self.store, record_id, row.permit, central_key=self.central_key,
                             station_id=self.station_id, now=self._now())
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
            if not permits.take(conn, permit_id):  # someone else took it between prepare() and now: roll back
                raise PrintRefused("print.permit_used", record_id=record_id, permit_id=permit_id)
            if permit_history(conn, record_id, permit_id).reused_at:  # the chain, this move included
                raise PrintRefused("print.permit_spent", record_id=record_id, permit_id=permit_id, audited="in_use")
            cur = conn.execute("INSERT INTO prints(record_id, permit_id, printer, state, started_at, counter_before)"
                               " VALUES (?,?,?,?,?,?)", (record_id, permit_id, printer.name, "started", now_iso(),
                                                         counter_before))
            holder["print_id"] = int(cur.lastrowid or 0)
            permits.attach_print(conn, permit_id, holder["print_id"])

        try:
            self.store.transition(record_id, RecordState.PRINTING, actor=actor, expect=RecordState.APPROVED,
                                  params={"permit_id": permit_id}, extra=use_permit)
        except PrintRefused as exc:
            self.store.log_action(actor, "print_refused", record_id=record_id, reason=exc.code,
                                  params={k: str(v) for k, v in exc.params.items()})
            raise
        self._checkpoint()  # the permit's use is signed before a byte goes to the printer
        print_id = holder["print_id"]
        try:
            job = printer.print_card(prep.front, None, progress=progress)
        except DeviceError as exc:
            fed = exc.params.get("card_fed")
            self._failed(record_id, permit_id, print_id, reason=exc.code, fed=fed if isinstance(fed, bool) else None,
                         actor=actor, params={k: str(v) for k, v in exc.params.items()})
            raise
        except BaseException:  # a bug or an interrupt mid-job: the card may be whole in the tray
            self._await_tray(print_id)
            raise
        self._printed(record_id, permit_id, print_id, job, actor=actor)
        return PrintOutcome(record_id, permit_id, job, print_id)

    def _await_tray(self, print_id: int) -> None:
        """Leave the record in ``printing`` until the operator has looked in the output tray."""
        try:
            with self.store.transaction() as conn:
                conn.execute("UPDATE prints SET state=? WHERE id=? AND state='started'", (TRAY_CHECK, print_id))
        except Exception:  # noqa: BLE001 - the start-up recovery finds the print 'started' instead
            pass

    @staticmethod
    def _counter(printer: CardPrinter | None) -> int | None:
        if printer is None or not printer.is_open:
            return None
        try:
            return printer.supplies().total_printed
        except DeviceError:
            return None

    def _printed(self, record_id: str, permit_id: str, print_id: int, job: str, *, actor: str,
                 tray: str | None = None) -> None:
        def done(conn: sqlite3.Connection) -> None:
            ts = now_iso()
            permits.mark_spent(conn, permit_id)
            conn.execute("UPDATE prints SET state='printed', finished_at=?, printer_job=? WHERE id=?", (ts, job, print_id))
            add_movement(conn, "printed", cards=-1, ribbon_panels=-1, record_id=record_id, actor=actor)

        params: dict[str, Any] = {"permit_id": permit_id, "job": job}
        if tray:
            params["tray"] = tray
        self.store.transition(record_id, RecordState.PRINTED, actor=actor, expect=RecordState.PRINTING,
                              params=params, extra=done)
        self._checkpoint()

    def _failed(self, record_id: str, permit_id: str, print_id: int, *, reason: str, fed: bool | None, actor: str,
                params: dict[str, Any] | None = None, tray: str | None = None) -> None:
        """Back to approved; the permit is usable again only when no card was fed."""

        def undo(conn: sqlite3.Connection) -> None:
            ts = now_iso()
            detail = json.dumps(params or {}, sort_keys=True)
            if fed is False:
                permits.release(conn, permit_id)
                conn.execute("UPDATE prints SET state='failed', finished_at=?, reason=?, params=? WHERE id=?",
                             (ts, reason, detail, print_id))
                return
            permits.mark_spoiled(conn, permit_id, record_id, reason)
            conn.execute("UPDATE prints SET state='spoiled', finished_at=?, reason=?, params=? WHERE id=?",
                         (ts, reason, detail, print_id))
            add_movement(conn, "spoiled", cards=-1, reason=reason, record_id=record_id, actor=actor)

        audit: dict[str, Any] = {"permit_id": permit_id, "card_fed": fed}
        if tray:
            audit["tray"] = tray
        self.store.transition(record_id, RecordState.APPROVED, actor=actor, expect=RecordState.PRINTING,
                              reason=reason, params=audit, extra=undo)
        self._checkpoint()

    # -- start-up and the output tray --------------------------------------------------------
    def recover(self, printer: CardPrinter | None, *, actor: str = "system") -> list[tuple[str, str]]:
        """Resolve records left in ``printing`` by a crash. Returns (record_id, outcome) pairs:
        ``permit_reusable`` (the printer's counter did not move: no card left the hopper) or
        ``tray_check`` (a card may have come out: ask the operator, :meth:`resolve_tray`)."""
        out: list[tuple[str, str]] = []
        counter_now = self._counter(printer)
        for rec in self.store.list(RecordState.PRINTING):
            row = self.store.conn.execute("SELECT * FROM prints WHERE record_id=? AND state IN ('started', ?)"
                                          " ORDER BY id DESC LIMIT 1", (rec.id, TRAY_CHECK)).fetchone()
            if row is None:  # cannot happen through the gate; still never leave a record stuck
                self.store.transition(rec.id, RecordState.APPROVED, actor=actor, reason="print.interrupted",
                                      expect=RecordState.PRINTING)
                out.append((rec.id, "no_print_row"))
                continue
            before = row["counter_before"]
            if row["state"] == "started" and counter_now is not None and before is not None and counter_now == before:
                self._failed(rec.id, row["permit_id"], int(row["id"]), reason="print.interrupted", fed=False,
                             actor=actor, params={"counter_before": before, "counter_now": counter_now})
                out.append((rec.id, "permit_reusable"))
                continue
            if row["state"] == "started":
                with self.store.transaction() as conn:
                    conn.execute("UPDATE prints SET state=?, params=? WHERE id=? AND state='started'",
                                 (TRAY_CHECK, json.dumps({"counter_before": before, "counter_now": counter_now}),
                                  int(row["id"])))
                    self.store.write_audit(conn, actor, "print_interrupted", record_id=rec.id,
                                           reason="print.interrupted",
                                           params={"permit_id": row["permit_id"], "counter_before": before,
                                                   "counter_now": counter_now})
            out.append((rec.id, "tray_check"))
        return out

    def pending_tray_checks(self) -> list[TrayCheck]:
        """Interrupted prints whose card may be in the output tray, oldest first."""
        rows = self.store.conn.execute(
            "SELECT p.id, p.record_id, p.permit_id, p.started_at FROM prints p JOIN records r ON r.id = p.record_id"
            " WHERE p.state = ? AND r.state = ? ORDER BY p.id", (TRAY_CHECK, RecordState.PRINTING)).fetchall()
        return [TrayCheck(r["record_id"], r["permit_id"], int(r["id"]), r["started_at"]) for r in rows]

    def resolve_tray(self, record_id: str, *, good: bool, actor: str) -> str:
        """The operator looked in the output tray for this record's card: ``good`` -> booked as
        printed (permit spent); not good -> destroyed, booked as spoiled, a new permit requested.
        Returns ``printed`` or ``spoiled_reprint_needed``."""
        check = next((c for c in self.pending_tray_checks() if c.record_id == record_id), None)
        if check is None:
            raise PrintRefused("print.no_tray_check", record_id=record_id)
        if good:
            self._printed(record_id, check.permit_id, check.print_id, f"tray-check:{check.print_id}", actor=actor,
                          tray="good")
            return "printed"
        self._failed(record_id, check.permit_id, check.print_id, reason="print.tray_spoiled", fed=True, actor=actor,
                     tray="bad")
        return "spoiled_reprint_needed"
