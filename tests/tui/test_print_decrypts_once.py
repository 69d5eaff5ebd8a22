"""The print screen decrypts each approved record's identity once, in a worker, and not again on
each progress message of a batch (issue 11 §2: it decrypted every approved record per message)."""

from __future__ import annotations

import threading
from pathlib import Path

from kiosk.config import PolicyConfig, load_config
from kiosk.i18n import set_language
from kiosk.tui.app import KioskApp
from kiosk.tui.messages import PrintProgress
from kiosk.tui.screens.print import PrintScreen
from tests.printer.conftest import approved_record
from tests.tui.conftest import FIXED_TODAY, TUI_CONFIG, Clock
from tests.tui.fakes import fake_devices
from tests.tui.test_flow import wait_for


async def test_progress_messages_do_not_decrypt_the_approved_records_again(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TUI_CONFIG)
    set_language("en")
    cfg = load_config(path)
    clock = Clock()
    app = KioskApp(cfg, devices=fake_devices(), sync=False, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY)
    store = app.store
    store.policy = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)
    ids = [approved_record(store, serial) for serial in (1, 2, 3)]
    store.policy = cfg.policy
    decrypted: list[str] = []
    on_loop: list[bool] = []
    real_identity = store.identity

    def counting_identity(record_id: str):  # type: ignore[no-untyped-def]
        decrypted.append(record_id)
        on_loop.append(threading.current_thread() is threading.main_thread())
        return real_identity(record_id)

    store.identity = counting_identity  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = PrintScreen()
            await app.push_screen(screen)
            await wait_for(pilot, lambda: screen.approved == ids, tries=400)
            assert sorted(decrypted) == sorted(ids)
            for step in range(6):  # a card's stages, then a failure (the list is read again)
                screen.post_message(PrintProgress(ids[0], 0, 3, stage=f"stage{step}"))
            screen.post_message(PrintProgress(ids[0], 1, 3, error=RuntimeError("jam")))
            await wait_for(pilot, lambda: "PENDUDUK 1: " in "\n".join(screen.failures), tries=400)
            await wait_for(pilot, lambda: not any(w.is_running for w in screen.workers
                                                  if w.group == "print-approved"), tries=400)
            assert sorted(decrypted) == sorted(ids), "each record decrypted once across the progress messages"
            assert not any(on_loop), "decryption ran on the event loop"
            table = screen.query_one("#approved")
            assert table.row_count == 3
    finally:
        set_language("id")
