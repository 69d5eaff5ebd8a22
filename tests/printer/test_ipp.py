"""IPP decoding of random and corrupted server answers gives IppError or a response, nothing else;
the CUPS driver turns a corrupted answer into a typed device error."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.devices.errors import DeviceError, DeviceProtocolError
from kiosk.printer import ipp
from kiosk.printer.cups import CupsPrinterDriver

GOOD = ipp.encode_request(0x0000, 1, [(ipp.ENUM, "printer-state", 3)])


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200))
def test_random_bytes_decode_or_raise_ipp_error(raw):
    try:
        ipp.decode_response(raw)
    except ipp.IppError:
        pass


@settings(max_examples=200, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(GOOD) - 1), flip=st.integers(min_value=0, max_value=255))
def test_truncated_or_flipped_answers_decode_or_raise_ipp_error(cut, flip):
    corrupted = bytearray(GOOD[:cut] + GOOD[cut + 1:])
    if corrupted:
        corrupted[cut % len(corrupted)] ^= flip
    try:
        ipp.decode_response(bytes(corrupted))
    except ipp.IppError:
        pass


@settings(max_examples=40, deadline=None)
@given(answers=st.lists(st.binary(max_size=80), min_size=1, max_size=6))
def test_cups_driver_with_corrupted_answers_raises_typed_errors_only(answers):
    it = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=next(it, b""), headers={"Content-Type": "application/ipp"})

    drv = CupsPrinterDriver("printer", CupsPrinterDriver.Params(queue="card", job_timeout_s=0.05, poll_interval_s=0.01))
    drv._client = httpx.Client(base_url="http://x", transport=httpx.MockTransport(handler))
    drv._open = True
    try:
        drv.status()
        drv.print_card(np.zeros((648, 1016, 3), np.uint8))
    except DeviceError:
        pass


def test_non_ipp_answer_is_protocol_error():
    drv = CupsPrinterDriver("printer", CupsPrinterDriver.Params(queue="card"))
    drv._client = httpx.Client(base_url="http://x", transport=httpx.MockTransport(
        lambda r: httpx.Response(200, content=b"<html>hello</html>")))
    drv._open = True
    with pytest.raises(DeviceProtocolError):
        drv.print_card(np.zeros((648, 1016, 3), np.uint8))
