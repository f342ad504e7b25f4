"""Load a module of `scripts/` or `benchmarks/` by its path: they are programs, not packages, and
no test puts their folders on `sys.path`.

The module is registered under its file's stem (`corpus_facts`, `verdict_bench`), so a script
that imports a sibling by that name (`import corpus_facts`) gets the very module the tests hold,
and loading it twice returns the first one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from support.paths import ROOT


def load_module(relpath: str) -> ModuleType:
    """The module at ROOT/`relpath` (e.g. "scripts/corpus_facts.py"), imported once."""
    path = (ROOT / relpath).resolve()
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            raise ImportError(f"a module named {name!r} is loaded already from {loaded.__file__}")
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{relpath}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # before it runs: its dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
