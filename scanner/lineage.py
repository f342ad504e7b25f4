"""Base-model lineage: which parents a card names, and the terms a derivative inherits.

The source fetches the parents (memoised, bounded); this module is pure: given the
target's Evidence and a graph of already-fetched Evidence keyed by repo id, it walks to
the roots, detects cycles, caps the depth, and returns the inherited licenses with the
chain each came through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping

from scanner.card import as_list
from scanner.evidence import Evidence
from scanner.findings import Finding
from scanner.result import LicenseUse, Origin

MAX_DEPTH = 10
RELATIONS = ("finetune", "adapter", "quantized", "merge")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def parents_of(card: Mapping[str, Any], tags: Iterable[str]) -> list[tuple[str, str]]:
    """(relation, repo id) for every parent the card or the Hub's tags name, in order, deduplicated."""
    out: dict[str, str] = {}
    relation = card.get("base_model_relation") if isinstance(card.get("base_model_relation"), str) else None
    for value in as_list(card.get("base_model")):
        if isinstance(value, str) and _REPO.match(value.strip()) and ".." not in value:
            out.setdefault(value.strip(), relation or "")
    for tag in tags:
        if not isinstance(tag, str) or not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:"):]
        rel, _, rid = rest.partition(":")
        if rid and rel in RELATIONS:
            if _REPO.match(rid):
                if not out.get(rid):
                    out[rid] = rel
        elif _REPO.match(rest):
            out.setdefault(rest, relation or "")
    n = len(out)
    return [(rel or ("merge" if n > 1 else "finetune"), rid) for rid, rel in out.items()]


@dataclass(frozen=True)
class Lineage:
    nodes: tuple[Mapping[str, Any], ...] = ()
    edges: tuple[Mapping[str, Any], ...] = ()
    inherited: tuple[LicenseUse, ...] = ()
    roots: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": [dict(n) for n in self.nodes], "edges": [dict(e) for e in self.edges],
                "roots": list(self.roots)}


GraphEntry = Evidence | str   # Evidence, or the one-line reason a parent could not be read


def walk(ev: Evidence, card_of: Callable[[Evidence], Mapping[str, Any]], own_of: Callable[[Evidence], tuple[LicenseUse, ...]],
         graph: Mapping[str, GraphEntry], max_depth: int = MAX_DEPTH) -> Lineage:
    """Walk the parents of `ev` through `graph`; inherited licenses carry their chain in `via`."""
    me = ev.repo_id or ev.target
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    findings: list[Finding] = []
    inherited: list[LicenseUse] = []
    roots: list[str] = []
    capped = False

    def visit(node_ev: Evidence, node_id: str, chain: tuple[str, ...], depth: int) -> None:
        nonlocal capped
        parents = parents_of(card_of(node_ev), node_ev.tags)
        if node_id not in nodes:
            nodes[node_id] = {"id": node_id, "revision": node_ev.sha, "licenses": [u.ref() for u in own_of(node_ev)
                                                                                    if u.kind != "use-policy"]}
        if not parents and node_id != me:
            if node_id not in roots:
                roots.append(node_id)
        for relation, pid in parents:
            if not any(e["child"] == node_id and e["parent"] == pid for e in edges):
                edges.append({"child": node_id, "parent": pid, "relation": relation})
            path = chain + (pid,)
            if pid in chain or pid == me:
                findings.append(Finding("lineage-parent-unavailable",
                                        f"lineage cycle: {' -> '.join(path)}; the walk stops there",
                                        evidence={"chain": list(path)}, effect="review"))
                continue
            if depth + 1 > max_depth:
                if not capped:
                    findings.append(Finding("lineage-parent-unavailable",
                                            f"lineage deeper than {max_depth} levels; stopped at {node_id}",
                                            evidence={"chain": list(path)}, effect="review"))
                capped = True
                continue
            entry = graph.get(pid)
            if entry is None or isinstance(entry, str):
                reason = entry or "not fetched"
                nodes.setdefault(pid, {"id": pid, "revision": None, "licenses": [], "error": reason})
                findings.append(Finding("lineage-parent-unavailable",
                                        f"base model {pid} could not be read ({reason}); its terms may bind",
                                        evidence={"chain": list(path), "reason": reason}, effect="review"))
                continue
            for use in own_of(entry):
                inherited.append(replace(use, via=path, origins=tuple(
                    Origin("base", f"{pid} ({relation})", o.method, o.confidence, o.where) for o in use.origins)))
            visit(entry, pid, path, depth + 1)

    visit(ev, me, (me,), 0)
    return Lineage(tuple(nodes.values()), tuple(edges), tuple(inherited), tuple(roots), tuple(findings))
