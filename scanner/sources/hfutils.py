"""`huggingface_hub.utils` attributes, each looked up once: the package resolves its attributes
lazily, through an import_module call on every access, and a `from huggingface_hub.utils import X`
inside a per-request function cost about 0.2 ms a request (benchmarks/cpu_bench.py). Importing
this module does not import huggingface_hub."""

from __future__ import annotations

from typing import Any

_HF_UTILS: dict[str, Any] = {}


def hf_utils(name: str) -> Any:
    """`huggingface_hub.utils.<name>`, looked up on first use."""
    try:
        return _HF_UTILS[name]
    except KeyError:
        import huggingface_hub.utils

        value = _HF_UTILS[name] = getattr(huggingface_hub.utils, name)
        return value
