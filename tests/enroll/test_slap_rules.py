"""kiosk.enroll.slaps: capture by slap (4-4-2) as rules over the finger slots (issue 12)."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.capture.slap import SLAPS, slap_plan
from kiosk.config import PolicyConfig
from kiosk.enroll import FingerSlots, Mark
from kiosk.enroll.slaps import FingerOutcome, SlapRequest, slap_plan_for, slap_request, start_by_slap, take_slap
from tests.conftest import ROOT

TEN = tuple(range(1, 11))


def slots_for(required: tuple[int, ...] = TEN, attempts: int = 3) -> FingerSlots:
    slots = FingerSlots.for_policy(PolicyConfig(required_fingers=required, attempts_per_finger=attempts,
                                                supervisor_exceptions=("amputated",)))
    start_by_slap(slots)
    return slots


def outcome(pos: int, nfiq2: float, passed: bool, slots: FingerSlots) -> FingerOutcome:
    return FingerOutcome(pos, nfiq2, f"m{pos}", kept=slots.keeps(pos, nfiq2), passed=passed)


def test_kiosk_enroll_slaps_imports_no_textual() -> None:
    code = "import sys, kiosk.enroll.slaps\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_fresh_record_is_captured_left_four_right_four_then_thumbs() -> None:
    slots = slots_for()
    assert slap_plan_for(slots) == [SlapRequest(1, (7, 8, 9, 10), ()), SlapRequest(2, (2, 3, 4, 5), ()),
                                    SlapRequest(3, (6, 1), ())]


def test_exceptions_are_left_out_of_the_slap_as_slap_plan_does() -> None:
    slots = slots_for()
    slots.set_exception(8, "bandaged", None)
    slots.current = 7
    assert slap_request(slots) == SlapRequest(1, (7, 9, 10), (8,))
    assert [(r.slap, r.exceptions) for r in slap_plan_for(slots)] == slap_plan(TEN, (8,))


def test_a_passing_slap_books_each_finger_and_moves_to_the_next_slap() -> None:
    slots = slots_for()
    request = slap_request(slots)
    assert request is not None and request.slap == 1
    take_slap(slots, request, [outcome(p, 60, True, slots) for p in request.fingers])
    assert all(slots.mark(p) is Mark.DONE and slots.attempts[p] == 1 for p in (7, 8, 9, 10))
    assert slots.current == 2 and slap_request(slots) == SlapRequest(2, (2, 3, 4, 5), ())


def test_a_failed_finger_is_retried_alone_by_its_slap_and_the_best_is_kept() -> None:
    slots = slots_for()
    request = slap_request(slots)
    assert request is not None
    take_slap(slots, request, [outcome(7, 60, True, slots), outcome(8, 20, False, slots),
                               outcome(9, 55, True, slots), outcome(10, 50, True, slots)])
    assert slots.current == 8
    retry = slap_request(slots)
    assert retry == SlapRequest(1, (8,), (7, 9, 10))
    worse = outcome(8, 10, False, slots)
    assert not worse.kept  # keep-best: the 20 stays
    take_slap(slots, retry, [worse])
    assert slots.scores[8] == 20 and slots.attempts[8] == 2 and slots.current == 8
    better = outcome(8, 70, True, slots)
    take_slap(slots, retry, [better])
    assert slots.scores[8] == 70 and 8 not in slots.failed and slots.current == 2


def test_a_finger_out_of_attempts_is_left_out_and_the_operator_moves_on() -> None:
    slots = slots_for(attempts=2)
    request = slap_request(slots)
    assert request is not None
    for _ in range(2):
        take_slap(slots, request, [outcome(p, 20 if p == 9 else 60, p != 9, slots) for p in request.fingers])
        request = slap_request(slots, 9) or request
    assert slots.retries_left(9) == 0 and slots.mark(9) is Mark.DONE
    assert slap_request(slots, 9) is None  # no attempts left: no slap to take for it
    assert slots.current == 2


def test_flagged_slots_are_recaptured_by_their_slaps() -> None:
    slots = slots_for()
    for request in slap_plan_for(slots):
        take_slap(slots, request, [outcome(p, 60, True, slots) for p in request.fingers])
    assert slots.all_done()
    slots.flag([(1, 7)])  # the wrong-finger check: thumb slot holds the left index
    assert [(r.slap, r.fingers) for r in slap_plan_for(slots)] == [(1, (7,)), (3, (1,))]
    request = slap_request(slots)
    assert request is not None and request.fingers == (1,) and request.exceptions == (6,)
    low = outcome(1, 30, True, slots)
    assert low.kept  # a flagged slot takes the next attempt whatever its score


@settings(max_examples=200, deadline=None, derandomize=True)
@given(required=st.sets(st.integers(1, 10), min_size=1).map(lambda s: tuple(sorted(s))),
       excepted=st.sets(st.integers(1, 10)), attempts=st.integers(1, 3),
       scripts=st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=1, max_size=60))
def test_slap_sessions_keep_every_finger_rule(required: tuple[int, ...], excepted: set[int], attempts: int,
                                              scripts: list[tuple[int, bool]]) -> None:
    """Whatever the device answers: a request is a valid SBI slap (fingers plus exceptions are the
    slap, at least one finger), never asks a finger out of attempts or under an exception, attempts
    never pass the policy, the kept score is the best (or the latest of a flagged slot), and the
    session ends with every slot done, excepted, or out of attempts."""
    slots = slots_for(required, attempts)
    for pos in sorted(excepted & set(required)):
        slots.set_exception(pos, "bandaged", None)
    best: dict[int, float] = {}
    i = 0
    while True:
        plan = slap_plan_for(slots)
        if not plan:
            break
        request = slap_request(slots, plan[0].fingers[0])
        assert request is not None
        assert sorted(request.fingers + request.exceptions) == sorted(SLAPS[request.slap]) and request.fingers
        assert all(slots.may_capture(p) and p not in slots.exceptions for p in request.fingers)
        outs = []
        for p in request.fingers:
            score, passed = scripts[i % len(scripts)]
            i += 1
            outs.append(outcome(p, score, passed, slots))
            if outs[-1].kept:
                best[p] = score
        take_slap(slots, request, outs)
        assert all(slots.attempts.get(p, 0) <= attempts for p in slots.positions)
        assert all(slots.scores[p] == best[p] for p in best)
    for pos in slots.positions:
        assert pos in slots.exceptions or (pos in slots.scores and (pos not in slots.failed
                                                                    or slots.retries_left(pos) == 0))


def test_a_resumed_draft_remembers_which_kept_fingers_failed() -> None:
    from tests.enroll.test_enroll_rules import Entry
    from kiosk.enroll.fingers import ATTEMPT_ACTION

    slots = slots_for()
    slots.load([(7, 20.0), (8, 60.0)], [], [Entry(ATTEMPT_ACTION, {"position": 7, "nfiq2": 20, "kept": True,
                                                                    "passed": False}),
                                          Entry(ATTEMPT_ACTION, {"position": 8, "nfiq2": 60, "kept": True,
                                                                 "passed": True})])
    start_by_slap(slots)
    assert slots.failed == {7}
    assert slap_request(slots) == SlapRequest(1, (7, 9, 10), (8,))
