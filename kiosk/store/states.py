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
    #: stopped before upload: its fingers match another record of this station under another
    #: NIK (kiosk.dedup.local); a supervisor decides (kiosk.dedup.local_hold)
    HELD = "held"
    #: the central deleted this record (penunggalan: the resident keeps a record made elsewhere);
    #: it never prints, whatever permit it held
    DELETED = "deleted"


S = RecordState

#: every allowed move; anything else raises IllegalTransition and changes nothing
TRANSITIONS: dict[RecordState, frozenset[RecordState]] = {
    S.DRAFT: frozenset({S.CAPTURED, S.CANCELLED}),
    S.CAPTURED: frozenset({S.QUEUED, S.CANCELLED}),
    # queued -> held: the station's own fingerprint check stopped it before upload
    S.QUEUED: frozenset({S.SUBMITTED, S.HELD}),
    # held -> queued: a supervisor found two people; held -> cancelled: the same person
    S.HELD: frozenset({S.QUEUED, S.CANCELLED}),
    # submitted/approved/... -> deleted: the central's signed ``deleted`` decision
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.DUPLICATE, S.DELETED}),
    S.APPROVED: frozenset({S.PRINTING, S.DELETED}),
    # printing -> approved: the print failed; the record waits for another attempt. A print
    # under way when the deletion arrives is not cut short here: the gate finishes it and the
    # deletion, applied after, finds the record approved (no card) or printed (card out)
    S.PRINTING: frozenset({S.PRINTED, S.APPROVED}),
    # printed -> deleted: the card is out, but the record is deleted at the central all the same
    S.PRINTED: frozenset({S.DELETED}),
    S.REJECTED: frozenset({S.CANCELLED}),
    # duplicate -> queued: resubmitted once the central deleted the earlier record;
    # duplicate -> approved / rejected: an officer at the central adjudicated the same
    # submission (same fingers under another NIK) without a deletion request
    S.DUPLICATE: frozenset({S.QUEUED, S.CANCELLED, S.APPROVED, S.REJECTED, S.DELETED}),
    S.CANCELLED: frozenset(),
    S.DELETED: frozenset(),
}

#: states in which a record still "holds" its NIK at this station (local duplicate check);
#: a deleted record freed its NIK at the central, so it frees it here too
HOLDS_NIK = frozenset(s for s in RecordState if s not in (S.CANCELLED, S.DELETED))
#: states in which identity and samples may still be edited
EDITABLE = frozenset({S.DRAFT, S.CAPTURED})
