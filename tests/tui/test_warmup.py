"""kiosk.tui.warmup: the imports and tables the first enrollment would load in key handlers are loaded
before the UI starts, and the long-lived heap leaves the garbage collector's full collections."""

from __future__ import annotations

import gc
import sys
from typing import Iterator

import pytest

from kiosk import nik
from kiosk.tui import warmup


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test process collects as before


def test_warm_up_imports_every_screen_and_reads_the_region_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in warmup.SCREEN_MODULES:
        monkeypatch.delitem(sys.modules, module, raising=False)
    nik._provinces.cache_clear()
    warmup.warm_up()
    assert all(module in sys.modules for module in warmup.SCREEN_MODULES)
    assert nik._provinces.cache_info().currsize == 1


def test_every_screen_module_is_warmed() -> None:
    from pathlib import Path

    folder = Path(warmup.__file__).parent / "screens"
    on_disk = {f"kiosk.tui.screens.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}
    assert on_disk == set(warmup.SCREEN_MODULES)


def test_freezing_moves_what_lives_now_out_of_the_collections(unfreeze: None) -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    kept = Cycle()
    garbage = Cycle()
    del garbage  # a cycle nobody holds: collected first, never frozen
    before = gc.get_freeze_count()
    frozen = warmup.freeze_long_lived()
    assert frozen > before
    assert not any(type(o) is Cycle and o is not kept for o in gc.get_objects())
    assert all(o is not kept for o in gc.get_objects())  # frozen objects are not among the tracked ones


def test_warm_up_imports_what_the_screens_import_on_first_use() -> None:
    """tui_day's heap report found these imported during the first enrollment (textual-image,
    the print path, Pillow's plugins, the WSQ codec...): a fresh process has them after warm_up."""
    import subprocess

    from tests.conftest import ROOT

    code = ("import sys\nfrom kiosk.tui import warmup\nwarmup.warm_up()\n"
            "print(' '.join(m for m in warmup.FIRST_USE_MODULES + ('PIL.GifImagePlugin',) if m not in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
