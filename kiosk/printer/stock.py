"""Consumables: blank cards and ribbon, counted at the station and asked of the printer.

The station counts cards received (``kiosk stock add N``), printed and spoiled (with a reason),
and ribbon prints loaded minus used. Where the printer can tell (an Evolis ribbon reports the
prints it has left) its ribbon figure wins; low-stock warnings use the thresholds of ``[stock]``.

One read model for every screen and command: :meth:`Stock.levels` reads the book, and the
printer's figures as last read (stored in ``printer_supplies`` whenever someone holding the
printer asks it), so the UI, which holds the printer, and ``kiosk stock``, which must not open
it, show the same numbers. Cards are always the book's (the printer's hopper count is shown
beside it): printing is refused while the book holds no blank card (:meth:`Stock.require_card`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.config import StockConfig
from kiosk.devices.errors import DeviceError
from kiosk.devices.protocols import CardPrinter
from kiosk.errors import InputError, KioskError
from kiosk.i18n import local_time
from kiosk.printer.ledger import add_movement, ensure_schema
from kiosk.store.queue import RecordStore, now_iso


class NoBlankCards(KioskError):
    """The station's book holds no blank card: nothing prints until stock is booked."""

    code = "print.no_cards"


@dataclass(frozen=True)
class PrinterReport:
    """What the printer said about its supplies when last asked."""

    printer: str
    read_at: str
    cards_in_hopper: int | None
    ribbon_panels_left: int | None


@dataclass(frozen=True)
class StockLevels:
    #: blank cards in the station's book (received - printed - spoiled), never below 0
    cards: int
    #: always "counted": the book is what printing is allowed against
    cards_source: str
    ribbon_panels: int | None
    #: "printer" when the printer's last report says, "counted" from the book, "unknown"
    ribbon_source: str
    spoiled: int
    printed: int
    #: catalog codes with params, e.g. ("stock.low_cards", {"cards": 12, "threshold": 50})
    warnings: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)
    printer: PrinterReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "cards_source": self.cards_source, "ribbon_panels": self.ribbon_panels,
                "ribbon_source": self.ribbon_source, "spoiled": self.spoiled, "printed": self.printed,
                "printer": None if self.printer is None else self.printer.__dict__,
                "warnings": [{"code": c, **p} for c, p in self.warnings]}

    def lines(self) -> list[tuple[str, dict[str, Any]]]:
        """The words every screen and command shows for these levels: catalog codes + params."""
        out: list[tuple[str, dict[str, Any]]] = [
            ("stock.book", {"cards": self.cards, "printed": self.printed, "spoiled": self.spoiled})]
        if self.ribbon_panels is None:
            out.append(("stock.book_ribbon_unknown", {}))
        elif self.ribbon_source == "printer":
            out.append(("stock.ribbon_printer", {"ribbon": self.ribbon_panels}))
        else:
            out.append(("stock.book_ribbon", {"ribbon": self.ribbon_panels}))
        if self.printer is not None:
            rep = self.printer
            words = {"printer": rep.printer, "read_at": local_time(rep.read_at, seconds=False),
                     "cards": rep.cards_in_hopper, "ribbon": rep.ribbon_panels_left}
            # a printer that cannot count its hopper says nothing about it (never "None")
            if rep.cards_in_hopper is not None:
                out.append(("stock.printer_report", {**words, "ribbon": "?" if rep.ribbon_panels_left is None
                                                     else rep.ribbon_panels_left}))
            elif rep.ribbon_panels_left is not None:
                out.append(("stock.printer_report_ribbon", words))
        return out + list(self.warnings)


class Stock:
    def __init__(self, store: RecordStore, config: StockConfig | None = None) -> None:
        self.store = store
        self.config = config or StockConfig()
        ensure_schema(store)
        # a Stock is made for every home poll: a plain read first, the write lock only until the
        # first delivery is booked
        if self.config.simulated_delivery and not self._any_delivery(self.store.conn):
            self.book_first_delivery(self.config.simulated_delivery, actor="simulation")

    @staticmethod
    def _any_delivery(conn: Any) -> bool:
        return conn.execute("SELECT 1 FROM stock_movements WHERE kind = 'received' LIMIT 1").fetchone() is not None

    def book_first_delivery(self, n: int, *, actor: str) -> bool:
        """Book ``n`` received cards unless any delivery was ever booked (one transaction: two
        processes starting together book it once). True when it booked them."""
        with self.store.transaction() as conn:
            if self._any_delivery(conn):
                return False
            add_movement(conn, "received", cards=n, reason="simulated station: first delivery", actor=actor)
            self.store.write_audit(conn, actor, "stock_received", params={"cards": n, "simulated": True})
        return True

    def add_cards(self, n: int, *, actor: str) -> None:
        if n <= 0:
            raise InputError("stock.bad_count", count=n)
        with self.store.transaction() as conn:
            add_movement(conn, "received", cards=n, actor=actor)
            self.store.write_audit(conn, actor, "stock_received", params={"cards": n})

    def load_ribbon(self, panels: int, *, actor: str) -> None:
        """A new ribbon was loaded with ``panels`` prints (replaces what the book had left)."""
        if panels <= 0:
            raise InputError("stock.bad_count", count=panels)
        with self.store.transaction() as conn:
            left = self._sum(conn, "ribbon_panels")
            add_movement(conn, "ribbon", ribbon_panels=panels - left, reason="ribbon loaded", actor=actor)
            self.store.write_audit(conn, actor, "stock_ribbon", params={"panels": panels})

    def spoil(self, reason: str, *, actor: str, record_id: str | None = None) -> None:
        """A blank or printed card is thrown away (damaged, misprint, test card)."""
        if not reason.strip():
            raise InputError("stock.reason_required")
        with self.store.transaction() as conn:
            add_movement(conn, "spoiled", cards=-1, reason=reason, record_id=record_id, actor=actor)
            self.store.write_audit(conn, actor, "stock_spoiled", record_id=record_id, reason=reason)

    @staticmethod
    def _sum(conn: Any, column: str, kind: str | None = None) -> int:
        sql = f"SELECT COALESCE(SUM({column}), 0) FROM stock_movements" + (" WHERE kind = ?" if kind else "")
        return int(conn.execute(sql, (kind,) if kind else ()).fetchone()[0])

    def booked_cards(self) -> int:
        return max(0, self._sum(self.store.conn, "cards"))

    def require_card(self) -> None:
        """Refuse to print with no blank card booked (NoBlankCards)."""
        if self.booked_cards() <= 0:
            raise NoBlankCards()

    def read_printer(self, printer: CardPrinter) -> PrinterReport | None:
        """Ask the printer (the caller holds it) and keep its answer for every other reader."""
        if not printer.is_open:
            return None
        try:
            sup = printer.supplies()
        except DeviceError:
            return None
        report = PrinterReport(printer.name, now_iso(), sup.cards_in_hopper, sup.ribbon_panels_left)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO printer_supplies(id, read_at, printer, cards_in_hopper, ribbon_panels_left,"
                         " total_printed) VALUES (1,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET read_at=excluded.read_at,"
                         " printer=excluded.printer, cards_in_hopper=excluded.cards_in_hopper,"
                         " ribbon_panels_left=excluded.ribbon_panels_left, total_printed=excluded.total_printed",
                         (report.read_at, report.printer, report.cards_in_hopper, report.ribbon_panels_left,
                          sup.total_printed))
        return report

    def last_printer_report(self) -> PrinterReport | None:
        r = self.store.conn.execute("SELECT * FROM printer_supplies WHERE id = 1").fetchone()
        if r is None:
            return None
        return PrinterReport(r["printer"], r["read_at"], r["cards_in_hopper"], r["ribbon_panels_left"])

    def levels(self, printer: CardPrinter | None = None) -> StockLevels:
        """The one read model. ``printer``: the caller holds it, so ask it now (and keep the
        answer); without it, the printer's last answer is used."""
        report = self.read_printer(printer) if printer is not None else None
        report = report or self.last_printer_report()
        conn = self.store.conn
        cards = max(0, self._sum(conn, "cards"))  # cards printed before any were booked in cannot go below 0
        ribbon: int | None = self._sum(conn, "ribbon_panels")
        has_ribbon_book = conn.execute("SELECT 1 FROM stock_movements WHERE kind='ribbon' LIMIT 1").fetchone()
        ribbon_source = "counted" if has_ribbon_book else "unknown"
        if not has_ribbon_book:
            ribbon = None
        cards_source = "counted"
        if report is not None and report.ribbon_panels_left is not None:
            ribbon, ribbon_source = report.ribbon_panels_left, "printer"
        spoiled = -self._sum(conn, "cards", "spoiled")
        printed = -self._sum(conn, "cards", "printed")
        warnings: list[tuple[str, dict[str, Any]]] = []
        if cards < self.config.low_cards:
            warnings.append(("stock.low_cards", {"cards": cards, "threshold": self.config.low_cards}))
        if ribbon is not None and ribbon < self.config.low_ribbon_panels:
            warnings.append(("stock.low_ribbon", {"panels": ribbon, "threshold": self.config.low_ribbon_panels}))
        return StockLevels(cards, cards_source, ribbon, ribbon_source, spoiled, printed, tuple(warnings), report)
