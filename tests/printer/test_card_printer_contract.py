"""Every card-printer driver and wire of contract_card_printer.RIG_NAMES passes the same contract."""

from tests.printer.contract_card_printer import CardPrinterContract, rig  # noqa: F401 (fixture)
from tests.printer.cupsd_rig import cupsd  # noqa: F401 (fixture)


class TestCardPrinterContract(CardPrinterContract):
    pass
