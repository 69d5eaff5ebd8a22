"""Card printers with a Linux CUPS driver (Magicard, Zebra ZXP Series 3, Fargo DTC ...), through CUPS.

The card is rendered by the station, sent as a PNG (front only) or a PDF (front and back) to
a CUPS queue with IPP ``Print-Job`` over HTTP (httpx), and followed with
``Get-Job-Attributes`` until it is completed, or canceled/aborted/stopped. The vendor's CUPS
driver (its PPD and filter, installed on the station) turns it into the printer's language.

CUPS cannot say whether a card left the hopper when a job fails, so a failed job carries
``card_fed=None`` (unknown) unless CUPS refused it before it was queued; the gate then treats
the card as spoiled and asks the central for a new permit (never a double print).
"""

from __future__ import annotations

import io
import itertools
import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
from PIL import Image

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult
from kiosk.devices.errors import DeviceAbsent, DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.protocols import CardPrinter, PrinterSupplies
from kiosk.printer import ipp

#: printer-state-reasons keywords (RFC 8011 / PWG 5100.9) -> our fault reasons
STATE_REASONS: dict[str, str] = {
    "media-empty": "no_card", "media-needed": "no_card", "input-tray-missing": "no_card",
    "media-jam": "jam", "marker-supply-empty": "ribbon_out", "marker-supply-missing": "ribbon_missing",
    "toner-empty": "ribbon_out", "cover-open": "cover_open", "door-open": "cover_open", "interlock-open": "cover_open",
    "output-area-full": "output_full", "offline-report": "offline", "shutdown": "offline",
    "connecting-to-device": "offline",
}


def reason_from(keywords: list[str]) -> str | None:
    for word in keywords:
        base = word.rsplit("-", 1)[0] if word.endswith(("-error", "-warning", "-report")) else word
        if base in STATE_REASONS:
            return STATE_REASONS[base]
        if word in STATE_REASONS:
            return STATE_REASONS[word]
    return None


def encode_card(front: np.ndarray, back: np.ndarray | None, dpi: int) -> tuple[bytes, str]:
    """PNG for one side; a two-page PDF when there is a back."""
    pages = [Image.fromarray(np.asarray(front, dtype=np.uint8)[..., :3])]
    if back is not None:
        pages.append(Image.fromarray(np.asarray(back, dtype=np.uint8)[..., :3]))
    buf = io.BytesIO()
    if len(pages) == 1:
        pages[0].save(buf, "PNG", dpi=(dpi, dpi))
        return buf.getvalue(), "image/png"
    pages[0].save(buf, "PDF", resolution=float(dpi), save_all=True, append_images=pages[1:])
    return buf.getvalue(), "application/pdf"


class CupsPrinterDriver(CardPrinter):
    """A CUPS queue on a local (or remote) cupsd, spoken to in IPP."""

    @dataclass(frozen=True)
    class Params:
        #: the CUPS queue name (lpstat -p lists them)
        queue: str
        #: cupsd host:port
        server: str = "localhost:631"
        #: user name the jobs are submitted as
        user: str = "kiosk"
        #: resolution the card is rendered for (the vendor driver scales if it differs)
        dpi: int = 300
        #: seconds for one IPP request, and for a whole card job to complete
        timeout_s: float = 10.0
        job_timeout_s: float = 180.0
        poll_interval_s: float = 0.5

    def __init__(self, name: str, params: "CupsPrinterDriver.Params") -> None:
        super().__init__(name, params)
        self.p: CupsPrinterDriver.Params = params
        self._client: httpx.Client | None = None
        self._ids = itertools.count(1)
        self._info: DeviceInfo | None = None

    @property
    def printer_uri(self) -> str:
        return f"ipp://{self.p.server}/printers/{self.p.queue}"

    # -- IPP --------------------------------------------------------------------------------
    def _call(self, operation: int, attrs: list[tuple[int, str, Any]], *, job_attrs: list[tuple[int, str, Any]] | None = None,
              data: bytes = b"") -> ipp.IppResponse:
        if self._client is None:
            raise DeviceAbsent(device=self.name, server=self.p.server)
        body = ipp.encode_request(operation, next(self._ids), attrs, job_attrs, data)
        self.log.record("tx", body[:256])
        try:
            r = self._client.post(f"/printers/{self.p.queue}", content=body,
                                  headers={"Content-Type": "application/ipp"})
        except httpx.TimeoutException:
            raise DeviceTimeout(device=self.name, server=self.p.server) from None
        except httpx.HTTPError as exc:
            raise DeviceAbsent(device=self.name, server=self.p.server, detail=str(exc)) from None
        self.log.record("rx", r.content[:256])
        if r.status_code != 200:
            raise DeviceProtocolError(device=self.name, http=r.status_code)
        try:
            resp = ipp.decode_response(r.content)
        except ipp.IppError as exc:
            raise DeviceProtocolError(device=self.name, detail=str(exc)) from None
        if resp.status == 0x0406:  # client-error-not-found: no such queue
            raise DeviceAbsent(device=self.name, queue=self.p.queue)
        return resp

    def _printer_attributes(self) -> ipp.IppResponse:
        return self._call(ipp.GET_PRINTER_ATTRIBUTES, [
            (ipp.URI, "printer-uri", self.printer_uri),
            (ipp.KEYWORD, "requested-attributes", ["printer-state", "printer-state-reasons", "printer-make-and-model",
                                                   "printer-info", "printer-is-accepting-jobs", "marker-levels",
                                                   "marker-names"])])

    # -- Device -----------------------------------------------------------------------------
    def _do_open(self) -> None:
        self._client = httpx.Client(base_url=f"http://{self.p.server}", timeout=self.p.timeout_s)
        try:
            resp = self._printer_attributes()
            if not resp.ok:
                raise DeviceAbsent(device=self.name, queue=self.p.queue, status=hex(resp.status))
        except BaseException:
            self._client.close()
            self._client = None
            raise
        model = str(resp.get(ipp.PRINTER, "printer-make-and-model", "") or "")
        vendor, _, rest = model.partition(" ")
        self._info = DeviceInfo(vendor=vendor or "CUPS", model=rest or model or self.p.queue,
                                extra={"queue": self.p.queue, "server": self.p.server})

    def _do_close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def info(self) -> DeviceInfo:
        self.require_open()
        assert self._info is not None
        return self._info

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        try:
            resp = self._printer_attributes()
        except DeviceTimeout:
            return DeviceStatus(DeviceState.ABSENT, "device.timeout", {"device": self.name})
        except DeviceError as exc:
            return DeviceStatus(DeviceState.ABSENT if isinstance(exc, DeviceAbsent) else DeviceState.ERROR, exc.code,
                                dict(exc.params))
        state = resp.get(ipp.PRINTER, "printer-state", 3)
        reasons = [str(r) for r in resp.first(ipp.PRINTER).get("printer-state-reasons", []) if r != "none"]
        reason = reason_from(reasons)
        if state == 5 or reason:
            why = reason or "stopped"
            return DeviceStatus(DeviceState.ERROR, f"device.fault.{why}",
                                {"device": self.name, "reason": why, "flags": " ".join(reasons)})
        return DeviceStatus(DeviceState.BUSY if state == 4 else DeviceState.READY)

    def self_test(self) -> SelfTestResult:
        try:
            st = self.status()
            ok = st.state in (DeviceState.READY, DeviceState.BUSY)
            return SelfTestResult(ok, (("printer.check.status", ok, st.reason or str(st.state)),))
        except DeviceError as exc:
            return SelfTestResult(False, (("printer.check.status", False, exc.code),))

    def supplies(self) -> PrinterSupplies:
        # CUPS reports ribbon levels (if at all) as percentages, not prints: the station counts instead.
        self.require_open()
        return PrinterSupplies(cards_in_hopper=None, ribbon_panels_left=None, total_printed=None)

    # -- printing ---------------------------------------------------------------------------
    def print_card(self, front: np.ndarray, back: np.ndarray | None = None, *, progress: Any = None) -> str:
        data, fmt = encode_card(front, back, self.p.dpi)
        return self.print_document(data, fmt, job_name="kiosk card", progress=progress)

    def print_document(self, data: bytes, fmt: str, *, job_name: str, progress: Any = None) -> str:
        """Submit one document (a card, a receipt PDF) and follow the job to its end."""
        self.require_open()
        report = progress or (lambda done, total, stage: None)
        report(0, 3, "submit")
        try:
            resp = self._call(ipp.PRINT_JOB, [
                (ipp.URI, "printer-uri", self.printer_uri),
                (ipp.NAME, "requesting-user-name", self.p.user),
                (ipp.NAME, "job-name", job_name),
                (ipp.MIME, "document-format", fmt)], data=data)
        except DeviceError as exc:
            exc.params["card_fed"] = False  # nothing was queued
            raise
        job_id = resp.get(ipp.JOB, "job-id")
        if not resp.ok or not isinstance(job_id, int):
            raise DeviceFault("job_refused", device=self.name, status=hex(resp.status), card_fed=False)
        report(1, 3, "queued")
        state = self._follow(job_id, report)
        if state != 9:
            raise DeviceFault(self._failure_reason(), device=self.name, job=job_id,
                              state=ipp.JOB_STATES.get(state, str(state)), card_fed=None)
        report(3, 3, "done")
        return f"cups:{self.p.queue}-{job_id}"

    def _job_state(self, job_id: int) -> tuple[int, list[str]]:
        resp = self._call(ipp.GET_JOB_ATTRIBUTES, [
            (ipp.URI, "printer-uri", self.printer_uri), (ipp.INTEGER, "job-id", job_id),
            (ipp.NAME, "requesting-user-name", self.p.user),
            (ipp.KEYWORD, "requested-attributes", ["job-state", "job-state-reasons"])])
        state = resp.get(ipp.JOB, "job-state")
        if not isinstance(state, int):
            raise DeviceProtocolError(device=self.name, job=job_id)
        return state, [str(r) for r in resp.first(ipp.JOB).get("job-state-reasons", [])]

    def _follow(self, job_id: int, report: Any) -> int:
        """Poll the job until it ends; a stopped or held job is a failure (it will not print by itself)."""
        deadline = time.monotonic() + self.p.job_timeout_s
        processing_seen = False
        while True:
            try:
                state, reasons = self._job_state(job_id)
            except DeviceError as exc:
                exc.params["card_fed"] = None
                raise
            if state in (7, 8, 9):
                return state
            if state == 5 and not processing_seen:
                processing_seen = True
                report(2, 3, "printing")
            if state == 6 or (state == 4 and processing_seen):
                self._cancel(job_id)
                return state
            if time.monotonic() > deadline:
                self._cancel(job_id)
                raise DeviceTimeout(device=self.name, job=job_id, card_fed=None)
            time.sleep(self.p.poll_interval_s)

    def _cancel(self, job_id: int) -> None:
        try:
            self._call(ipp.CANCEL_JOB, [(ipp.URI, "printer-uri", self.printer_uri), (ipp.INTEGER, "job-id", job_id),
                                        (ipp.NAME, "requesting-user-name", self.p.user)])
        except DeviceError:
            pass  # best effort: the job is reported failed either way

    def _failure_reason(self) -> str:
        try:
            resp = self._printer_attributes()
        except DeviceError:
            return "job_failed"
        return reason_from([str(r) for r in resp.first(ipp.PRINTER).get("printer-state-reasons", [])]) or "job_failed"
