"""The central's upload state machine under any order of chunk sends, replays and restarts:
the stored packet is byte-identical to what the station sealed, and stored once."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralError, CentralRegistry

from tests.central.upload_rig import small_packet, upload_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[CentralRegistry, StationKeys]:
    return upload_world(tmp_path_factory.mktemp("upl"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["chunk", "stale", "create", "head"]), st.integers(1, 1500)),
                    min_size=1, max_size=25))
def test_any_sequence_of_sends_and_replays_stores_the_packet_once(world, ops) -> None:  # type: ignore[no-untyped-def]
    reg, keys = world
    rid = str(uuid.uuid4())
    blob = small_packet(reg, keys, rid)
    sha = hashlib.sha256(blob).hexdigest()
    state, _ = reg.create_upload("ST-01", rid, 1, len(blob), sha)
    offset, complete = 0, False
    for op, size in ops + [("chunk", len(blob))] * 4:  # finish with whole-rest sends
        try:
            if op == "chunk":
                st_ = reg.append_chunk("ST-01", rid, 1, offset, blob[offset:offset + size])
                offset, complete = st_.offset, st_.complete
            elif op == "stale":  # a replay of an earlier chunk
                reg.append_chunk("ST-01", rid, 1, max(0, offset - size), blob[max(0, offset - size):offset or 1])
            elif op == "create":
                offset = reg.create_upload("ST-01", rid, 1, len(blob), sha)[0].offset
            else:
                head = reg.upload_state("ST-01", rid, 1)
                offset, complete = head.offset, head.complete
        except CentralError as exc:
            assert exc.code in ("upload.offset_mismatch", "upload.already_complete", "upload.empty_chunk"), exc
            if exc.code == "upload.already_complete":
                complete = True
            if "offset" in exc.params:
                offset = int(exc.params["offset"])
    assert complete
    with reg.lock:
        rows = reg.conn.execute("SELECT packet FROM records WHERE record_id=?", (rid,)).fetchall()
        chunks = reg.conn.execute("SELECT COUNT(*) FROM upload_chunks WHERE record_id=?", (rid,)).fetchone()[0]
    assert len(rows) == 1 and rows[0][0] == blob and chunks == 0
