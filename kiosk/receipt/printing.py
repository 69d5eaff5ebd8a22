"""Print a receipt PDF on a CUPS queue (the office printer next to the station)."""

from __future__ import annotations

from kiosk.printer.cups import CupsPrinterDriver


def print_receipt(pdf: bytes, *, queue: str, server: str = "localhost:631", job_timeout_s: float = 60.0,
                  poll_interval_s: float = 0.5) -> str:
    """Returns the job reference ("cups:QUEUE-ID"); raises kiosk.devices.errors.DeviceError
    (absent queue, refused or failed job) with the operator's line in its code."""
    params = CupsPrinterDriver.Params(queue=queue, server=server, job_timeout_s=job_timeout_s,
                                      poll_interval_s=poll_interval_s)
    with CupsPrinterDriver("receipt-printer", params) as driver:
        return driver.print_document(pdf, "application/pdf", job_name="tanda terima perekaman")
