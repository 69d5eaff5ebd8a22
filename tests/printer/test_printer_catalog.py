"""Every fault reason a printer driver can raise has operator words in both languages."""

from __future__ import annotations

import pytest

from kiosk.i18n import catalog
from kiosk.printer.cups import STATE_REASONS
from kiosk.printer.evolis import FAULT_REASONS

REASONS = set(FAULT_REASONS) | set(STATE_REASONS.values()) | {
    "printer_error", "ribbon_no_back", "job_failed", "job_refused", "stopped"}


@pytest.mark.parametrize("language", ["id", "en"])
def test_every_printer_fault_has_an_operator_action(language):
    missing = sorted(r for r in REASONS if f"device.fault.{r}" not in catalog(language))
    assert missing == []


def test_printer_catalogs_have_the_same_keys():
    en = {k for k in catalog("en") if k.startswith(("print.", "stock.", "printer.", "device.fault."))}
    ident = {k for k in catalog("id") if k.startswith(("print.", "stock.", "printer.", "device.fault."))}
    assert en == ident
