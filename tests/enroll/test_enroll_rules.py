"""kiosk.enroll: the enrollment rules without a screen (issue 11 §2)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import PolicyConfig
from kiosk.devices.protocols import PenPoint
from kiosk.enroll import FingerSlots, Mark, SignatureInk, enrollment_steps
from kiosk.enroll.fingers import ATTEMPT_ACTION, WRONG_FINGER_ACTION
from kiosk.enroll.signature import MAX_POINTS
from tests.conftest import ROOT

POLICY = PolicyConfig(required_fingers=(1, 2, 3), attempts_per_finger=3, supervisor_exceptions=("amputated",))


@dataclass
class Entry:
    action: str
    params: dict[str, Any] = field(default_factory=dict)


def test_kiosk_enroll_imports_no_textual() -> None:
    code = ("import sys, kiosk.enroll, kiosk.enroll.fingers, kiosk.enroll.signature, kiosk.enroll.steps\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_steps_come_from_the_station_devices_and_iris_only_with_an_iris_camera() -> None:
    assert enrollment_steps({"camera", "fingerprint", "signature"}) == ("form", "face", "fingers", "signature", "review")
    assert enrollment_steps({"camera", "fingerprint", "iris"}) == ("form", "face", "fingers", "iris", "signature",
                                                                   "review")


def test_the_best_attempt_is_kept_and_a_flagged_slot_takes_the_next_whatever_its_score() -> None:
    slots = FingerSlots.for_policy(POLICY)
    slots.take_attempt(1, 60, "m1", kept=slots.keeps(1, 60), passed=True)
    assert not slots.keeps(1, 40) and slots.keeps(1, 70)
    slots.flag([(1, 2)])
    assert slots.mark(1) is Mark.FLAGGED and slots.retries_left(1) == 3 and slots.current == 1
    assert slots.keeps(1, 10)


def test_a_supervisor_exception_stays_unapproved_until_confirmed() -> None:
    slots = FingerSlots.for_policy(POLICY)
    slots.set_exception(2, "amputated", None)
    assert slots.mark(2) is Mark.UNAPPROVED and 2 not in slots.pending()
    slots.set_exception(2, "amputated", "budi")
    assert slots.mark(2) is Mark.EXCEPTION


def test_attempts_of_a_resumed_draft_are_counted_again_from_the_audit() -> None:
    slots = FingerSlots.for_policy(POLICY)
    audit = [Entry(ATTEMPT_ACTION, {"position": 1, "kept": True}), Entry(ATTEMPT_ACTION, {"position": 1, "kept": False}),
             Entry(ATTEMPT_ACTION, {"position": 2, "kept": True}),
             Entry(WRONG_FINGER_ACTION, {"pairs": [[2, 3, 80]]}), Entry("login")]
    slots.load([(1, 55.0), (2, 60.0)], [], audit)
    assert slots.retries_left(1) == 1  # two attempts used before the terminal closed
    assert slots.mark(2) is Mark.FLAGGED and slots.retries_left(2) == 3
    assert slots.current == 2 and not slots.all_done()


def test_all_done_when_every_slot_holds_a_finger_or_an_exception() -> None:
    slots = FingerSlots.for_policy(POLICY)
    for pos in (1, 2):
        slots.take_attempt(pos, 50, None, kept=True, passed=True)
    assert not slots.all_done()
    slots.set_exception(3, "bandaged", None)
    assert slots.all_done() and slots.pending() == []


points = st.lists(st.builds(PenPoint, st.floats(0, 100), st.floats(0, 50), st.floats(0, 1), st.booleans(),
                            st.floats(0, 1000)), max_size=50)


@settings(max_examples=60, deadline=None)
@given(st.lists(points, max_size=30), st.integers(1, 40))
def test_ink_holds_at_most_a_signature_and_draws_each_point_once_within_the_budget(batches: list[list[PenPoint]],
                                                                                 budget: int) -> None:
    ink = SignatureInk()
    drawn: list[PenPoint] = []
    for batch in batches:
        ink.add(batch)
        prev, new = ink.to_draw(budget)
        assert len(new) <= budget
        assert prev is (drawn[-1] if drawn else None)
        drawn += new
    while ink.behind:
        drawn += ink.to_draw(budget)[1]
    assert drawn == ink.points and len(ink) <= MAX_POINTS


def test_ink_beyond_one_signature_is_refused_and_counted() -> None:
    ink = SignatureInk()
    ink.add([PenPoint(1, 1, 0.5, True, 0.0)] * (MAX_POINTS + 7))
    assert len(ink) == MAX_POINTS and ink.overflow == 7 and ink.full
    ink.clear()
    assert len(ink) == 0 and not ink.full
