"""Base screens: footer keys whose descriptions come from the catalog and follow the language.

A screen lists its keys in ``KEYS`` as (key, action, catalog code[, priority]); the descriptions
are translated when the screen is built and again when the operator switches language.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from textual.binding import BindingsMap
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from kiosk.i18n import translate

if TYPE_CHECKING:
    from kiosk.tui.app import KioskApp

T = TypeVar("T")


def quiet_textual_words() -> None:
    """Textual's own footer words are English ("esc Dismiss menu" of an open Select): the key
    keeps working, its English description leaves the footer (the screen's Esc says "Back")."""
    from textual.binding import Binding
    from textual.widgets._select import SelectOverlay

    SelectOverlay.BINDINGS = [Binding("escape", "dismiss", "", show=False)]
    SelectOverlay._merged_bindings = SelectOverlay._merge_bindings()


quiet_textual_words()


def set_text(widget: Static, text: str, *, layout: bool = True) -> bool:
    """Show ``text`` in a Static unless it already shows it: an update re-lays out the screen, and the
    capture screens re-word themselves on every frame or pen report (tui_day). ``layout=False`` for a
    widget whose box the stylesheet fixes (its size cannot follow the text): only it is repainted.
    True when updated."""
    if widget.content == text:
        return False
    widget.update(text, layout=layout)
    return True
#: (key, action, catalog code) or (..., priority) or (..., priority, key shown in the footer);
#: an empty code hides the key from the footer (it is then described by a neighbour, e.g. "←→")
KeySpec = tuple[str, str, str] | tuple[str, str, str, bool] | tuple[str, str, str, bool, str]


#: keys that work on every screen, dialogs included (Textual does not pass a modal's keys to the app)
APP_KEYS: list[KeySpec] = [
    ("f2", "switch_language", "tui.key.language"),
    ("ctrl+q", "quit", "tui.key.quit"),
]


class Translated:
    """Mixin for screens: translated footer keys and a ``refresh_texts`` hook."""

    KEYS: ClassVar[list[KeySpec]] = []

    def translate_keys(self) -> None:
        merged = type(self)._merged_bindings  # type: ignore[attr-defined]
        bindings = merged.copy() if merged is not None else BindingsMap()
        for spec in self.KEYS:
            key, action, code = spec[0], spec[1], spec[2]
            priority = bool(spec[3]) if len(spec) > 3 else False  # type: ignore[misc]
            display = str(spec[4]) if len(spec) > 4 else None  # type: ignore[misc]
            bindings.bind(key, action, translate(code) if code else "", priority=priority, key_display=display)
        if isinstance(self, ModalScreen):
            for key, action, code, *_ in APP_KEYS:
                bindings.key_to_bindings.pop(key, None)
                bindings.bind(key, "app." + action, translate(code), priority=key == "ctrl+q")
        self._bindings = bindings  # type: ignore[attr-defined]

    def refresh_texts(self) -> None:
        """Re-render every text of the screen in the current language (override)."""

    @staticmethod
    def words(code: str, params: dict[str, object]) -> str:
        """``translate`` whose parameters may themselves be catalog codes written "@code" (a
        finger's name in a title): translated now, so they follow F2 like the rest."""
        return translate(code, **{k: translate(v[1:]) if isinstance(v, str) and v.startswith("@") else v
                                  for k, v in params.items()})

    #: the language changed while the screen lay under another one: its texts follow when it shows again
    _texts_stale: bool = False

    def language_changed(self) -> None:
        self.translate_keys()
        if self.is_mounted:  # type: ignore[attr-defined]  # a screen still being built translates on mount
            self.refresh_texts()
        self.refresh_bindings()  # type: ignore[attr-defined]

    def language_changed_hidden(self) -> None:
        """F2 while this screen lies under another: only its keys now; re-rendering every text of every
        screen in the stack made each F2 cost several screens' restyle on the UI thread (tui_day)."""
        self.translate_keys()
        self._texts_stale = True

    def on_screen_resume(self) -> None:
        if self._texts_stale:
            self._texts_stale = False
            if self.is_mounted:  # type: ignore[attr-defined]
                self.refresh_texts()
            self.refresh_bindings()  # type: ignore[attr-defined]


class KioskScreen(Translated, Screen[None]):
    def __init__(self) -> None:
        super().__init__()
        self.translate_keys()

    @property
    def kiosk(self) -> "KioskApp":
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.refresh_texts()

    def on_screen_resume(self) -> None:
        """The screen on top again: release what the screens closed meanwhile left referenced (their
        headers' watchers on the app, see kiosk.tui.chrome)."""
        from kiosk.tui.chrome import prune_closed_watchers

        prune_closed_watchers(self.app)
        prune_closed_watchers(self)


class KioskModal(Translated, ModalScreen[T], Generic[T]):
    #: True for a modal the station opens by itself (not on a key): it drops keys typed before it appeared
    auto_opened: bool = False

    def __init__(self) -> None:
        super().__init__()
        self.translate_keys()
        self.opened_at = time.monotonic()

    @property
    def kiosk(self) -> "KioskApp":
        return self.app  # type: ignore[return-value]

    def on_mount(self) -> None:
        self.refresh_texts()
