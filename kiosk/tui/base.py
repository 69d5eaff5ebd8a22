"""Base screens: footer keys whose descriptions come from the catalog and follow the language.

A screen lists its keys in ``KEYS`` as (key, action, catalog code[, priority]); the descriptions
are translated when the screen is built and again when the operator switches language.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from textual.binding import BindingsMap
from textual.screen import ModalScreen, Screen

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
#: (key, action, catalog code) or (..., priority) or (..., priority, key shown in the footer);
#: an empty code hides the key from the footer (it is then described by a neighbour, e.g. "←→")
KeySpec = tuple[str, str, str] | tuple[str, str, str, bool] | tuple[str, str, str, bool, str]


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
        self._bindings = bindings  # type: ignore[attr-defined]

    def refresh_texts(self) -> None:
        """Re-render every text of the screen in the current language (override)."""

    def language_changed(self) -> None:
        self.translate_keys()
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
