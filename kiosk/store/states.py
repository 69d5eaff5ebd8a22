"""A record's life, defined in one place."""

from __future__ import annotations

import enum


class RecordState(enum.StrEnum):
    DRAFT = "draft"
    CAPTURED = "captured"
    QUEUED = "queued"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    PRINTING = "printing"
    PRINTED = "printed"
    CANCELLED = "cancelled"


S = RecordState

#: every allowed move; anything else raises IllegalTransition and changes nothing
TRANSITIONS: dict[RecordState, frozenset[RecordState]] = {
    S.DRAFT: frozenset({S.CAPTURED, S.CANCELLED}),
    S.CAPTURED: frozenset({S.QUEUED, S.CANCELLED}),
    S.QUEUED: frozenset({S.SUBMITTED}),
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.DUPLICATE}),
    S.APPROVED: frozenset({S.PRINTING}),
    # printing -> approved: the print failed; the record waits for another attempt
    S.PRINTING: frozenset({S.PRINTED, S.APPROVED}),
    S.PRINTED: frozenset(),
    S.REJECTED: frozenset({S.CANCELLED}),
    # duplicate -> queued: resubmitted once the central deleted the earlier record
    S.DUPLICATE: frozenset({S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

#: states in which a record still "holds" its NIK at this station (local duplicate check)
HOLDS_NIK = frozenset(s for s in RecordState if s is not S.CANCELLED)
#: states in which identity and samples may still be edited
EDITABLE = frozenset({S.DRAFT, S.CAPTURED})
