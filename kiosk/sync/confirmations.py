"""Confirmations: records the central holds whole move ``queued -> submitted``, in group commits.

Each record's confirmation is its own state change with its own audit row (the transition
``queued -> submitted``) and its packet marked confirmed; what a group commit shares is the
transaction: uploads that finish while another upload's confirmation is being committed are
committed together in the next one (leader and followers, as SQLite's and PostgreSQL's
group commits do), so two uploads in flight pay one ``BEGIN IMMEDIATE ... COMMIT`` and
never wait on each other's write lock (SQLite's busy handler sleeps for a millisecond or
more each time it finds the lock taken).

A confirmation returns only once it is committed. A kill -9 before the commit loses the
whole group's confirmations, never part of one: those records are still ``queued`` with
their stored packets and no audit rows, and the next pass asks the central (HEAD), hears
"complete" and confirms each once. The commit is not fsynced (:func:`without_fsync`): the
central made the packets durable before it answered.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from kiosk.store import IllegalTransition, RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.packets import drop_packet_files, without_fsync
from kiosk.sync.session import ACTOR

Ticket = tuple[str, int]  # (record id, submission)


def commit_confirmations(store: RecordStore, batch: list[Ticket]) -> None:
    """One transaction: each record of ``batch`` to ``submitted`` with its audit row and its
    packet marked confirmed (a record no longer queued, e.g. decided meanwhile by a pass that
    heard "already complete", only has its packet marked); then the packets' files go (the
    central holds each whole: :func:`kiosk.sync.packets.drop_packet_files`)."""
    files: list[tuple[str, int, str | None]] = []

    def mark(record_id: str, submission: int) -> Callable[[sqlite3.Connection], None]:
        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT sha256 FROM sync_packets WHERE record_id=? AND submission=?",
                               (record_id, submission)).fetchone()
            files.append((record_id, submission, row[0] if row else None))
            conn.execute("UPDATE sync_packets SET status='confirmed', confirmed_at=?, offset=length, packet=NULL"
                         " WHERE record_id=? AND submission=?", (now_iso(), record_id, submission))
        return run

    with without_fsync(store.conn), packet_pages_not_zeroed(store.conn), store.transaction() as conn:
        for record_id, submission in batch:
            try:
                store.transition(record_id, RecordState.SUBMITTED, actor=ACTOR, expect=RecordState.QUEUED,
                                 params={"submission": submission}, extra=mark(record_id, submission))
            except IllegalTransition:  # raised before it wrote anything
                mark(record_id, submission)(conn)
    drop_packet_files(store, files)


@contextmanager
def packet_pages_not_zeroed(conn: sqlite3.Connection) -> Iterator[None]:
    """Freed pages are not overwritten with zeros inside the block (``secure_delete=FAST``).

    Debian builds SQLite with secure_delete on, so dropping a confirmed packet (~200 KB)
    wrote as many bytes of zeros to the WAL, and again at the checkpoint: ~1 ms per record,
    on the upload's path. Those pages hold only the sealed packet, ciphertext that only the
    central can open, so zeroing them protects nothing; every other deletion at the station
    (purged biometrics) keeps the build's setting, restored on leaving the block."""
    before = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete=FAST")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete={int(before)}")


class Confirmations:
    """Group commit of confirmations (module docstring); one per outbox, shared by its uploads."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._pending: list[tuple[object, Ticket]] = []
        self._committing = False
        #: each waiting confirmation's outcome once its group committed (None) or failed
        self._outcome: dict[object, BaseException | None] = {}
        #: transactions committed, and confirmations in them (a group commit shows as fewer of the first)
        self.commits = 0
        self.confirmed = 0

    def confirm(self, record_id: str, submission: int) -> None:
        """Return once this record's confirmation is committed, alone or with others'; raise
        what the commit raised (nothing of its group was committed then)."""
        if self.store.conn.in_transaction:
            # inside the caller's own transaction (which holds the write lock): join it; waiting
            # for another thread's group commit would wait for this very lock
            commit_confirmations(self.store, [(record_id, submission)])
            return
        key = object()
        with self._cond:
            self._pending.append((key, (record_id, submission)))
            while key not in self._outcome:
                if self._committing:
                    self._cond.wait()
                    continue
                self._committing = True  # this thread commits what is pending, its own included
                group, self._pending = self._pending, []
                self._cond.release()
                try:
                    commit_confirmations(self.store, [t for _, t in group])
                    outcome: BaseException | None = None
                except BaseException as exc:  # every confirmation of the group fails alike
                    outcome = exc
                finally:
                    self._cond.acquire()
                self._committing = False
                if outcome is None:
                    self.commits += 1
                    self.confirmed += len(group)
                for k, _ in group:
                    self._outcome[k] = outcome
                self._cond.notify_all()
            error = self._outcome.pop(key)
        if error is not None:
            raise error
