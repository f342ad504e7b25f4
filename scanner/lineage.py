"""Base-model lineage: which parents a card names, and the terms a derivative inherits.

The source fetches the parents and datasets (memoised, bounded); this module is pure:
given the target's Evidence and a graph of already-fetched Evidence keyed by repo id
("dataset:<id>" for datasets), it walks to the roots, detects cycles, caps the depth,
infers a probable family when a card names no parent, and returns the inherited
licenses with the chain each came through, the conflicts between a derivative's label
and its bases, and the duties the base licenses put on derivatives.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Mapping


from scanner import categories, knowledge
from scanner.card import as_list
from scanner.evidence import Evidence, is_license_file
from scanner.findings import Finding
from scanner.infer import MAX_BODY, community
from scanner.infer.parents import TextParent, text_parents
from scanner.kb import KnowledgeBase, data_file
from scanner.result import LicenseRef, LicenseUse, LineageDataset, LineageEdge, LineageGraph, LineageNode, Origin

MAX_DEPTH = 10
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")

GraphEntry = Evidence | str   # Evidence, or the one-line reason a repo could not be read
CardOf = Callable[[Evidence], Mapping[str, Any]]
OwnOf = Callable[[Evidence], tuple[LicenseUse, ...]]


@functools.lru_cache(maxsize=1)
def relations() -> Mapping[str, Mapping[str, Any]]:
    return data_file("relations.yaml")


def families(kb: KnowledgeBase | None = None) -> tuple[Mapping[str, Any], ...]:
    """Family inference rules: scanner/data/families.yaml, then those license records carry."""
    return knowledge.family_rules(kb)


@functools.lru_cache(maxsize=64)
def family_licenses_for(model_type: str) -> frozenset[str]:
    """License ids (and their bare ids) of the families that use a config model_type."""
    out: set[str] = set()
    for fam in families():
        if model_type and model_type in (fam.get("model_types") or ()):
            out.add(fam["license"].lower())
            out.add(fam["license"].split("@")[0].lower())
    return frozenset(out)


def _llama_licenses(model_type: str) -> frozenset[str]:
    """Licenses that already say which Llama-architecture base binds: the families of `model_type` and
    the community generations (scanner/data/lineages.yaml)."""
    gens = knowledge.lineages().get("generations") or {}
    return family_licenses_for(model_type) | {str(g.get("license")).lower() for g in gens.values()}


_HUB_URL = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/", re.I)


def _as_repo_id(value: Any) -> str | None:
    """A base_model value as a Hub repo id: plain `org/name`, a Hub URL, or `org/name@revision`."""
    if not isinstance(value, str):
        return None
    v = _HUB_URL.sub("", value.strip()).rstrip("/")
    v = v.split("@", 1)[0]
    if _REPO.match(v) and ".." not in v and not v.lower().endswith(".git") and len(v) <= 200:
        return v
    return None


def unreadable_parents(card: Mapping[str, Any]) -> list[str]:
    """base_model values that name no Hub repo ("Llama 2 13B", a number, a dict): evidence gaps."""
    return [str(v)[:200] for v in as_list(card.get("base_model")) if _as_repo_id(v) is None]


def parents_of(card: Mapping[str, Any], tags: Iterable[str]) -> list[tuple[str, str]]:
    """(relation, repo id) for every parent the card or the Hub's tags name, in order, deduplicated."""
    out: dict[str, str] = {}
    rel_field = card.get("base_model_relation")
    relation = rel_field if isinstance(rel_field, str) and rel_field in relations() else ""
    for value in as_list(card.get("base_model")):
        rid = _as_repo_id(value)
        if rid:
            out.setdefault(rid, relation)
    for tag in tags:
        if not isinstance(tag, str) or not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:"):]
        rel, _, tail = rest.partition(":")
        if tail and rel in relations():
            rid = _as_repo_id(tail)
            if rid and not out.get(rid):
                out[rid] = rel
        else:
            rid = _as_repo_id(rest)
            if rid:
                out.setdefault(rid, relation)
    n = len(out)
    return [(rel or ("merge" if n > 1 else "finetune"), rid) for rid, rel in out.items()]


def all_parents(card: Mapping[str, Any], tags: Iterable[str], body: str, me: str | None = None
                ) -> list[tuple[str, str, TextParent | None]]:
    """(relation, repo id, text evidence) of every parent: those the metadata names (evidence None),
    then those the card's text names (a merge recipe, a link to an original), capped."""
    direct = parents_of(card, tags)
    out: list[tuple[str, str, TextParent | None]] = [(rel, rid, None) for rel, rid in direct]
    if body:
        out += [(p.relation, p.repo_id, p) for p in text_parents(body, [rid for _, rid in direct], me)]
    return out


def dataset_ids(card: Mapping[str, Any], tags: Iterable[str]) -> list[str]:
    """Hub dataset ids a card lists (`datasets:`) or the Hub tagged (`dataset:<id>`), in order."""
    out: list[str] = []
    for value in as_list(card.get("datasets")) + [t[len("dataset:"):] for t in tags
                                                  if isinstance(t, str) and t.startswith("dataset:")]:
        if isinstance(value, str) and _REPO.match(value.strip()) and ".." not in value and value.strip() not in out:
            out.append(value.strip())
    return out


@dataclass(frozen=True)
class Lineage:
    """The base models above a model, the licenses it inherits and the lineage's findings."""
    nodes: tuple[LineageNode, ...] = ()
    edges: tuple[LineageEdge, ...] = ()
    inherited: tuple[LicenseUse, ...] = ()
    roots: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    datasets: tuple[Mapping[str, Any], ...] = ()   # {id, licenses: [LicenseUse], error?, of}

    def graph(self) -> LineageGraph | None:
        """The graph the result reports; None when the model has no base and lists no dataset."""
        if not self.edges and not self.nodes[1:] and not self.datasets:
            return None
        datasets = tuple(LineageDataset(d["id"], tuple(LicenseRef.of(u) for u in d["licenses"]),
                                        d.get("error") or None) for d in self.datasets)
        return LineageGraph(self.nodes, self.edges, self.roots, datasets)


def _walk(ev: Evidence, card_of: CardOf, own_of: OwnOf, graph: Mapping[str, GraphEntry], max_depth: int,
          body_of: Callable[[Evidence], str] = lambda e: ""):
    me = ev.repo_id or ev.target
    nodes: dict[str, LineageNode] = {}
    edges: list[LineageEdge] = []
    findings: list[Finding] = []
    inherited: list[LicenseUse] = []
    roots: list[str] = []
    visited_ev: list[Evidence] = [ev]
    capped = False

    def node_info(node_ev: Evidence, node_id: str) -> LineageNode:
        return LineageNode(node_id, node_ev.sha,
                           tuple(LicenseRef.of(u) for u in own_of(node_ev) if u.kind != "use-policy"))

    # Breadth first, each repo once: a repo reached by several paths (a merge of two fine-tunes
    # of one base) is walked once, through its shortest chain, so the walk is linear in the graph.
    chains: dict[str, tuple[str, ...]] = {me: (me,)}
    queue: deque[tuple[Evidence, str]] = deque([(ev, me)])
    nodes[me] = node_info(ev, me)
    while queue:
        node_ev, node_id = queue.popleft()
        chain = chains[node_id]
        parents = all_parents(card_of(node_ev), node_ev.tags, body_of(node_ev), node_ev.repo_id)
        if not parents and node_id != me and node_id not in roots:
            roots.append(node_id)
        for relation, pid, said in parents:
            if any(e.child == node_id and e.parent == pid for e in edges):
                continue
            edge = LineageEdge(node_id, pid, relation)
            if said is not None:
                edge = replace(edge, inferred=True, evidence=said.quote)
                findings.append(Finding(
                    "lineage-inferred-parent",
                    f"{node_id}: the card's {said.how} names {pid} as a parent ('{said.quote}'); its terms are added",
                    evidence={"parent": pid, "how": said.how, "quote": said.quote, "chain": list(chain + (pid,))},
                    effect="review"))
            edges.append(edge)
            path = chain + (pid,)
            if pid in chain:
                findings.append(Finding("lineage-cycle", f"lineage cycle: {' -> '.join(path)}; the walk stops there",
                                        evidence={"chain": list(path)}, effect="review"))
                continue
            if pid in chains:            # reached before through a shorter or equal chain
                continue
            if len(path) - 1 > max_depth:
                if not capped:
                    findings.append(Finding(
                        "lineage-depth-capped",
                        f"lineage deeper than {max_depth} levels; ancestors past {node_id} not read",
                        evidence={"chain": list(path)}, effect="review"))
                capped = True
                continue
            chains[pid] = path
            entry = graph.get(pid)
            if entry is None or isinstance(entry, str):
                reason = entry or "not fetched"
                nodes[pid] = LineageNode(pid, None, (), reason)
                findings.append(Finding("lineage-parent-unavailable",
                                        f"base model {pid} could not be read ({reason}); its terms may bind",
                                        evidence={"chain": list(path), "reason": reason}, effect="review"))
                continue
            if relations().get(relation, {}).get("inherits", "all") == "all":
                said = next((p for r, i, p in parents if i == pid), None)
                for use in own_of(entry):
                    inherited.append(replace(use, via=path, origins=tuple(
                        Origin("base", f"{pid} ({relation})", o.method, o.confidence, o.where) if said is None else
                        Origin("inferred", f"{pid} ({relation}, named in the card's {said.how})", "inferred",
                               min(o.confidence, 0.6), said.quote)
                        for o in use.origins)))
            nodes[pid] = node_info(entry, pid)
            visited_ev.append(entry)
            queue.append((entry, pid))
    return nodes, edges, findings, inherited, roots, visited_ev


@functools.lru_cache(maxsize=1)
def _prose_rules() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """derived_before, derived_after, compared, base_license_statement (scanner/data/card_phrases.yaml)."""
    ph = knowledge.phrases()
    return (re.compile(ph["derived_before"], re.I),
            re.compile(ph["derived_after"], re.I), re.compile(ph["compared"], re.I),
            re.compile(ph["base_license_statement"], re.I))


MAX_PROSE_MATCHES = 20
_SENTENCE_END = re.compile(r"[.!?\n]")


def _prose_evidence(body: str, pattern: str, arch: bool, model_type: str) -> str | None:
    """Evidence that the card's prose names the family as its base: a derivation phrase before or after
    the mention, or a statement that the base's license applies in the same sentence; with a matching
    architecture a plain mention counts. A comparison or announcement ("outperforms Llama 2", "our answer
    to Llama 2") is never evidence."""
    before_re, after_re, compared_re, statement_re = _prose_rules()
    for n, m in enumerate(re.finditer(pattern, body, re.I)):
        if n >= MAX_PROSE_MATCHES:
            break
        before = body[max(0, m.start() - 80):m.start()]
        clause = re.split(r"[.!?;:\n]", before)[-1]
        if compared_re.search(clause[-60:]):
            continue
        start = max(0, max((i.end() for i in _SENTENCE_END.finditer(body, max(0, m.start() - 300), m.start())),
                           default=max(0, m.start() - 300)))
        stop = _SENTENCE_END.search(body, m.end())
        sentence = body[start:stop.start() if stop else min(len(body), m.end() + 300)]
        snippet = " ".join(body[max(0, m.start() - 40):m.end() + 40].split())
        if before_re.search(before) or after_re.search(body[m.end():m.end() + 80]) or statement_re.search(sentence):
            return f"card text '...{snippet}...'"
        if arch:
            return f"card text '...{snippet}...' with architecture '{model_type}'"
    return None


class _AnyOf:
    """Whether any of a rule's patterns is found in a text (case-insensitive), with one search: the
    patterns joined into one alternation, or one by one where they cannot be joined."""

    __slots__ = ("_one", "_each")

    def __init__(self, patterns: Any):
        pats = [str(p) for p in patterns or ()]
        self._one: re.Pattern[str] | None = None
        self._each: tuple[re.Pattern[str], ...] = ()
        try:
            self._one = re.compile("|".join(f"(?:{p})" for p in pats), re.I) if pats else None
        except re.error:                    # a global flag or a group reference: kept apart
            self._each = tuple(re.compile(p, re.I) for p in pats)

    def __bool__(self) -> bool:
        return self._one is not None or bool(self._each)

    def search(self, text: str) -> bool:
        if self._one is not None:
            return self._one.search(text) is not None
        return any(p.search(text) for p in self._each)


class _FamilyRule:
    """One family rule with its patterns compiled: rules are tried for every model."""

    __slots__ = ("fam", "group", "exclude", "name", "tags", "yields", "model_types", "prose", "base_ids_only")

    def __init__(self, fam: Mapping[str, Any]):
        self.fam = fam
        self.group: str = fam.get("group") or fam["family"]
        # None where the rule has no such patterns: most have no exclusions and nothing they yield to
        self.exclude = _AnyOf(fam.get("exclude")) or None
        self.name = _AnyOf(fam.get("name")) or None
        self.tags = tuple((str(t), str(t).lower()) for t in fam.get("tags") or ())   # (as written, lower)
        self.yields = _AnyOf(fam.get("tag_yields_to")) or None
        self.model_types = tuple(fam.get("model_types") or ())
        self.prose = tuple(fam.get("prose") or ())
        self.base_ids_only = bool(fam.get("base_ids_only"))


class _Rules:
    """A knowledge base's family rules (families(kb)), compiled, and which of them each tag seen so far
    names (tags repeat across a fleet: "text-generation", "license:apache-2.0", ...)."""

    def __init__(self, fams: tuple[Mapping[str, Any], ...]):
        self.rules = tuple(_FamilyRule(fam) for fam in fams)
        self._by_tag: dict[str, frozenset[int]] = {}

    def named_by_tag(self, tag: str) -> frozenset[int]:
        """The indexes of the rules whose name patterns find `tag` and whose exclusions do not."""
        hit = self._by_tag.get(tag)
        if hit is None:
            if len(self._by_tag) > 65536:
                self._by_tag.clear()
            hit = self._by_tag[tag] = frozenset(i for i, r in enumerate(self.rules)
                                                if r.name is not None and r.name.search(tag)
                                                and not (r.exclude is not None and r.exclude.search(tag)))
        return hit


@functools.lru_cache(maxsize=8)
def _compiled(kb: KnowledgeBase | None) -> _Rules:
    """The family rules of `kb` (families(kb)), compiled once per knowledge base."""
    return _Rules(families(kb))


def infer_families(ev: Evidence, card: Mapping[str, Any], body: str, name_only: str | None = None,
                   kb: KnowledgeBase | None = None) -> list[tuple[Mapping[str, Any], list[str]]]:
    """Families whose evidence matches, one per group (the most specific), each with its evidence.

    Strong evidence: the repo name or a tag. Prose counts when it says the model derives from the
    family ("a fine-tune of Llama 2", "a Llama-2 13B model trained on ...") or the config's
    architecture agrees. A tag alone yields to a name or architecture of another base
    (`tag_yields_to`: a "llama-2" tag on a Mistral model). `name_only` infers from a repo id alone (a base model that
    could not be read).
    """
    name = (name_only or ev.repo_id or ev.target).rsplit("/", 1)[-1]
    if name_only:
        tags: set[str] = set()
        model_type, body = "", ""
    else:
        tags = {t.lower() for t in list(ev.tags) + [str(t) for t in as_list(card.get("tags"))] if isinstance(t, str)}
        model_type = str((ev.config or {}).get("model_type") or "").lower() if ev.config else ""
    body = (body or "")[:MAX_BODY]
    found: list[tuple[Mapping[str, Any], list[str]]] = []
    groups: set[str] = set()
    rules = _compiled(kb)
    tag_hits = [(t, hits) for t in sorted(tags) if (hits := rules.named_by_tag(t))]
    named = frozenset().union(*(hits for _, hits in tag_hits))      # rules some tag names
    for i, rule in enumerate(rules.rules):
        group = rule.group
        if group in groups or rule.exclude is not None and rule.exclude.search(name) \
                or rule.base_ids_only and not name_only:
            continue
        evidence = []
        by_name = rule.name is not None and rule.name.search(name)
        if by_name:
            evidence.append(f"repository name '{name}'")
        tag = next((t for t, low in rule.tags if low in tags), None) if rule.tags and tags else None
        if tag is None and i in named:
            tag = next(t for t, hits in tag_hits if i in hits)
        if tag and not (by_name or rule.yields is None) \
                and (rule.yields.search(name) or rule.yields.search(model_type)):
            tag = None                      # a tag alone yields to a name or architecture of another base
        if tag:
            evidence.append(f"tag '{tag}'")
        arch = bool(model_type) and model_type in rule.model_types
        for p in rule.prose:
            said = _prose_evidence(body, p, arch, model_type) if body else None
            if said:
                evidence.append(said)
                break
        if evidence:
            if arch:
                evidence.append(f"config model_type '{model_type}'")
            groups.add(group)
            found.append((rule.fam, evidence))
    return found


def derive(ev: Evidence, graph: Mapping[str, GraphEntry], kb: KnowledgeBase, card_of: CardOf, own_of: OwnOf,
           body_of: Callable[[Evidence], str], own: tuple[LicenseUse, ...], max_depth: int = MAX_DEPTH) -> Lineage:
    nodes, edges, findings, inherited, roots, visited = _walk(ev, card_of, own_of, graph, max_depth, body_of)
    me = ev.repo_id or ev.target
    card = card_of(ev)
    own_licenses = [u for u in own if u.kind != "use-policy"]
    guesses: list[tuple[str, tuple[str, ...], Mapping[str, Any], list[str]]] = []
    for raw in unreadable_parents(card):
        findings.append(Finding("lineage-parent-unavailable",
                                f"base_model '{raw}' is not a Hub repo id; the base model it means cannot be read",
                                evidence={"base_model": raw}, effect="review"))
        guesses += [(f"base_model '{raw}' names no Hub repo, but", (me, raw), fam, evidence)
                    for fam, evidence in infer_families(ev, card, "", name_only=raw, kb=kb)]
    if not edges:
        guesses += [("the card names no base model, but", (me,), fam, evidence)
                   for fam, evidence in infer_families(ev, card, body_of(ev), kb=kb)]
    for node in nodes.values():      # a base that could not be read: its repo id may still name its family
        if node.error:
            chain = next((tuple(f.evidence["chain"]) for f in findings
                          if f.code == "lineage-parent-unavailable" and f.evidence.get("chain", [""])[-1] == node.id),
                         (me, node.id))
            guesses += [(f"base model {node.id} could not be read, but", chain, fam, evidence)
                        for fam, evidence in infer_families(ev, card, "", name_only=node.id, kb=kb)]
    names: list[tuple[str, tuple[str, ...], str]] = []     # (lead, chain, name) for community lineages
    if not edges:
        names.append(("the card names no base model, but", (me,), me))
    names += [(f"base_model '{raw}' names no Hub repo, but", (me, raw), raw) for raw in unreadable_parents(card)]
    names += [(f"base model {n.id} could not be read, but", (me, n.id), n.id)
              for n in nodes.values() if n.error]
    community_guesses = [(lead, chain, c) for lead, chain, name in names for c in community.candidates(name)]
    model_type = str((ev.config or {}).get("model_type") or "").lower() if ev.config else ""
    llama_guessed = any(g[2].get("group") == "llama" for g in guesses)
    if not edges and not community_guesses and not llama_guessed:
        community_guesses = [("the card names no base model, but", (me,), c)
                             for c in community.in_text(body_of(ev), me, model_type)]
    if not community_guesses and not llama_guessed:
        community_guesses = [(lead, chain, c) for lead, chain, name in names
                             for c in community.by_architecture(name, model_type)][:1]
    elif not edges and not community_guesses and all(fam["license"] == "llama2" for _, _, fam, _ in guesses):
        # prose or a name points to Llama 2, but the name carries a size only LLaMA 1 had (33B, 65B)
        community_guesses = [("the card's words point to Llama 2, but", (me,), c)
                             for c in community.by_architecture(me, model_type) if c.generation == "llama1"]
    if not edges and not community_guesses and not guesses and not unreadable_parents(card) \
            and not ({u.id for u in own_licenses} & _llama_licenses(model_type)):
        why = community.unsized_architecture(me, model_type, (ev.config or {}).get("hidden_size"))
        if why:
            findings.append(Finding(
                "lineage-inferred",
                f"the card names no base model, but {why}: confirm the base and set base_model in the card",
                evidence={"family": "llama-architecture", "signals": [f"config model_type '{model_type}'"],
                          "licenses": [], "chain": [me]},
                effect="review"))
    known = {u.id for u in own_licenses} | {u.id for u in inherited}
    for lead, chain, fam, evidence in guesses:
        rec = kb.resolve(fam["license"])
        if rec is None or rec.id in known:
            continue
        known.add(rec.id)
        via = chain + (f"{fam['family']} (inferred)",)
        inherited.append(LicenseUse(rec.key, rec.id, rec.version, rec.name, rec.kind, rec.category,
                                    (Origin("inferred", f"probable base family {fam['family']}", "inferred",
                                            0.6, "; ".join(evidence)),), via))
        aup = kb.use_policy_of(rec)
        if aup is not None:
            inherited.append(LicenseUse(aup.key, aup.id, aup.version, aup.name, aup.kind, aup.category,
                                        (Origin("inferred", f"use policy of {rec.name}", "inferred", 0.6),), via))
        findings.append(Finding(
            "lineage-inferred",
            f"{lead} {', '.join(evidence)} point to the {fam['family']} family: {rec.name} probably binds it",
            evidence={"family": fam["family"], "license": rec.ref(), "signals": evidence, "chain": list(via)},
            effect="review", license=rec.key))
    for lead, chain, cand in community_guesses:
        via = chain + (f"{cand.lineage} ({cand.generation}, inferred)",)
        uses: list[LicenseUse] = []
        for lid in (cand.license,) + cand.adds:
            rec = kb.resolve(lid)
            if rec is None or rec.id in known:
                continue
            known.add(rec.id)
            origin = Origin("inferred", f"community lineage {cand.lineage} ({cand.generation})", "inferred", 0.6,
                            cand.evidence)
            uses.append(LicenseUse(rec.key, rec.id, rec.version, rec.name, rec.kind, rec.category, (origin,), via))
            aup = kb.use_policy_of(rec)
            if aup is not None:
                uses.append(LicenseUse(aup.key, aup.id, aup.version, aup.name, aup.kind, aup.category,
                                       (replace(origin, detail=f"use policy of {rec.name}"),), via))
        for name in cand.adds_unknown:
            if "?" + name.lower() in known:
                continue
            known.add("?" + name.lower())
            uses.append(LicenseUse(None, name[:120], None, name[:120], "unknown", "unknown",
                                   (Origin("inferred", f"community lineage {cand.lineage}", "inferred", 0.6,
                                           cand.evidence),), via))
        if not uses:
            continue
        inherited.extend(uses)
        findings.append(Finding(
            "lineage-inferred",
            f"{lead} its name follows the community lineage {cand.lineage} ({cand.evidence}): "
            + ", ".join(u.name for u in uses if u.kind != "use-policy") + " probably binds it",
            evidence={"lineage": cand.lineage, "generation": cand.generation, "signals": [cand.evidence],
                      "licenses": [u.ref() for u in uses if u.kind != "use-policy"], "source": cand.source,
                      "chain": list(via)},
            effect="review", license=uses[0].record))
    findings.extend(_conflicts(me, own_licenses, inherited))
    findings.extend(_duties(ev, card, body_of(ev), own_licenses, inherited, kb))
    datasets = _datasets(visited, card_of, own_of, graph)
    return Lineage(tuple(nodes.values()), tuple(edges), tuple(inherited), tuple(roots), tuple(findings),
                   tuple(datasets))


def _conflicts(me: str, own: list[LicenseUse], inherited: list[LicenseUse]) -> list[Finding]:
    """A derivative whose own license drops a base's non-permissive terms (or is looser) conflicts with it."""
    if not own:
        return []
    out = []
    seen = set()
    own_ids = {u.id for u in own}
    own_rank = max(categories.rank(u.category) for u in own)
    for base in inherited:
        if base.kind == "use-policy" or base.id in own_ids or base.id in seen:
            continue
        base_rank = categories.rank(base.category)
        if base_rank == 0:          # a permissive base may be relicensed
            continue
        seen.add(base.id)
        chain = " -> ".join(base.via) if base.via else me
        out.append(Finding(
            "license-conflict-with-base",
            f"{me} is labeled {', '.join(u.name for u in own)} but its base ({chain}) is under {base.name}; "
            f"the base's terms still bind" + (" and the label is looser than them" if own_rank < base_rank else ""),
            evidence={"declared": [u.ref() for u in own], "base": base.ref(), "chain": list(base.via)},
            effect="review", license=base.record))
    return out


def _name_starts_with(name: str, prefix: str) -> bool:
    norm = lambda s: re.sub(r"[^a-z0-9]+", "", s.lower())  # noqa: E731 - "Llama-3-..." counts as "Llama 3"
    return norm(name).startswith(norm(prefix))


def _duties(ev: Evidence, card: Mapping[str, Any], body: str, own: list[LicenseUse], inherited: list[LicenseUse],
            kb: KnowledgeBase) -> list[Finding]:
    """Duties base licenses put on derivatives, checked against what this repository shows."""
    if not inherited or ev.source == "local" and not ev.siblings:
        return []
    name = (ev.repo_id or ev.target).rsplit("/", 1)[-1]
    files = [s.path for s in ev.siblings] or [f.path for f in ev.files]
    has_license_file = any(is_license_file(p) and not p.lower().startswith("notice") for p in files)
    has_notice = any(p.lower().startswith("notice") for p in files)
    own_families = {(rec.family if u.record and (rec := kb.get(u.record)) else None) for u in own}
    out: list[Finding] = []
    done: set[tuple[str, str]] = set()
    for base in inherited:
        rec = kb.get(base.record) if base.record else None
        if rec is None:
            continue
        chain = list(base.via)
        for term in rec.terms:
            key = (rec.id, term.type)
            if key in done:
                continue
            problem = None
            prefix = term.get("prefix")
            if term.type == "derivative-naming" and prefix and not _name_starts_with(name, prefix):
                problem = f"{rec.name} requires derivative model names to begin with \"{prefix}\"; " \
                          f"'{name}' does not"
            elif term.type == "license-copy" and not has_license_file:
                problem = (f"{rec.name} requires a copy of the license with the model; "
                           "the repository has no LICENSE file")
            elif term.type == "notice-file" and not has_notice and not has_license_file:
                problem = f"{rec.name} requires a notice file with redistributions; the repository has none"
            elif term.type == "use-restrictions-passdown" and rec.family and rec.family not in own_families \
                    and not has_license_file:
                problem = f"{rec.name} requires its use restrictions to be passed on to derivatives; " \
                          "the repository carries neither that license nor a license file"
            if problem:
                done.add(key)
                out.append(Finding("derivative-duty-unmet", problem, license=rec.key,
                                   evidence={"term": {"type": term.type, **dict(term.params)}, "chain": chain}))
    return out


def _datasets(visited: list[Evidence], card_of: CardOf, own_of: OwnOf, graph: Mapping[str, GraphEntry]
              ) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen = set()
    for node in visited:
        for ds in dataset_ids(card_of(node), node.tags):
            if ds in seen:
                continue
            seen.add(ds)
            entry = graph.get("dataset:" + ds)
            if entry is None:
                continue
            if isinstance(entry, str):
                out.append({"id": ds, "licenses": [], "error": entry, "of": node.repo_id})
            else:
                out.append({"id": ds, "licenses": [u for u in own_of(entry) if u.kind != "use-policy"],
                            "of": node.repo_id})
    return out
