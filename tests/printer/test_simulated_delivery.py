"""A simulated station books its first delivery of blank cards once (found in tmux: the demo
station started with 0 cards booked, so the demo operator could not print a single card without
a supervisor); a real station never books cards nobody received."""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.config import StockConfig, load_config
from kiosk.printer.stock import Stock

REPO = Path(__file__).resolve().parents[2]


def test_a_simulated_station_books_its_first_delivery_once(store) -> None:
    cfg = StockConfig(simulated_delivery=100)
    assert Stock(store, cfg).booked_cards() == 100
    assert Stock(store, cfg).booked_cards() == 100, "a second start books nothing more"
    audit = [row for row in store.conn.execute("SELECT action FROM audit WHERE action = 'stock_received'")]
    assert len(audit) == 1


def test_the_first_delivery_is_not_booked_after_a_real_one(store) -> None:
    Stock(store).add_cards(7, actor="supervisor")
    assert Stock(store, StockConfig(simulated_delivery=100)).booked_cards() == 7


def test_two_processes_starting_together_book_it_once(store) -> None:
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        Stock(store, StockConfig(simulated_delivery=100))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Stock(store).booked_cards() == 100


def test_the_shipped_simulated_config_books_cards_and_a_real_station_ignores_it(tmp_path: Path) -> None:
    shipped = load_config(REPO / "config.toml")
    assert shipped.station.simulated and shipped.stock.simulated_delivery > 0
    real = (REPO / "config.toml").read_text().replace("simulated = true", "simulated = false")
    path = tmp_path / "config.toml"
    path.write_text(real)
    assert load_config(path).stock.simulated_delivery == 0


def test_a_printer_without_a_hopper_counter_is_never_reported_as_none() -> None:
    """`kiosk stock` printed "Laporan printer printer (...): kartu di wadah None" for an Evolis,
    which has no hopper counter (tmux look)."""
    from kiosk.i18n import translate
    from kiosk.printer.stock import PrinterReport, StockLevels

    def words(report: PrinterReport) -> list[str]:
        levels = StockLevels(cards=5, cards_source="counted", ribbon_panels=200, ribbon_source="printer",
                             spoiled=0, printed=0, printer=report)
        return [translate(code, "id", **params) for code, params in levels.lines()]

    evolis = words(PrinterReport("printer", "2026-12-02T00:56:50", None, 200))
    assert not any("None" in line for line in evolis)
    assert "Laporan dari printer (2026-12-02 00:56): sisa pita 200." in evolis
    cups = words(PrinterReport("kartu", "2026-12-02T00:56:50", None, None))
    assert not any("None" in line or "Laporan" in line for line in cups)
    counted = words(PrinterReport("kartu", "2026-12-02T00:56:50", 80, None))
    assert "Laporan dari kartu (2026-12-02 00:56): kartu di wadah 80, sisa pita ?." in counted
