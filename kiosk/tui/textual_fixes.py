"""Workarounds for Textual defects that cost the station memory, each with its upstream report.

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
