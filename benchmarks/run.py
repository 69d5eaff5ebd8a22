"""Run the benchmarks: ``python benchmarks/run.py [NAME ...]``.

Every ``benchmarks/bench_*.py`` module exposes ``BENCHES``: a dict of bench name -> function
returning a list of result dicts. Each result is printed as one JSON line:
``{"bench", "metric", "value", "unit", "baseline", "ratio"}`` where the baseline is measured
in the same run (the wire's limit, or a plain reference implementation).
A NAME selects benches whose name contains it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def result(bench: str, metric: str, value: float, unit: str, baseline: float | None) -> dict[str, Any]:
    ratio = (value / baseline) if baseline else None
    return {"bench": bench, "metric": metric, "value": round(value, 6), "unit": unit,
            "baseline": None if baseline is None else round(baseline, 6),
            "ratio": None if ratio is None else round(ratio, 4)}


def discover() -> dict[str, Callable[[], list[dict[str, Any]]]]:
    benches: dict[str, Callable[[], list[dict[str, Any]]]] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        benches.update(module.BENCHES)
    return benches


def main(argv: list[str]) -> int:
    benches = discover()
    chosen = [n for n in benches if not argv or any(a in n for a in argv)]
    if not chosen:
        print(f"no bench matches {argv}; known: {', '.join(benches)}", file=sys.stderr)
        return 2
    for name in chosen:
        for row in benches[name]():
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
