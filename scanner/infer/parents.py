"""Parents named in a card's text: mergekit recipes in code blocks and links to an original.

A merge recipe names every parent (`models:`/`model:`, `base_model:`, `slices:`/`sources:`,
`experts:`/`source_model:`); a quantization or copy names its original ("Original model: X",
"GGUF version of X", "quants of X", "fp16 copy of X"). Bounded: at most MAX_BLOCKS code blocks
of MAX_BLOCK characters each, and MAX_INFERRED_PARENTS parents per card.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable

from scanner.card import CardError, load_yaml_bounded
from scanner.infer import MAX_BODY, MAX_INFERRED_PARENTS, quote
from scanner.knowledge import phrases

MAX_BLOCKS = 8
MAX_BLOCK = 20_000
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([\w+-]{0,20})[^\n]{0,80}\n(.*?)^[ \t]{0,3}\1[ \t]*$",
                    re.M | re.S)
_HUB = r"(?:https?://(?:www\.)?(?:huggingface\.co|hf\.co)/)?"
_ID = r"([A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})"
_LINK = r"(?:\[[^\]\n]{0,200}\]\(\s*)?`?" + _HUB + _ID
_ID_ONLY = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
_RECIPE_KEYS = ("models", "slices", "merge_method", "experts")


@dataclass(frozen=True)
class TextParent:
    """A base model the card's text names (a merge recipe or a link), with its quote."""
    repo_id: str
    relation: str         # merge | quantized
    how: str              # "merge recipe" | "link"
    quote: str


def _clean(rid: str) -> str | None:
    rid = rid.strip().rstrip(".,;:)`'\"").split("@", 1)[0]
    for suffix in ("/tree/main", "/blob/main", "/resolve/main"):
        rid = rid.split(suffix, 1)[0]
    parts = rid.split("/")
    if len(parts) != 2 or not _ID_ONLY.match(rid) or ".." in rid or rid.lower().endswith((".git", ".gguf", ".md")):
        return None
    if parts[0].lower() in ("datasets", "spaces", "docs", "blog", "models", "api", "papers"):
        return None
    return rid


def _recipe_models(data: Any, out: list[str], depth: int = 0) -> None:
    """Every model a mergekit config names, in order."""
    if depth > 6 or len(out) > 4 * MAX_INFERRED_PARENTS:
        return
    if isinstance(data, dict):
        for key in ("base_model", "model", "source_model"):
            v = data.get(key)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, dict):
                _recipe_models(v, out, depth + 1)
        for key in ("models", "slices", "sources", "experts"):
            for item in data.get(key) or () if isinstance(data.get(key), list) else ():
                if isinstance(item, str):
                    out.append(item)
                else:
                    _recipe_models(item, out, depth + 1)


def recipe_parents(body: str) -> list[TextParent]:
    out: list[TextParent] = []
    for n, m in enumerate(_FENCE.finditer(body[:MAX_BODY])):
        if n >= MAX_BLOCKS:
            break
        block = m.group(3)
        if len(block) > MAX_BLOCK or not any(re.search(rf"^\s*-?\s*{k}\s*:", block, re.M) for k in _RECIPE_KEYS):
            continue
        try:
            data = load_yaml_bounded(block)
        except (CardError, Exception):  # noqa: BLE001 - a block that does not parse names nothing
            continue
        if not isinstance(data, dict) or not any(k in data for k in _RECIPE_KEYS):
            continue
        names: list[str] = []
        _recipe_models(data, names)
        method = data.get("merge_method")
        what = f"mergekit recipe ({method})" if isinstance(method, str) else "mergekit recipe"
        for name in names:
            rid = _clean(name)
            if rid:
                out.append(TextParent(rid, "merge", "merge recipe", f"{what} names {rid}"[:160]))
    return out


@functools.lru_cache(maxsize=1)
def _link_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p.replace("{link}", _LINK), re.I) for p in phrases().get("parent_links") or ())


def link_parents(body: str) -> list[TextParent]:
    text = body[:MAX_BODY]
    found: list[tuple[int, TextParent]] = []
    for pat in _link_patterns():
        for m in pat.finditer(text):
            rid = _clean(m.group(1))
            if rid:
                q = quote(text, m.start(), m.end(), pad=0)
                found.append((m.start(), TextParent(rid, "quantized", "link", q)))
            if len(found) > 4 * MAX_INFERRED_PARENTS:
                break
    return [p for _, p in sorted(found, key=lambda x: x[0])]


def text_parents(body: str, named: Iterable[str] = (), me: str | None = None) -> list[TextParent]:
    """Parents the card's text names that its metadata does not (`named`), merge recipes first;
    a card that names its base directly is read for recipes only (links would repeat it)."""
    named_l = {n.lower() for n in named}
    if me:
        named_l.add(me.lower())
    seen: set[str] = set()
    out: list[TextParent] = []
    candidates = recipe_parents(body) + ([] if named_l - ({me.lower()} if me else set()) else link_parents(body))
    for p in candidates:
        key = p.repo_id.lower()
        if key in named_l or key in seen:
            continue
        seen.add(key)
        out.append(p)
        if len(out) >= MAX_INFERRED_PARENTS:
            break
    return out
