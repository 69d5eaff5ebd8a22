"""Subcommands whose issues have not landed yet: they say so plainly and exit 1."""

from __future__ import annotations

import argparse

from kiosk.errors import KioskError

RESERVED = {
    "devices": "list configured and attached devices",
    "diag": "run device diagnostics",
    "sync": "send queued records to the central and fetch decisions",
    "queue": "show the queue and network state",
    "print": "print approved cards",
    "central": "run the local central registry",
    "simulate": "create synthetic records for demos",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, text in RESERVED.items():
        if name in sub.choices:  # a real implementation registered first
            continue
        p = sub.add_parser(name, help=f"{text} (not available yet)")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_unavailable(name))


def _unavailable(name: str):  # type: ignore[no-untyped-def]
    def run(args: argparse.Namespace) -> int:
        raise KioskError("cli.not_available", command=name)

    return run
