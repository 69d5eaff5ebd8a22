"""Issue 11 §4: every key a message names is a key that works where the message is shown.

Each operator sentence of the TUI catalogs (both languages) that names a key (Ctrl+S, F2, Enter,
Esc, a letter in parentheses, "press R", "tekan C"...) must be listed here with the screens that
show it, and each key it names must be bound on those screens (their KEYS, the app's KEYS) or be
a key the focused field itself takes (Enter in the NIK field)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kiosk.i18n import LANGUAGES, catalog, current_language, set_language, translate
from kiosk.tui.app import KioskApp
from kiosk.tui.modals import ConfirmModal
from kiosk.tui.screens.diagnostics import DiagnosticsScreen
from kiosk.tui.screens.enroll_face import FaceScreen
from kiosk.tui.screens.enroll_fingers import FingersScreen
from kiosk.tui.screens.enroll_iris import IrisScreen
from kiosk.tui.screens.enroll_nik import NikScreen
from kiosk.tui.screens.enroll_review import ReviewScreen
from kiosk.tui.screens.enroll_signature import SignatureScreen
from kiosk.tui.screens.home import HomeScreen
from kiosk.tui.screens.print_modals import TrayCheckModal
from kiosk.tui.screens.queue import QueueScreen

#: catalog code -> screens that show it
SHOWN_ON: dict[str, tuple[type, ...]] = {
    "tui.resume.discard_confirm": (ConfirmModal,),
    "tui.wizard.draft_kept": (HomeScreen,),
    "tui.nik.valid": (NikScreen,),
    "tui.fingers.no_retries": (FingersScreen,),
    "tui.fingers.all_done": (FingersScreen,),
    "iris.ready": (IrisScreen,),
    "iris.hint": (IrisScreen,),
    "iris.exception_hint": (IrisScreen,),
    "iris.nothing_to_capture": (IrisScreen,),
    "tui.quit_hint": (HomeScreen, NikScreen, FingersScreen, SignatureScreen, ConfirmModal),
    "tui.fingers.cancel_hint": (FingersScreen,),
    "tui.slap.failed": (FingersScreen,),
    "tui.slap.not_answered": (FingersScreen,),
    "tui.signature.saved_next": (SignatureScreen,),
    "tui.face.saving": (FaceScreen,),
    "tui.signature.accept_hint": (SignatureScreen,),
    "tui.signature.too_long": (SignatureScreen,),
    "tui.review.complete": (ReviewScreen,),
    "tui.queue.filter": (QueueScreen,),
    "tui.diag.hint": (DiagnosticsScreen,),
    "tui.tray.answers": (TrayCheckModal,),
    "tui.nikcheck.delete_hint": (NikScreen,),
    "dedup_flow.step.held": (QueueScreen,),
}
#: keys the focused field takes itself (not a screen binding)
FIELD_KEYS: dict[type, set[str]] = {NikScreen: {"enter"}}
#: the key each capture screen names in the device action sentences (tui.action.replug / retry)
RETRY_KEYS: dict[type, str] = {FaceScreen: "R", FingersScreen: "C", SignatureScreen: "Ctrl+R"}

KEY = re.compile(r"\b(Ctrl\+[A-Z])\b|\b(F[0-9]{1,2})\b|\b(Enter|Esc)\b|\(([A-Z])\)"
                 r"|(?:[Pp]ress|[Tt]ekan) ([A-Z])\b|(?:, |lalu |then )([A-Z]) (?=\w)")


def keys_named(text: str) -> set[str]:
    out = set()
    for match in KEY.finditer(text):
        token = next(g for g in match.groups() if g)
        out.add(token.lower().replace("esc", "escape"))
    return out


def bound(screen: type) -> set[str]:
    keys = set()
    for spec in [*getattr(screen, "KEYS", []), *KioskApp.KEYS]:
        keys.update(k.strip() for k in spec[0].split(","))
    return keys | FIELD_KEYS.get(screen, set())


@pytest.fixture
def each_language() -> Any:
    before = current_language()
    yield
    set_language(before)


def test_every_key_named_in_a_tui_message_works_where_it_is_shown(each_language: Any) -> None:
    problems = []
    for lang in LANGUAGES:
        set_language(lang)
        for code in catalog(lang):
            if not code.startswith(("tui.", "dedup_flow.", "iris.")) or code.startswith(("tui.key.", "tui.action.")):
                continue
            named = keys_named(translate(code))
            if not named:
                continue
            if code not in SHOWN_ON:
                problems.append(f"{lang} {code}: names {sorted(named)} but is not listed in SHOWN_ON")
                continue
            for screen in SHOWN_ON[code]:
                missing = named - bound(screen)
                if missing:
                    problems.append(f"{lang} {code}: {sorted(missing)} not bound on {screen.__name__}")
    assert problems == []


def test_the_device_action_names_the_retry_key_of_each_capture_screen(each_language: Any) -> None:
    for lang in LANGUAGES:
        set_language(lang)
        for screen, key in RETRY_KEYS.items():
            for code in ("tui.action.replug", "tui.action.retry"):
                named = keys_named(translate(code, key=key))
                assert named and named <= bound(screen), (lang, code, screen.__name__, named)


def test_the_pattern_finds_the_keys_the_old_message_named() -> None:
    assert keys_named("…, lalu tekan R untuk mencoba lagi.") == {"r"}
    assert keys_named("Pilih perangkat, lalu O buka, I info, T uji mandiri") == {"o", "i", "t"}
    assert keys_named("Complete: press Ctrl+S to submit.") == {"ctrl+s"}
