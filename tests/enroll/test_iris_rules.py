"""The eye rules without a screen (kiosk.enroll.irises): attempts per eye, keep-best, settled eyes,
exceptions under the policy, and a resumed draft that counts its attempts again from the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kiosk.capture.report import CaptureError
from kiosk.config import PolicyConfig
from kiosk.enroll.fingers import Mark
from kiosk.enroll.irises import (EYES, IRIS_ATTEMPT_ACTION, EyeSlots, IrisAttempt, IrisExceptionReason,
                                 check_iris_exception)

POLICY = PolicyConfig(required_irises=(1, 2), supervisor_iris_exceptions=("lost", "prosthesis"))
MINIMUM = 60.0


@dataclass
class Row:
    """An audit entry as the store returns it (action and params are what the rules read)."""

    action: str
    params: dict[str, Any] = field(default_factory=dict)


def test_the_best_attempt_is_kept_and_a_passed_eye_is_not_asked_for_again() -> None:
    slots = EyeSlots.for_policy(POLICY, 3)
    assert slots.wanted() == (1, 2) and slots.pending() == [1, 2]
    slots.take(IrisAttempt(1, 90, True, True))
    slots.take(IrisAttempt(2, 50, True, False))
    assert slots.wanted() == (2,) and slots.pending() == [2]
    assert not slots.keeps(2, 45) and slots.keeps(2, 50) and slots.keeps(2, 70)
    slots.take(IrisAttempt(2, 45, False, False))
    assert slots.scores[2] == 50 and slots.retries_left(2) == 1
    slots.take(IrisAttempt(2, 55, True, False))  # the last attempt, still below: kept, settled
    assert slots.wanted() == () and slots.all_done() and slots.scores == {1: 90, 2: 55}


def test_an_eye_exception_settles_it_and_a_permanent_one_needs_its_supervisor() -> None:
    slots = EyeSlots.for_policy(POLICY, 2)
    slots.set_exception(2, "bandaged", None)
    assert slots.mark(2) is Mark.EXCEPTION and slots.wanted() == (1,)
    slots.set_exception(2, "lost", None)
    assert slots.mark(2) is Mark.UNAPPROVED
    with pytest.raises(CaptureError) as info:
        check_iris_exception(POLICY, 2, "lost", operator="siti")
    assert info.value.code == "iris.supervisor_required"
    with pytest.raises(CaptureError):
        check_iris_exception(POLICY, 2, "lost", operator="siti", supervisor="siti")
    with pytest.raises(CaptureError):
        check_iris_exception(POLICY, 3, "bandaged", operator="siti")
    with pytest.raises(CaptureError):
        check_iris_exception(POLICY, 1, "amputated", operator="siti")
    decision = check_iris_exception(POLICY, 2, "lost", operator="siti", supervisor="budi")
    assert (decision.eye, decision.reason, decision.approved_by) == (2, IrisExceptionReason.LOST, "budi")
    assert check_iris_exception(POLICY, 1, "injured", operator="siti", supervisor="budi").approved_by is None


def test_only_the_required_eyes_hold_the_step() -> None:
    slots = EyeSlots.for_policy(PolicyConfig(required_irises=(1,)), 2)
    assert slots.pending() == [1] and slots.wanted() == (1, 2)
    slots.take(IrisAttempt(1, 80, True, True))
    assert slots.all_done() and slots.wanted() == (2,)  # the left eye may still be captured


def test_a_draft_stored_before_attempts_were_audited_counts_its_kept_eye() -> None:
    slots = EyeSlots.for_policy(POLICY, 3)
    slots.load([(1, 88.0, True), (2, 40.0, False)], [], [])
    assert slots.attempts == {1: 1, 2: 1} and slots.wanted() == (2,)


class EyeStep(RuleBasedStateMachine):
    """The step as the screen drives it (captures of the wanted eyes, exceptions), checked against
    a plain model; after any sequence a resumed draft (what the store holds: kept eyes, exceptions
    and the attempt rows) reads back the same slots."""

    def __init__(self) -> None:
        super().__init__()
        self.per_eye = 3
        self.slots = EyeSlots.for_policy(POLICY, self.per_eye)
        self.rows: list[Row] = []
        self.stored: dict[int, tuple[float, bool]] = {}
        self.excepted: dict[int, tuple[str, str | None]] = {}
        self.best_since_exception: dict[int, float] = {}

    @precondition(lambda self: bool(self.slots.wanted()))
    @rule(scores=st.tuples(st.integers(0, 100), st.integers(0, 100)))
    def capture(self, scores: tuple[int, int]) -> None:
        for eye in self.slots.wanted():  # what the worker does with each eye the device sent
            quality = float(scores[eye - 1])
            keep = self.slots.keeps(eye, quality)
            passed = quality >= MINIMUM
            if keep:
                self.stored[eye] = (quality, passed)
                self.excepted.pop(eye, None)
                self.best_since_exception[eye] = max(self.best_since_exception.get(eye, -1.0), quality)
            self.rows.append(Row(IRIS_ATTEMPT_ACTION, {"eye": eye, "quality": quality, "kept": keep, "passed": passed}))
            self.slots.take(IrisAttempt(eye, quality, keep, passed))

    @rule(eye=st.sampled_from(EYES), reason=st.sampled_from([r.value for r in IrisExceptionReason]),
          approved=st.booleans())
    def exception(self, eye: int, reason: str, approved: bool) -> None:
        by = "budi" if approved else None
        self.stored.pop(eye, None)
        self.best_since_exception.pop(eye, None)
        self.excepted[eye] = (reason, by)
        self.slots.set_exception(eye, reason, by)

    @invariant()
    def attempts_never_exceed_the_policy(self) -> None:
        assert all(0 <= n <= self.per_eye for n in self.slots.attempts.values())

    @invariant()
    def the_kept_eye_is_the_best_stored_one(self) -> None:
        for eye, (quality, _) in self.stored.items():
            assert self.slots.scores[eye] == quality == self.best_since_exception[eye]

    @invariant()
    def an_eye_is_settled_exactly_when_the_rules_say(self) -> None:
        for eye in EYES:
            expect = eye in self.excepted or (eye in self.stored and (
                self.stored[eye][1] or self.slots.retries_left(eye) == 0))
            assert self.slots.settled(eye) == expect
            assert (eye in self.slots.wanted()) == (not expect and self.slots.retries_left(eye) > 0)

    @invariant()
    def a_resumed_draft_reads_back_the_same_slots(self) -> None:
        again = EyeSlots.for_policy(POLICY, self.per_eye)
        again.load([(e, q, p) for e, (q, p) in self.stored.items()],
                   [(e, r, by) for e, (r, by) in self.excepted.items()], self.rows)
        assert again.attempts == self.slots.attempts
        assert again.scores == self.slots.scores and again.passed == self.slots.passed
        assert again.exceptions == self.slots.exceptions
        assert again.wanted() == self.slots.wanted() and again.pending() == self.slots.pending()


EyeStep.TestCase.settings = settings(max_examples=150, stateful_step_count=20, deadline=None)
test_the_eye_step_state_machine = EyeStep.TestCase


def test_every_eye_reason_and_refusal_has_words_in_both_languages() -> None:
    from kiosk.i18n import catalog

    codes = {f"iris.reason.{r.value}" for r in IrisExceptionReason} | {
        "iris.bad_eye", "iris.bad_exception_reason", "iris.supervisor_required", "finger.supervisor_not_operator"}
    for lang in ("id", "en"):
        assert not sorted(c for c in codes if c not in catalog(lang)), lang
