"""What an Evolis printer answers, and what each answer means for the card.

References:

- Evolis Programming Guide A5013 rev. D2/E (the PDFs in dpavlin/Printer-EVOLIS ``docs/``): a
  command is ``ESC name;param...CR``; ``Rlr;p`` returns "NO CARD" or "ERR CARD", ``Rlr;r``
  "ERR NEED CLEANING"; ``Rcr`` returns "OK" when the ribbon is not on its end mark.
- The answers the printers give to commands: "OK", and the refusals "ERROR CDE" (unknown
  command) and "ERROR PARAMETRES" (bad parameters, French as the firmware spells it); the media
  and mechanics answers "FEEDER EMPTY", "COVER OPEN", "CARD JAM", "ERROR RIBBON", "HOPPER FULL",
  "NEED CLEANING"; "ERR RIB DETECTION" when no ribbon is detected (public code driving printers
  with ``Rrt;count``/``Rrt;qty``).
- dpavlin/Printer-EVOLIS ``lib/Printer/EVOLIS/Parallel.pm`` (tested on a Dualys 3): an answer
  ends with a NUL byte on the parallel/usblp link; other links end it with CR.

The ``ERR_...``/``DEF_...`` names seen in Evolis's PC suite are supervision states computed by
that software, not bytes on the wire: they are not parsed here.

The rule that matters: an answer is OK only when it is exactly "OK". Any other answer to a
command that moves a card is a failure, never booked as printed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from kiosk.devices.errors import DeviceProtocolError

#: answers saying the printer did not understand the command: a driver or link problem
REFUSALS: dict[str, str] = {"ERROR CDE": "command", "ERROR PARAMETRES": "parameters"}

#: answers saying something is wrong with media or mechanics -> fault reason
#: (catalog ``device.fault.<reason>`` tells the operator what to do)
FAULTS: dict[str, str] = {
    "FEEDER EMPTY": "no_card",
    "COVER OPEN": "cover_open",
    "CARD JAM": "jam",
    "ERR CARD": "jam",  # Rlr;p: a card is still inside the printing module or the feeder
    "ERROR RIBBON": "ribbon_out",
    "ERR RIB DETECTION": "ribbon_missing",
    "HOPPER FULL": "output_full",
    "NEED CLEANING": "needs_cleaning",
    "ERR NEED CLEANING": "needs_cleaning",
}

#: an answer starting with one of these words is an error even when we do not know it
_ERROR_WORD = re.compile(r"^(ERROR|ERR)\b")


class ReplyKind(enum.Enum):
    OK = "ok"  # exactly "OK"
    DATA = "data"  # a value (serial number, counter, ribbon type ...)
    FAULT = "fault"  # media or mechanics: the operator acts
    REFUSED = "refused"  # the printer did not take the command


@dataclass(frozen=True)
class Reply:
    text: str
    kind: ReplyKind
    #: fault reason (``device.fault.<reason>``) or what was refused ("command", "parameters")
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is ReplyKind.OK


def parse_reply(raw: bytes, *, device: str) -> Reply:
    """The printer's answer as a Reply. Bytes that are no answer raise DeviceProtocolError.

    The answer ends at the first CR or NUL (whichever the link uses); spaces around it are
    not part of it.
    """
    end = min((i for i in (raw.find(b"\r"), raw.find(b"\x00")) if i >= 0), default=len(raw))
    try:
        text = raw[:end].decode("ascii").strip(" ")
    except UnicodeDecodeError:
        raise DeviceProtocolError(device=device, reply=raw[:32].hex()) from None
    if not text or any(ord(ch) < 32 or ord(ch) > 126 for ch in text):
        raise DeviceProtocolError(device=device, reply=raw[:32].hex())
    key = " ".join(text.upper().split())
    if key == "OK":
        return Reply(text, ReplyKind.OK)
    if key in REFUSALS:
        return Reply(text, ReplyKind.REFUSED, REFUSALS[key])
    if key in FAULTS:
        return Reply(text, ReplyKind.FAULT, FAULTS[key])
    if _ERROR_WORD.match(key):
        return Reply(text, ReplyKind.FAULT, "printer_error")
    return Reply(text, ReplyKind.DATA)


def parse_count(text: str, *, device: str, max_digits: int = 12) -> int:
    """A counter answer ("1234") as an int. Anything else, or absurdly long digit runs (Python
    refuses to convert over 4,300 digits), raises DeviceProtocolError."""
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > max_digits:
        raise DeviceProtocolError(device=device, reply=value[:40], problem="not a counter")
    return int(value)
