"""Fault injection for the local central: what a bad day on the network looks like.

- ``rate``: share of requests that fail, each failure drawn from ``kinds``:
  ``5xx`` (503 before doing anything), ``timeout`` (hang ``hang_s`` then drop the
  connection, nothing done), ``reset`` (read part of the body, then reset the connection),
  ``lost_response`` (do the work, then reset before answering: the station must find out
  by asking again, which is what makes idempotency necessary).
- ``latency_s``: added to every request; ``bandwidth_bps``: cap on body bytes each way.
- ``outage_until``: Unix time until which every connection is reset at once.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

KINDS = ("5xx", "timeout", "reset", "lost_response")


@dataclass(frozen=True)
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = KINDS
    hang_s: float = 15.0
    latency_s: float = 0.0
    bandwidth_bps: int = 0
    outage_until: float = 0.0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kinds"] = list(self.kinds)
        return d


@dataclass
class FaultInjector:
    config: FaultConfig = field(default_factory=FaultConfig)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)
    injected: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})

    def set(self, **changes: Any) -> FaultConfig:
        """Change some settings; ``outage_s`` starts a total outage of that many seconds."""
        outage_s = changes.pop("outage_s", None)
        if outage_s is not None:
            changes["outage_until"] = time.time() + float(outage_s)
        if "kinds" in changes:
            kinds = tuple(changes["kinds"])
            unknown = [k for k in kinds if k not in KINDS]
            if unknown or not kinds:
                raise ValueError(f"unknown fault kinds {unknown}")
            changes["kinds"] = kinds
        for key in ("rate",):
            if key in changes and not 0.0 <= float(changes[key]) <= 1.0:
                raise ValueError("rate must be within 0..1")
        with self._lock:
            self.config = replace(self.config, **changes)
            if "seed" in changes and changes["seed"] is not None:
                self._rng.seed(changes["seed"])
            return self.config

    def in_outage(self) -> bool:
        return time.time() < self.config.outage_until

    def draw(self) -> str | None:
        """The fault to inject into this request, if any."""
        with self._lock:
            cfg = self.config
            if cfg.rate <= 0 or self._rng.random() >= cfg.rate:
                return None
            kind = self._rng.choice(cfg.kinds)
            self.injected[kind] += 1
            return kind

    def throttle(self, nbytes: int) -> None:
        bps = self.config.bandwidth_bps
        if bps > 0 and nbytes > 0:
            time.sleep(nbytes / bps)
