"""Consumables: blank cards and ribbon, counted at the station and asked of the printer.

The station counts cards received (``kiosk stock add N``), printed and spoiled (with a reason),
and ribbon prints loaded minus used. Where the printer can tell (an Evolis ribbon reports the
prints it has left) its figure wins; low-stock warnings use the thresholds of ``[stock]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.config import StockConfig
from kiosk.devices.errors import DeviceError
from kiosk.devices.protocols import CardPrinter
from kiosk.errors import InputError
from kiosk.printer.ledger import add_movement, ensure_schema
from kiosk.store.queue import RecordStore


@dataclass(frozen=True)
class StockLevels:
    cards: int
    #: "printer" when the printer told us, "counted" when it comes from the station's own book
    cards_source: str
    ribbon_panels: int | None
    ribbon_source: str
    spoiled: int
    printed: int
    #: catalog codes with params, e.g. ("stock.low_cards", {"cards": 12, "threshold": 50})
    warnings: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "cards_source": self.cards_source, "ribbon_panels": self.ribbon_panels,
                "ribbon_source": self.ribbon_source, "spoiled": self.spoiled, "printed": self.printed,
                "warnings": [{"code": c, **p} for c, p in self.warnings]}


class Stock:
    def __init__(self, store: RecordStore, config: StockConfig | None = None) -> None:
        self.store = store
        self.config = config or StockConfig()
        ensure_schema(store)

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

    def levels(self, printer: CardPrinter | None = None) -> StockLevels:
        conn = self.store.conn
        cards = max(0, self._sum(conn, "cards"))  # cards printed before any were booked in cannot go below 0
        ribbon: int | None = self._sum(conn, "ribbon_panels")
        has_ribbon_book = conn.execute("SELECT 1 FROM stock_movements WHERE kind='ribbon' LIMIT 1").fetchone()
        ribbon_source = "counted" if has_ribbon_book else "unknown"
        if not has_ribbon_book:
            ribbon = None
        cards_source = "counted"
        if printer is not None and printer.is_open:
            try:
                sup = printer.supplies()
            except DeviceError:
                sup = None
            if sup is not None:
                if sup.cards_in_hopper is not None:
                    cards, cards_source = sup.cards_in_hopper, "printer"
                if sup.ribbon_panels_left is not None:
                    ribbon, ribbon_source = sup.ribbon_panels_left, "printer"
        spoiled = -self._sum(conn, "cards", "spoiled")
        printed = -self._sum(conn, "cards", "printed")
        warnings: list[tuple[str, dict[str, Any]]] = []
        if cards < self.config.low_cards:
            warnings.append(("stock.low_cards", {"cards": cards, "threshold": self.config.low_cards}))
        if ribbon is not None and ribbon < self.config.low_ribbon_panels:
            warnings.append(("stock.low_ribbon", {"panels": ribbon, "threshold": self.config.low_ribbon_panels}))
        return StockLevels(cards, cards_source, ribbon, ribbon_source, spoiled, printed, tuple(warnings))
