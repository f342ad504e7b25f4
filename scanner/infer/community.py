"""Community lineages (scanner/data/lineages.yaml): a model named after a popular community base
of a known Llama generation ("MythoMax-L2-13b", "airoboros-33b", "vicuna-13b-v1.5")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scanner.knowledge import lineages


@dataclass(frozen=True)
class Candidate:
    lineage: str
    generation: str
    license: str              # record id of the generation's license
    adds: tuple[str, ...]     # licenses the community base carries itself
    adds_unknown: tuple[str, ...]
    evidence: str             # why: the name and the marker (or that the name spans generations)
    source: str


def _any(patterns, text: str) -> str | None:
    for p in patterns or ():
        m = re.search(p, text, re.I)
        if m:
            return m.group(0)
    return None


def candidates(name: str) -> list[Candidate]:
    """The Llama generations a repo name (the part after the org) points to through a community lineage."""
    data = lineages()
    name = name.rsplit("/", 1)[-1][:200]
    if _any(data.get("other_bases"), name):
        return []
    gens = data.get("generations") or {}
    for entry in data.get("lineages") or ():
        m = re.search(entry["name"], name, re.I)
        if not m or _any(entry.get("exclude"), name):
            continue
        spans = list(entry.get("generations") or ())
        marked: list[tuple[str, str]] = []
        for g in spans:
            hit = _any(list((entry.get("markers") or {}).get(g) or ()) + list(gens[g].get("markers") or ()), name)
            if hit:
                marked.append((g, hit))
        if len(marked) > 1:      # own markers outrank the generic ones (vicuna v1.3 at 33B is still LLaMA)
            own = [(g, h) for g, h in marked if _any((entry.get("markers") or {}).get(g), name)]
            marked = own or marked
        if marked:
            chosen = [(g, f"name '{name}': '{m.group(0)}' with generation marker '{hit}'") for g, hit in marked]
        elif entry.get("require_marker"):
            return []
        elif len(spans) == 1:
            chosen = [(spans[0], f"name '{name}': '{m.group(0)}' was released only on {spans[0]}")]
        else:
            chosen = [(g, f"name '{name}': '{m.group(0)}' spans {' and '.join(spans)} and carries no generation "
                          "marker; every candidate binds") for g in spans]
        return [Candidate(entry["lineage"], g, gens[g]["license"], tuple(entry.get("adds") or ()),
                          tuple(entry.get("adds_unknown") or ()), why, entry["source"]) for g, why in chosen]
    return []


def by_architecture(name: str, model_type: str) -> list[Candidate]:
    """A model of a Llama architecture, at a size only one Llama generation has, that names nothing
    else: that generation (`architecture` in scanner/data/lineages.yaml)."""
    data = lineages()
    arch = data.get("architecture") or {}
    name = name.rsplit("/", 1)[-1][:200]
    if not model_type or model_type not in (arch.get("model_types") or ()) or _any(data.get("other_bases"), name):
        return []
    gens = data.get("generations") or {}
    out = []
    for g, patterns in (arch.get("sizes") or {}).items():
        hit = _any(patterns, name)
        if hit:
            out.append(Candidate("llama-architecture", g, gens[g]["license"], (), (),
                                 f"config model_type '{model_type}' and size '{hit.strip('-_ .')}' in name '{name}' "
                                 f"(a size of {g}); the card names no base", arch.get("source", "")))
    return out[:1]
