"""Orchestration: fetch each target and its parents through a source, then run the pure core.

Parents are fetched once per run however many targets share them (memoised), the walk is
bounded in depth, and a parent that cannot be read becomes a finding of its children.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from scanner import TOOL_NAME, __version__
from scanner.analyze import _identify_cached, analyze, error_result
from scanner.evidence import Evidence
from scanner.kb import KnowledgeBase
from scanner.lineage import MAX_DEPTH, GraphEntry, dataset_ids, parents_of
from scanner.policy.model import Policy
from scanner.result import PolicyRef, Report, Result
from scanner.sources.interface import Source
from scanner.targets import Target, TargetError, parse_target

SCHEMA_VERSION = "1.0.0"


@dataclass
class Scanner:
    source: Source | None                     # for Hub ids (hub or snapshot); None = local targets only
    kb: KnowledgeBase
    policy: Policy
    now: dt.datetime
    local: Source | None = None
    follow_parents: bool = True
    follow_datasets: bool = True
    max_depth: int = MAX_DEPTH
    graph: dict[str, GraphEntry] = field(default_factory=dict)   # memo across targets

    def _fetch_parents(self, ev: Evidence) -> None:
        if self.follow_parents and self.source is not None:
            collect_parents(self.source, ev, self.kb, self.graph, self.max_depth, self.follow_datasets)

    def scan_one(self, target: Target | str) -> Result:
        raw = target if isinstance(target, str) else target.raw
        parsed: Target | None = None if isinstance(target, str) else target
        try:
            parsed = parsed or parse_target(raw)
            if parsed.kind == "local":
                if self.local is None:
                    raise TargetError(f"'{raw}': local directories cannot be scanned here")
                ev = self.local.fetch(parsed)
            else:
                if self.source is None:
                    raise TargetError(f"'{raw}': no Hub source available")
                ev = self.source.fetch(parsed)
                if ev.repo_id:
                    self.graph.setdefault(ev.repo_id, ev)
        except TargetError as exc:
            return error_result(raw, str(exc), exc.suggestions, parsed.repo_id if parsed else None,
                                parsed.revision if parsed else None)
        self._fetch_parents(ev)
        return analyze(ev, self.graph, self.kb, self.policy, self.now)

    def scan(self, targets: Iterable[Target | str], on_result: Callable[[Result], None] | None = None) -> Report:
        results = []
        for t in targets:
            r = self.scan_one(t)
            results.append(r)
            if on_result:
                on_result(r)
        return self.report(results)

    def report(self, results: Iterable[Result]) -> Report:
        return Report(
            schema_version=SCHEMA_VERSION, tool={"name": TOOL_NAME, "version": __version__},
            knowledge_base={"hash": self.kb.digest, "records": len(self.kb)},
            policy=PolicyRef(self.policy.path, self.policy.name, self.policy.hash),
            evaluated_at=self.now.strftime("%Y-%m-%dT%H:%M:%SZ"), context=dict(self.policy.context),
            results=tuple(results))


MAX_DATASETS = 20


def collect_parents(source: Source, ev: Evidence, kb: KnowledgeBase, graph: dict[str, GraphEntry],
                    max_depth: int = MAX_DEPTH, datasets: bool = True) -> None:
    """Fetch the base models `ev` names, to the roots, and the datasets each card lists, into
    `graph` (memoised across targets; a failure is kept as its one-line reason). Datasets are
    keyed "dataset:<id>"."""
    frontier = [(ev, 0)]
    while frontier:
        node, depth = frontier.pop()
        card = _identify_cached(node, kb)[0].data
        if datasets:
            for ds in dataset_ids(card, node.tags)[:MAX_DATASETS]:
                key = "dataset:" + ds
                if key not in graph:
                    try:
                        graph[key] = source.fetch_dataset(ds)
                    except TargetError as exc:
                        graph[key] = str(exc)
        if depth >= max_depth:
            continue
        for _, pid in parents_of(card, node.tags):
            if pid in graph or pid == node.repo_id:
                continue
            try:
                parsed = parse_target(pid)
                if parsed.kind != "hub":
                    raise TargetError(f"{pid} is not a Hub repo id")
                parent = source.fetch(parsed)
                graph[pid] = parent
                frontier.append((parent, depth + 1))
            except TargetError as exc:
                graph[pid] = str(exc)


def exit_code(results: Iterable[Result], fail_on: str = "review") -> int:
    code = 0
    for r in results:
        if r.verdict == "error":
            code = max(code, 2)
        elif r.verdict == "deny" or (r.verdict == "review" and fail_on == "review"):
            code = max(code, 1)
    return code
