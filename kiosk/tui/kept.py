"""Screens built once per session and shown again, their data refreshed (issue 11 §3).

Mounting a screen (composing its widgets, applying the stylesheet, the first layout) costs 10-20x
what showing it again costs: in tui_day the slowest keys were the ones that built a screen (Enter
on the NIK built the form; P on home built the print screen each time). A kept screen is installed
in the app under ``kept-<name>`` on first use; popping it keeps it mounted; the next opening aims
it again (the caller's ``aim``: the record to show, the lists to read again) instead of building it.

At logout the kept screens go, with the residents' data their widgets hold (:func:`forget_kept`).
The names in use are kept on the app (``_kept_names``), owned by this module.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from textual.app import App
from textual.screen import Screen

S = TypeVar("S", bound=Screen[Any])


def kept_name(name: str) -> str:
    return f"kept-{name}"


def _names(app: App[Any]) -> set[str]:
    names: set[str] | None = getattr(app, "_kept_names", None)
    if names is None:
        names = set()
        app._kept_names = names  # type: ignore[attr-defined]
    return names


def kept_or_new(app: App[Any], name: str, build: Callable[[], S], aim: Callable[[S], None],
                kind: type[S]) -> S:
    """The screen to show for ``name``: the kept instance aimed again (``aim``), or a new one from
    ``build``, installed and kept when none is; a new, unkept one when the kept one is on the stack."""
    key = kept_name(name)
    if not app.is_screen_installed(key):
        screen = build()
        app.install_screen(screen, key)
        _names(app).add(key)
        return screen
    kept = app.get_screen(key)
    if kept in app.screen_stack or not isinstance(kept, kind):
        return build()
    aim(kept)
    return kept


def kept_screens(app: App[Any]) -> list[Screen[Any]]:
    return [app.get_screen(key) for key in sorted(_names(app)) if app.is_screen_installed(key)]


def forget_kept(app: App[Any], leaving: list[Screen[Any]]) -> None:
    """At logout, once the stack is down to the login: the kept screens go. ``leaving`` are those
    that were on the stack: Textual removes them itself once uninstalled; the others, kept aside,
    are removed here."""
    names = _names(app)
    for key in sorted(names):
        if not app.is_screen_installed(key):
            names.discard(key)
            continue
        screen = app.get_screen(key)
        if screen in app.screen_stack:
            continue
        app.uninstall_screen(key)
        names.discard(key)
        if screen not in leaving and screen.is_attached:
            screen.remove()
