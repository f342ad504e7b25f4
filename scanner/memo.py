"""A small on-disk memo of work derived from the project's own data files, keyed by content hash:
the parsed knowledge base (JSON reads about ten times faster than YAML) and the policies that
already passed their schema (so a run need not import jsonschema). Start-up time of a scan, not
correctness, depends on it: an entry that is missing, unreadable or damaged is a miss, and a
folder that cannot be written is not used.

It lives beside the metadata cache (`$MODELSCAN_CACHE/.derived`, else
`$HF_HOME/modelscan/derived`). It is off unless MODELSCAN_MEMO=1: the parsed knowledge base decides
verdicts, and a gate must not take it from a folder that something else (a restored CI cache, another
user) may have written; a developer's own machine may turn it on for faster start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from scanner import __version__


def root() -> Path | None:
    if os.environ.get("MODELSCAN_MEMO") != "1" or os.environ.get("MODELSCAN_NO_MEMO"):
        return None
    if os.environ.get("MODELSCAN_CACHE"):
        return Path(os.environ["MODELSCAN_CACHE"]) / ".derived"
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(hf_home) / "modelscan" / "derived"


def key(*parts: bytes | str) -> str:
    h = hashlib.sha256(__version__.encode())
    for p in parts:
        h.update(b"\0" + (p.encode("utf-8", "surrogatepass") if isinstance(p, str) else p))
    return h.hexdigest()[:40]


def _path(kind: str, k: str) -> Path | None:
    base = root()
    return None if base is None else base / kind / f"{k}.json"


def get(kind: str, k: str) -> Any:
    """The JSON stored under (kind, key), or None."""
    path = _path(kind, k)
    if path is None:
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def put(kind: str, k: str, value: Any) -> None:
    """Store `value` (JSON) under (kind, key); best effort."""
    path = _path(kind, k)
    if path is None:
        return
    try:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        pass


def lossless(value: Any) -> bool:
    """Whether `value` survives a JSON round trip unchanged (YAML dates, for one, do not)."""
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError):
        return False
