"""Data from outside, read into the shapes the core expects: never trusted, never fatal.

`load_json` parses JSON from a server or a file with bounded nesting (deeper values are dropped,
NaN and Infinity read as null); `hub_info` checks every field of a Hub `model_info` /
`dataset_info` answer (live or recorded) and drops the ones of the wrong type or shape. Each
thing dropped is a problem string that the source turns into a `field-malformed` finding about
that field: the target is still decided, and never allowed on what was dropped.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
MAX_PROBLEMS = 20
SHA = re.compile(r"^[0-9a-f]{40}$")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def is_sha(value: Any) -> bool:
    """A commit id as the Hub gives it: exactly 40 lower-case hex digits (safe as a path part)."""
    return isinstance(value, str) and bool(SHA.match(value))


def load_json(data: bytes | str, what: str, max_depth: int = MAX_DEPTH) -> tuple[Any, list[str]]:
    """(value, problems). ValueError (one line) when it is not JSON at all."""
    problems: list[str] = []
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data

    def constant(name: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"{what}: {name} is not a number JSON can carry; read as null")
        return None

    try:
        value = json.loads(text, parse_constant=constant)
    except RecursionError:
        text = _splice_deep(text, max_depth)
        problems.append(f"{what}: values nested deeper than {max_depth} levels were dropped")
        value = json.loads(text, parse_constant=constant)
    except ValueError as exc:
        raise ValueError(f"{what}: not JSON ({str(exc).splitlines()[0][:120]})") from None
    value, deep = _prune(value, max_depth)
    if deep and not any("nested deeper" in p for p in problems):
        problems.append(f"{what}: values nested deeper than {max_depth} levels were dropped")
    return value, problems


def _splice_deep(text: str, max_depth: int) -> str:
    """`text` with every array/object that opens deeper than max_depth replaced by null."""
    out: list[str] = []
    depth = 0
    pos = 0
    cut_from: int | None = None
    for m in _TOKENS.finditer(text):
        tok = m.group(0)
        if tok[0] == '"':
            continue
        if tok in "[{":
            depth += 1
            if depth > max_depth and cut_from is None:
                out.append(text[pos:m.start()])
                cut_from = depth
        else:
            if cut_from is not None and depth == cut_from:
                out.append("null")
                pos = m.end()
                cut_from = None
            depth -= 1
    out.append(text[pos:] if cut_from is None else "")
    return "".join(out)


def _prune(value: Any, max_depth: int) -> tuple[Any, bool]:
    """`value` with containers deeper than max_depth replaced by None (iteratively: no recursion)."""
    if not isinstance(value, (dict, list)):
        return value, False
    dropped = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in list(items):
            if isinstance(child, (dict, list)):
                if depth + 1 > max_depth:
                    node[key] = None
                    dropped = True
                else:
                    stack.append((child, depth + 1))
    return value, dropped


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63


def hub_info(info: Any, repo_id: str, kind: str = "model") -> tuple[dict[str, Any], list[str]]:
    """A Hub-shaped info answer with every field of the wrong type or shape dropped, and the problems."""
    what = f"{kind} info for {repo_id}"
    problems: list[str] = []

    def bad(field: str, why: str) -> None:
        if len(problems) < MAX_PROBLEMS:
            problems.append(f"{what}: field '{field}' {why}; ignored")

    if not isinstance(info, dict):
        return {"id": repo_id}, [f"{what}: the answer is a {type(info).__name__}, not an object; nothing read from it"]
    out: dict[str, Any] = {}
    rid = info.get("id")
    out["id"] = rid if isinstance(rid, str) else repo_id
    if not isinstance(rid, str):
        bad("id", "is not a string")
    if "sha" in info:
        if is_sha(info["sha"]):
            out["sha"] = info["sha"]
        else:
            bad("sha", "is not a 40-hex commit id")
    for field in ("author", "pipeline_tag", "library_name", "lastModified"):
        if info.get(field) is not None:
            if isinstance(info[field], str):
                out[field] = info[field]
            else:
                bad(field, "is not a string")
    for field in ("private", "disabled"):
        if info.get(field) is not None:
            if isinstance(info[field], bool):
                out[field] = info[field]
            else:
                bad(field, "is not true or false")
    if info.get("gated") is not None:
        if info["gated"] in (False, True, "auto", "manual"):
            out["gated"] = info["gated"]
        else:
            out["gated"] = "manual"          # unknown gating: the strictest reading
            bad("gated", "is not false, 'auto' or 'manual' (read as gated)")
    for field in ("cardData", "config"):
        if info.get(field) is not None:
            if isinstance(info[field], dict):
                out[field] = info[field]
            else:
                bad(field, "is not an object")
    tags = info.get("tags")
    if tags is not None:
        if isinstance(tags, list):
            out["tags"] = [t for t in tags if isinstance(t, str)]
            if len(out["tags"]) != len(tags):
                bad("tags", "holds entries that are not strings")
        else:
            bad("tags", "is not a list")
    siblings = info.get("siblings")
    if siblings is not None:
        if not isinstance(siblings, list):
            bad("siblings", "is not a list (the repository's files are unknown)")
            out["siblings"] = []
        else:
            out["siblings"] = [s for s in (_sibling(s, bad) for s in siblings) if s is not None]
    return out, problems


def _sibling(s: Any, bad: Any) -> dict[str, Any] | None:
    if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str):
        bad("siblings", "holds an entry without a file name")
        return None
    name = s["rfilename"]
    out: dict[str, Any] = {"rfilename": name}
    if s.get("size") is not None:
        if _count(s["size"]):
            out["size"] = s["size"]
        else:
            bad(f"siblings[{name[:80]}].size", "is not a byte count")
    if s.get("blobId") is not None:
        if isinstance(s["blobId"], str):
            out["blobId"] = s["blobId"]
        else:
            bad(f"siblings[{name[:80]}].blobId", "is not a string")
    lfs = s.get("lfs")
    if lfs is not None:
        if isinstance(lfs, dict) and isinstance(lfs.get("sha256"), str) and _count(lfs.get("size")):
            out["lfs"] = {k: lfs[k] for k in ("sha256", "size", "pointerSize") if k in lfs and (
                k == "sha256" or _count(lfs[k]))}
        else:
            bad(f"siblings[{name[:80]}].lfs", "is not an object with a sha256 and a size")
    return out


def finite(value: Any) -> Any:
    """JSON-like data with NaN and infinities replaced by None (iteratively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, (dict, list)):
        return value
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in list(items):
            if isinstance(child, float) and not math.isfinite(child):
                node[key] = None
            elif isinstance(child, (dict, list)):
                stack.append(child)
    return value


class DuplicateKey(ValueError):
    def __init__(self, key: str, line: int):
        super().__init__(f"duplicate key '{key[:80]}' at line {line}")
        self.key = key
        self.line = line


def load_json_strict(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """JSON a user keeps (a lockfile): DuplicateKey (with the line of the second occurrence) when an
    object repeats a key; ValueError when it is not JSON or nested deeper than max_depth."""
    dup: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in items:
            if k in out and not dup:
                dup.append(k)
            out[k] = v
        return out

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {max_depth} levels") from None
    if dup:
        key = json.dumps(dup[0])
        hits = [m.start() for m in re.finditer(re.escape(key) + r"\s*:", text)]
        where = hits[1] if len(hits) > 1 else (hits[0] if hits else 0)
        raise DuplicateKey(dup[0], text.count("\n", 0, where) + 1)
    _, deep = _prune(value, max_depth)
    if deep:
        raise ValueError(f"nested deeper than {max_depth} levels")
    return value
