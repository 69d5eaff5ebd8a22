"""``kiosk receipt RECORD``: the resident's receipt (tanda terima perekaman) as a PDF, written
to a file and/or printed on a CUPS queue."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("receipt")
    p.add_argument("record")
    p.add_argument("--out", type=Path)
    p.add_argument("--queue")
    p.add_argument("--server", default="localhost:631")
    p.add_argument("--language", choices=["id", "en"])
    p.set_defaults(func=cmd_receipt)


def cmd_receipt(args: argparse.Namespace) -> int:
    from kiosk.cli.context import config_from, store_from
    from kiosk.errors import InputError
    from kiosk.receipt.content import receipt_for
    from kiosk.receipt.pdf import render_pdf

    cfg = config_from(args)
    language = args.language or cfg.station.language
    if args.out is None and args.queue is None:
        raise InputError("request.bad_fields", reason="--out or --queue")
    receipt = receipt_for(store_from(cfg), args.record, station_id=cfg.station.id, station_name=cfg.station.name,
                          language=language)
    pdf = render_pdf(receipt, language)
    if args.out is not None:
        args.out.write_bytes(pdf)
        print(translate("receipt.written", path=str(args.out)))
    if args.queue is not None:
        from kiosk.receipt.printing import print_receipt

        job = print_receipt(pdf, queue=args.queue, server=args.server)
        print(translate("receipt.printed", queue=args.queue, job=job))
    return 0
