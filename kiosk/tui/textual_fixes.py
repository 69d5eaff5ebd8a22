"""Workarounds for Textual defects that cost the station memory or garbage-collection time, each with
its upstream report or, where none was found, what the defect is.

Textual 8 (``textual/_styles_cache.py``) decorates the *instance* method
``StylesCache.get_inner_outer`` with ``@lru_cache(1024)``, so each cache key holds ``self``: the
styles cache of up to 1024 widgets stays alive with every line those widgets last rendered, long
after their screens closed (Textualize/textual#6665, open). tui_day found 158 such caches and
about 2,600 rendered lines more after each enrollment, growing for the first seven enrollments
until the 1024 entries were full. The method's result depends on its two colours only (its body
never reads ``self``), so :func:`unpin_styles_caches` keys Textual's own body on the colours alone.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from textual._styles_cache import StylesCache
from textual.strip import Strip

log = logging.getLogger(__name__)

#: distinct (base background, background) pairs kept, as Textual keeps
INNER_OUTER_CACHE = 1024


def unpin_styles_caches() -> bool:
    """Replace Textual's self-keyed cache of ``StylesCache.get_inner_outer`` with one keyed on the
    colours only. True when applied; False when already applied or not needed (fixed upstream)."""
    method = StylesCache.__dict__.get("get_inner_outer")
    body: Callable[..., Any] | None = getattr(method, "__wrapped__", None)
    if body is None or not hasattr(method, "cache_clear"):
        return False  # no instance-method lru_cache here: nothing pins the caches
    method.cache_clear()  # type: ignore[union-attr]  # lets go of the caches pinned so far

    @functools.lru_cache(INNER_OUTER_CACHE)
    def inner_outer(base_background: Any, background: Any) -> Any:
        return body(None, base_background, background)  # Textual's body; it never reads self

    def get_inner_outer(self: StylesCache, base_background: Any, background: Any) -> Any:
        return inner_outer(base_background, background)

    get_inner_outer.cache = inner_outer  # type: ignore[attr-defined]  # for tests and diagnostics
    get_inner_outer.textual_method = method  # type: ignore[attr-defined]  # Textual's own, for tests
    StylesCache.get_inner_outer = get_inner_outer  # type: ignore[method-assign]
    log.debug("StylesCache.get_inner_outer keyed on colours only (Textualize/textual#6665)")
    return True


def _caches_self(strip: Strip) -> bool:
    """The strip is a value (or in a list value) of one of its own caches: a reference cycle."""
    for name in ("_divide_cache", "_crop_extend_cache"):
        for value in getattr(strip, name)._cache.values():
            if value is strip or (isinstance(value, list) and any(v is strip for v in value)):
                return True
    return False


def uncycle_strips() -> bool:
    """Textual 8's ``Strip.divide`` caches ``[self]`` in the strip's own ``_divide_cache`` when the cut
    is the strip's length (the compositor divides every line it draws), and ``Strip.crop_extend``
    caches ``self`` when the crop changes nothing: each such strip is a reference cycle, freed only
    by the garbage collector, with its segments, styles and colours. tui_day: ~50,000 objects of
    cyclic garbage per enrollment (13,000 of them strip caches), the bulk of every full collection
    (no upstream report found; the methods' results are unchanged here, only the self-entries are
    not kept). True when applied, False when already applied."""
    if getattr(Strip.divide, "uncycled", False):
        return False
    divide, crop_extend = Strip.divide, Strip.crop_extend

    def divide_without_cycle(self: Strip, cuts: Any) -> Any:
        cuts = [cut for cut in cuts if cut <= self.cell_length]
        if cuts == [self.cell_length]:
            return [self]  # what Textual returns, not kept in the strip's own cache
        return divide(self, cuts)

    def crop_extend_without_cycle(self: Strip, start: int, end: int, style: Any) -> Strip:
        strip = crop_extend(self, start, end, style)
        if strip is self:
            self._crop_extend_cache._cache.pop((start, end, style), None)
        return strip

    divide_without_cycle.uncycled = True  # type: ignore[attr-defined]
    divide_without_cycle.textual_method = divide  # type: ignore[attr-defined]
    crop_extend_without_cycle.textual_method = crop_extend  # type: ignore[attr-defined]
    Strip.divide = divide_without_cycle  # type: ignore[method-assign]
    Strip.crop_extend = crop_extend_without_cycle  # type: ignore[method-assign]
    log.debug("Strip.divide / crop_extend keep no reference to their own strip")
    return True


def release_closed_widgets_lines() -> bool:
    """Textual 8 clears a closed widget's render and arrangement caches
    (``Widget._message_loop_exit``) but not its ``_styles_cache``, which holds the widget's last drawn
    lines: with the widget (a reference cycle through its parent and screen) they wait for a full
    garbage collection, and make it longer (tui_day: the closed step screens' lines were most of an
    enrollment's cyclic garbage). Here they go when the widget closes, freed by their reference
    count. True when applied, False when already applied."""
    from textual.widget import Widget

    exit_loop = Widget._message_loop_exit
    if getattr(exit_loop, "releases_lines", False):
        return False

    async def message_loop_exit(self: Widget) -> None:
        await exit_loop(self)
        self._styles_cache.clear()

    message_loop_exit.releases_lines = True  # type: ignore[attr-defined]
    message_loop_exit.textual_method = exit_loop  # type: ignore[attr-defined]
    Widget._message_loop_exit = message_loop_exit  # type: ignore[method-assign]
    return True
