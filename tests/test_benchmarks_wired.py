"""Every benchmark module imports, registers its benches, and names only what exists: no unit
test runs a benchmark (they take minutes), so a name lost in a refactor (``LinkRun`` was deleted
with the certificate helper above it) went unnoticed until ``benchmarks/run.py sync_link`` ran."""

from __future__ import annotations

import builtins
import importlib
import inspect
import types
from pathlib import Path

import pytest

BENCH_MODULES = sorted(p.stem for p in (Path(__file__).parent.parent / "benchmarks").glob("bench_*.py"))


def global_names(code: types.CodeType) -> set[str]:
    """Names a function's code loads as globals (LOAD_GLOBAL), nested functions included."""
    import dis

    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_a_benchmark_module_registers_benches_that_name_only_what_exists(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.BENCHES and all(callable(f) for f in module.BENCHES.values())
    known = set(vars(module)) | set(vars(builtins))
    missing = {}
    for fname, fn in vars(module).items():
        if inspect.isfunction(fn) and fn.__module__ == module.__name__:
            lost = global_names(fn.__code__) - known
            if lost:
                missing[fname] = sorted(lost)
    assert missing == {}


def test_the_check_finds_a_lost_name() -> None:
    namespace: dict[str, object] = {}
    exec("def f():\n    return LostName(1)\n", namespace)
    assert "LostName" in global_names(namespace["f"].__code__)  # type: ignore[union-attr]
