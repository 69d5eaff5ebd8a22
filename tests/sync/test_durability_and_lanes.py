"""Commits without their own fsync lose nothing (issue 13 §3, loopback): a station confirm the
disk lost is redone once from the central's answer, with one audit row per state change; the
central answers "complete" only after the group fsync; a link being cut gets one upload at a time."""

from __future__ import annotations

import threading

import httpx

from kiosk.store import RecordState
from kiosk.sync.outbox import Lanes, Outbox
from kiosk.sync.pacing import LinkPace
from kiosk.sync.worker import SyncSettings
from tests.central.conftest import enroll
from tests.conftest import resident
from tests.sync.test_upload_rounds import ONE_CHUNK, Exchanges

S = RecordState


class PowerCut(Exception):
    """The station stopped before its confirm reached the disk."""


def _submitted_rows(store, rid: str) -> int:  # type: ignore[no-untyped-def]
    return store.conn.execute("SELECT COUNT(*) FROM audit WHERE record_id=? AND action='transition'"
                              " AND from_state='queued' AND to_state='submitted'", (rid,)).fetchone()[0]


def test_a_lost_confirm_is_redone_once_from_the_centrals_answer(make_station, central, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    central.registry.decision_delay_s = 3600  # no decision confirms it meanwhile: only the upload path
    log = Exchanges()
    st = make_station(settings=ONE_CHUNK, on_exchange=log)
    rid = enroll(st.store, resident(50))

    def lost(self: Outbox, record_id: str, submission: int) -> None:
        raise PowerCut()

    monkeypatch.setattr(Outbox, "confirm", lost)
    st.worker.run_once()
    assert st.store.get(rid).state is S.QUEUED and central.registry.counts()["uploads_complete"] == 1
    monkeypatch.undo()
    log.seen.clear()
    assert st.worker.run_once()["confirmed"] == 1
    assert log.uploads() == [("HEAD", f"/v1/uploads/{rid}/1", 200)]  # asked, heard "complete", sent nothing
    assert st.store.get(rid).state is not S.QUEUED
    assert _submitted_rows(st.store, rid) == 1  # one state change, one audit row
    assert central.registry.counts()["records"] == 1


def test_every_confirmed_record_has_exactly_one_audit_row_for_its_submission(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station(settings=ONE_CHUNK)
    ids = [enroll(st.store, resident(51 + i)) for i in range(4)]
    assert st.worker.run_once()["confirmed"] == 4
    assert [_submitted_rows(st.store, r) for r in ids] == [1, 1, 1, 1]
    assert st.store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again after the pass


def test_the_central_answers_complete_only_after_the_fsync(make_station, central, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    synced: list[int] = []
    answered: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if os.readlink(f"/proc/self/fd/{fd}").endswith("central.db-wal"):
            synced.append(len(answered))

    monkeypatch.setattr("kiosk.central.uploads.os.fsync", fsync)

    def seen(request: httpx.Request, response: httpx.Response) -> None:
        if request.method != "HEAD" and request.url.path.startswith("/v1/uploads") and response.json().get("complete"):
            answered.append(1)

    st = make_station(settings=ONE_CHUNK, on_exchange=seen)
    for i in range(3):
        enroll(st.store, resident(55 + i))
    st.worker.run_once()
    assert len(answered) == 3
    assert synced[:3] == [0, 1, 2]  # each "complete" came after an fsync of the WAL holding it


def test_lanes_allow_one_upload_at_a_time_while_the_link_is_cut() -> None:
    now = [0.0]
    pace = LinkPace(calm_s=60.0, clock=lambda: now[0])
    lanes = Lanes(3, pace.being_cut)
    stop = threading.Event()
    assert lanes.limit() == 3
    pace.cut()
    assert lanes.limit() == 1
    inside = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with lanes.lane(stop) as got:
            assert got
            order.append("first in")
            inside.set()
            release.wait(30)
            order.append("first out")

    def second() -> None:
        inside.wait(30)
        with lanes.lane(stop) as got:
            assert got
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    inside.wait(30)
    assert lanes.active == 1
    release.set()
    for t in threads:
        t.join(30)
    assert order == ["first in", "first out", "second in"]
    now[0] += 61.0  # a minute without cuts: all lanes again
    assert lanes.limit() == 3


def test_a_stopped_worker_does_not_wait_for_a_lane() -> None:
    lanes = Lanes(1, lambda: False)
    stop = threading.Event()
    with lanes.lane(stop) as got:
        assert got
        stop.set()
        with lanes.lane(stop) as second:
            assert not second
    assert lanes.active == 0


class _Broken(httpx.BaseTransport):
    """Every request fails with ``error`` before an answer."""

    def __init__(self, error: type[httpx.TransportError]) -> None:
        self.error = error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise self.error("test", request=request)


def test_the_lanes_and_the_pacing_share_one_clock_of_cuts(make_station) -> None:  # type: ignore[no-untyped-def]
    """A connection cut mid-way narrows the lanes to one as it paces writes; a central not
    reached (refused, no route) is no cut, for either: one clock, the client's."""
    st = make_station(settings=SyncSettings(**{**ONE_CHUNK.__dict__, "parallel": 3}))
    lanes, pace = st.worker.outbox.lanes, st.client.pace
    rid = enroll(st.store, resident(81))
    st.client.http._transport = _Broken(httpx.ConnectError)
    assert st.worker.outbox.upload(rid, max_attempts=1) == "deferred"
    assert not pace.being_cut() and lanes.limit() == 3
    st.client.http._transport = _Broken(httpx.ReadError)  # reset mid-answer: a cut
    assert st.worker.outbox.upload(rid, max_attempts=1) == "deferred"
    assert pace.being_cut() and lanes.limit() == 1
