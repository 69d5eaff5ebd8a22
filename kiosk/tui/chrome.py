"""The screens' header and footer, and the release of what Textual's own keep alive (issue 11 §3).

A day of enrollments (benchmarks/bench_tui_day.py) showed two costs of Textual's stock widgets:

* ``Header`` registers watchers on the app's ``title``/``sub_title``; the app keeps them, and through
  them the header and its children, after the screen is gone (Textual prunes a watcher list only when
  the watched value changes, and the app's title never does): seven headers a record. Its title
  update also ran after a fast screen switch had removed the title ("NoMatches HeaderTitle").
* ``Footer`` rebuilds every key on each binding refresh (every focus change, every resumed screen,
  every F2), the largest share of the event loop's restyling, and each rebuild left its old keys
  referenced by the ``compact`` watcher of the footer.

:class:`KioskHeader` and :class:`KioskFooter` fix that for the screens that use them;
:func:`prune_closed_watchers` releases the watchers of closed widgets for any screen (called when
a screen comes back to the top).
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

#: the attribute where Textual keeps an object's watchers (``textual.reactive._watch``)
_WATCHERS = "__watchers"


def prune_closed_watchers(obj: Any) -> int:
    """Drop the watchers whose widget is closing or closed (the rule Textual applies itself when the
    watched value changes); returns how many were dropped."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(obj, _WATCHERS, None) or {}
    dropped = 0
    for callbacks in watchers.values():
        alive = [(node, cb) for node, cb in callbacks if not (node._closing or node._closed)]
        dropped += len(callbacks) - len(alive)
        callbacks[:] = alive
    return dropped


def drop_watchers_of(obj: Any, node: Any) -> None:
    """Drop every watcher that ``node`` registered on ``obj``."""
    watchers: dict[str, list[tuple[Any, Any]]] = getattr(obj, _WATCHERS, None) or {}
    for callbacks in watchers.values():
        callbacks[:] = [(n, cb) for n, cb in callbacks if n is not node]


class KioskHeader(Header):
    """Textual's header whose title watchers leave with it and whose title update tolerates a screen
    already taken apart."""

    def _on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # Header._on_mount would register watchers that outlive the header
        Widget._on_mount(self, event)
        self._watched: tuple[Any, ...] = (self.app, self.screen)
        for obj in self._watched:
            self.watch(obj, "title", self._show_title)
            self.watch(obj, "sub_title", self._show_title)

    def _show_title(self) -> None:
        try:
            self.query_one(HeaderTitle).update(self.format_title())
        except (NoMatches, NoScreen):  # the screen was switched before this update ran: nothing to show
            pass

    def on_unmount(self) -> None:
        for obj in getattr(self, "_watched", ()):
            drop_watchers_of(obj, self)


def footer_keys(screen: Screen[Any]) -> tuple[tuple[str, str, str, bool, str], ...]:
    """What the footer shows of the screen's bindings: key, words, action, enabled, tooltip."""
    return tuple((binding.key, binding.description, binding.action, enabled, tooltip or "")
                 for _, binding, enabled, tooltip in screen.active_bindings.values() if binding.show)


class KioskFooter(Footer):
    """Textual's footer, rebuilt only when the keys it shows changed; when only their words changed
    (F2), the words are set on the keys already shown."""

    _shown: tuple[tuple[str, str, str, bool, str], ...] | None = None

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            shown = footer_keys(screen)
            if self._bindings_ready and self._shown is not None:
                if shown == self._shown:
                    return
                if self._reword(shown):
                    self._shown = shown
                    return
            self._shown = shown
        super().bindings_changed(screen)

    def _reword(self, shown: tuple[tuple[str, str, str, bool, str], ...]) -> bool:
        """The same keys in the same order, other words: re-word the keys shown. False when the keys
        themselves changed (the footer is rebuilt)."""
        old = self._shown or ()
        if len(old) != len(shown) or any(a[:1] + a[2:] != b[:1] + b[2:] for a, b in zip(old, shown)):
            return False
        words: dict[str, str] = {}
        for _key, description, action, _enabled, _tip in shown:
            words.setdefault(action, description)  # the footer shows an action's first binding
        keys = [k for k in self.query_children(FooterKey) if k.action in words]
        if len(keys) != len(words):
            return False
        for key in keys:
            if key.description != words[key.action]:
                key.description = words[key.action]
                key.refresh(layout=True)
        return True

    async def recompose(self) -> None:
        await super().recompose()
        prune_closed_watchers(self)  # the removed keys' ``compact`` bindings
