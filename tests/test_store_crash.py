"""kill -9 during a burst of state transitions leaves a sound database."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.config import PolicyConfig
from kiosk.store import RecordState, RecordStore
from tests.conftest import ROOT

WRITER = r"""
import random, sys, itertools
from datetime import date, timedelta
from pathlib import Path
from kiosk.config import PolicyConfig
from kiosk.store import RecordStore, RecordState, TRANSITIONS
from tests.conftest import resident
store = RecordStore(Path(sys.argv[1]), policy=PolicyConfig(required_fingers=(), require_face=False,
                                                           require_signature=False))
rng = random.Random(int(sys.argv[2]))
serial = itertools.count(int(sys.argv[2]) * 100000)
print("ready", flush=True)
while True:
    live = [r for r in store.list() if TRANSITIONS[r.state]]
    if len(live) < 5 or rng.random() < 0.2:
        n = next(serial)  # unique per writer and round, so NIKs never collide
        rid = store.create_draft(resident(n % 9999 + 1, born=date(1950, 1, 1) + timedelta(days=n // 9999)),
                                 actor="burst").id
        store.put_sample(rid, kind="face", data=rng.randbytes(2048), format="image/jpeg", actor="burst")
        continue
    rec = rng.choice(live)
    store.transition(rec.id, rng.choice(sorted(TRANSITIONS[rec.state])), actor="burst")
"""


@pytest.mark.slow
def test_kill_9_during_transitions_leaves_every_record_legal(tmp_path: Path) -> None:
    data = tmp_path / "st"
    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(data), str(round_ + 1)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.2, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store = RecordStore(data, policy=PolicyConfig(required_fingers=(), require_face=False, require_signature=False))
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = store.list()
    assert len(records) > 5
    for rec in records:
        assert isinstance(rec.state, RecordState)
        moves = [e for e in store.audit(rec.id) if e.to_state]
        # The record's state and its audit trail were written in one transaction: they agree.
        assert moves[-1].to_state == rec.state.value
    assert store.verify_audit() is None
