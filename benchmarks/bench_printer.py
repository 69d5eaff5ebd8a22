"""Card production: e-KTP render time (template, TrueType text, photo and signature) against a
plain PIL paste of the same photo onto a blank card; Evolis job size against the raw RGB card,
and its transfer time through the pyusb mock against the USB 2.0 full-speed wire limit
(12 Mbit/s, the bound a real Evolis on a full-speed link cannot beat)."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.run import result
from kiosk.identity import Identity
from kiosk.nik import make_nik

N_RENDER = 20
USB_FULL_SPEED_BPS = 12_000_000


def _samples() -> tuple[bytes, bytes]:
    photo = Image.new("RGB", (480, 640), (120, 90, 70))
    ImageDraw.Draw(photo).ellipse((120, 120, 360, 440), fill=(210, 170, 140))
    sig = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(sig).line([(10, 150), (150, 30), (300, 170), (580, 40)], fill=0, width=6)
    a, b = io.BytesIO(), io.BytesIO()
    photo.save(a, "JPEG", quality=90)
    sig.save(b, "PNG")
    return a.getvalue(), b.getvalue()


def _data(photo: bytes, sig: bytes) -> dict[str, Any]:
    import datetime as dt

    import hashlib

    from kiosk.central.carddata import card_data

    nik = make_nik("320101", dt.date(1990, 5, 17), "M", 1)
    ident = Identity(nik=nik, full_name="PENDUDUK SATU", birth_place="BOGOR", birth_date=dt.date(1990, 5, 17), sex="M",
                     address="JL. MERDEKA NO. 1", rt="001", rw="002", village="PAKANSARI",
                     occupation="PETANI").with_region_names()
    return card_data(ident, "bench", photo_sha256=hashlib.sha256(photo).hexdigest(),
                     signature_sha256=hashlib.sha256(sig).hexdigest(), issue_place=ident.regency,
                     issued_at="2026-11-23T10:00:00+00:00")


def bench_card_render() -> list[dict[str, Any]]:
    from kiosk.printer.layout import render_card

    photo, sig = _samples()
    data = _data(photo, sig)
    render_card(data, photo=photo, signature=sig)  # fonts loaded once, as in service
    t = time.perf_counter()
    for _ in range(N_RENDER):
        render_card(data, photo=photo, signature=sig)
    ours = (time.perf_counter() - t) / N_RENDER * 1000
    t = time.perf_counter()
    for _ in range(N_RENDER):  # baseline: decode the photo, scale it, paste it on a blank card
        card = Image.new("RGB", (1016, 648), "#d3e4f2")
        img = Image.open(io.BytesIO(photo)).convert("RGB").resize((236, 295))
        card.paste(img, (734, 106))
        np.asarray(card)
    plain = (time.perf_counter() - t) / N_RENDER * 1000
    return [result("printer.card_render", "ms_per_card", ours, "ms", plain)]


def bench_evolis_job() -> list[dict[str, Any]]:
    from device_mocks.evolis import EvolisMock, usb_connection
    from kiosk.printer.evolis import EvolisPrinterDriver
    from kiosk.printer.layout import render_card

    photo, sig = _samples()
    front = render_card(_data(photo, sig), photo=photo, signature=sig)
    with tempfile.TemporaryDirectory() as tmp:
        mock = EvolisMock(Path(tmp))
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(), connection=usb_connection(mock))
        drv.open()
        t = time.perf_counter()
        job = drv.build_job(front)
        encode_s = time.perf_counter() - t
        size = sum(len(data) for _, data in job)
        t = time.perf_counter()
        drv.print_card(front)
        through_mock_s = time.perf_counter() - t
        drv.close()
    raw_rgb = 1016 * 648 * 3
    wire_s = size * 8 / USB_FULL_SPEED_BPS
    return [
        result("printer.evolis_job", "job_bytes", size, "B", raw_rgb),
        result("printer.evolis_job", "usb_full_speed_transfer_s", wire_s, "s", None),
        result("printer.evolis_job", "encode_s", encode_s, "s", wire_s),
        result("printer.evolis_job", "print_through_pyusb_mock_s", through_mock_s, "s", wire_s),
    ]


BENCHES = {"printer.card_render": bench_card_render, "printer.evolis_job": bench_evolis_job}
