"""The enrollment rules, without a screen: which steps a record goes through, how finger and eye
attempts count and which one is kept, which slots must be captured again, the exception policy,
and the signature's points. The TUI shows this state and sends intents; nothing here imports Textual
(tests/test_layering.py checks it), so the same rules can be driven by a test or another front end.
"""

from kiosk.enroll.fingers import FingerSlots, Mark
from kiosk.enroll.irises import EyeSlots
from kiosk.enroll.signature import SignatureInk
from kiosk.enroll.steps import enrollment_steps

__all__ = ["EyeSlots", "FingerSlots", "Mark", "SignatureInk", "enrollment_steps"]
