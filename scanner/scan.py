"""Orchestration: fetch each target and its parents through a source, then run the pure core.

Targets are scanned by a bounded pool of worker threads (`jobs`); results come back in input
order. Every repo (target, parent or dataset, at a revision) is fetched once per run however
many targets share it: the first worker to ask fetches it, concurrent askers wait on that one
fetch (a dict of futures under a lock). The lineage walk is bounded in depth, and a parent
that cannot be read becomes a finding of its children.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

from scanner import TOOL_NAME, __version__
from scanner.analyze import IdentificationMemo, analyze, error_result
from scanner.evidence import Evidence
from scanner.kb import KnowledgeBase
from scanner.lineage import MAX_DEPTH, GraphEntry, all_parents, dataset_ids
from scanner.policy.model import Policy
from scanner.result import PolicyRef, Report, Result, fails
from scanner.sources.interface import Source
from scanner.targets import Target, TargetError, parse_target, validate_repo_id

SCHEMA_VERSION = "1.1.0"   # 1.1: fail_on, configuration; inferred lineage edges; license-inferred, license-choice,
                           # lineage-inferred-parent;
                           # openness (MOF class)
DEFAULT_JOBS = 12   # threads; scanning is I/O-bound (one model_info per model)
MAX_DATASETS = 20
UNAVAILABLE_WHEN_PINNED = "could not be read when the revision was approved (pinned unavailable)"

T = TypeVar("T")
R = TypeVar("R")


class FetchMemo:
    """Single-flight memo: `get(key, fetch)` runs `fetch` once per key; callers that arrive while it
    runs wait for its result (or its TargetError) instead of fetching again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future] = {}

    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._lock:
            found = self._futures.get(key)
            owner = found is None
            fut: Future = Future() if found is None else found
            if owner:
                self._futures[key] = fut
        if owner:
            try:
                fut.set_result(fetch())
            except BaseException as exc:  # noqa: BLE001 - handed to every waiter, re-raised below
                fut.set_exception(exc)
        return fut.result()

    def __len__(self) -> int:
        return len(self._futures)


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
    jobs: int = DEFAULT_JOBS
    memo: FetchMemo = field(default_factory=FetchMemo)
    identified: IdentificationMemo | None = None     # made from kb on first use; one per Scanner (run)

    def __post_init__(self) -> None:
        if self.identified is None:
            self.identified = IdentificationMemo(self.kb)

    # -- the steps, usable one by one (the gate composes them) ---------------------------------------
    def fetch(self, target: Target) -> Evidence:
        """Evidence for a parsed target (memoised); TargetError when it cannot be read."""
        if target.kind == "local":
            if self.local is None:
                raise TargetError(f"'{target.raw}': local directories cannot be scanned here")
            return self.local.fetch(target)
        if self.source is None:
            raise TargetError(f"'{target.raw}': no Hub source available")
        ev = self._hub(target)
        return ev if ev.target == target.raw else replace(ev, target=target.raw)

    def _hub(self, target: Target) -> Evidence:
        source = self.source
        assert source is not None
        return self.memo.get(("model", target.repo_id, target.revision), lambda: source.fetch(target))

    def _dataset(self, ds: str, revision: str | None) -> Evidence:
        source = self.source
        assert source is not None

        def fetch() -> Evidence:
            return source.fetch_dataset(ds, revision)
        return self.memo.get(("dataset", ds, revision), fetch)

    def lineage_graph(self, ev: Evidence, pins: Mapping[str, str | None] | None = None) -> dict[str, GraphEntry]:
        """The parents (to the roots) and datasets `ev` names, fetched through the memo; `pins`
        maps repo ids (datasets as "dataset:<id>") to the revision to read (a lockfile's), or to
        None for one that could not be read then and is not asked for again."""
        graph: dict[str, GraphEntry] = {}
        if ev.repo_id:
            graph[ev.repo_id] = ev
        if not self.follow_parents or self.source is None:
            return graph
        pins = pins or {}

        def parent(pid: str) -> GraphEntry:
            if pid in pins and pins[pid] is None:
                return UNAVAILABLE_WHEN_PINNED
            return self._hub(hub_target(pid, pins.get(pid)))

        def dataset(ds: str) -> GraphEntry:
            key = "dataset:" + ds
            if key in pins and pins[key] is None:
                return UNAVAILABLE_WHEN_PINNED
            return self._dataset(ds, pins.get(key))

        walk_lineage(ev, self.kb, graph, parent, dataset if self.follow_datasets else None, self.max_depth,
                     self.identified)
        return graph

    def decide(self, ev: Evidence, graph: Mapping[str, GraphEntry], policy: Policy | None = None) -> Result:
        return analyze(ev, graph, self.kb, policy or self.policy, self.now, self.identified)

    def scan_one(self, target: Target | str) -> Result:
        raw = target if isinstance(target, str) else target.raw
        parsed: Target | None = None if isinstance(target, str) else target
        try:
            parsed = parsed or parse_target(raw)
            ev = self.fetch(parsed)
            return self.decide(ev, self.lineage_graph(ev))
        except Exception as exc:  # noqa: BLE001 - one target that fails never loses the others' results
            return error_result(raw, failure_reason(exc), getattr(exc, "suggestions", ()),
                                parsed.repo_id if parsed else None, parsed.revision if parsed else None)

    # -- the pool ------------------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Sequence[T], on_done: Callable[[R], None] | None = None) -> list[R]:
        """fn over items on at most `jobs` threads; results in input order. on_done(result) is called
        (in this thread) as each finishes, for progress."""
        items = list(items)
        if self.jobs <= 1 or len(items) <= 1:
            out = []
            for item in items:
                r = fn(item)
                out.append(r)
                if on_done:
                    on_done(r)
            return out
        results: list = [None] * len(items)
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(items)), thread_name_prefix="modelscan") as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            try:
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    if on_done:
                        on_done(results[futures[fut]])
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
        return results

    def scan(self, targets: Iterable[Target | str], on_result: Callable[[Result], None] | None = None) -> Report:
        return self.report(self.map(self.scan_one, list(targets), on_result))

    def report(self, results: Iterable[Result]) -> Report:
        return Report(
            schema_version=SCHEMA_VERSION, tool={"name": TOOL_NAME, "version": __version__},
            knowledge_base={"hash": self.kb.digest, "records": len(self.kb)},
            policy=PolicyRef(self.policy.path, self.policy.name, self.policy.hash),
            evaluated_at=utc_stamp(self.now), context=dict(self.policy.context),
            results=tuple(results), kb=self.kb)


def walk_lineage(ev: Evidence, kb: KnowledgeBase, graph: dict[str, GraphEntry], parent: Callable[[str], GraphEntry],
                 dataset: Callable[[str], GraphEntry] | None, max_depth: int = MAX_DEPTH,
                 identified: IdentificationMemo | None = None) -> None:
    """Fill `graph` with the base models `ev` names, to the roots (by `parent(id)`), and the datasets
    each card lists (by `dataset(id)`, keyed "dataset:<id>"). A fetch that raises is kept as its
    one-line reason: a parent or dataset that fails is a finding of its child, never a crash."""
    memo = identified if identified is not None else IdentificationMemo(kb)

    def entry(fetch: Callable[[str], GraphEntry], repo_id: str) -> GraphEntry:
        try:
            return fetch(repo_id)
        except Exception as exc:  # noqa: BLE001
            return failure_reason(exc)

    frontier = deque([(ev, 0)])      # breadth first: every repo is reached at its shallowest depth
    while frontier:
        node, depth = frontier.popleft()
        view = memo(node).card
        card = view.data
        if dataset is not None:
            for ds in dataset_ids(card, node.tags)[:MAX_DATASETS]:
                key = "dataset:" + ds
                if key not in graph:
                    graph[key] = entry(dataset, ds)
        if depth >= max_depth:
            continue
        for _, pid, _said in all_parents(card, node.tags, view.body, node.repo_id):
            if pid in graph or pid == node.repo_id:
                continue
            got = entry(parent, pid)
            graph[pid] = got
            if isinstance(got, Evidence):
                frontier.append((got, depth + 1))


def collect_parents(source: Source, ev: Evidence, kb: KnowledgeBase, graph: dict[str, GraphEntry],
                    max_depth: int = MAX_DEPTH, datasets: bool = True) -> None:
    """Fetch the base models `ev` names, to the roots, and the datasets each card lists, into
    `graph` (memoised across calls by the graph itself; one thread). Datasets are keyed "dataset:<id>"."""

    walk_lineage(ev, kb, graph, lambda pid: source.fetch(hub_target(pid)),
                 source.fetch_dataset if datasets else None, max_depth)


def utc_stamp(when: dt.datetime) -> str:
    """2026-11-28T00:00:00Z (four-digit year whatever the platform's strftime does)."""
    when = when.astimezone(dt.timezone.utc) if when.tzinfo else when
    return when.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def hub_target(repo_id: str, revision: str | None = None) -> Target:
    """A Hub id named by a card (never a local path, whatever folders exist here)."""
    return Target(repo_id, "hub", repo_id=validate_repo_id(repo_id), revision=revision)


def failure_reason(exc: BaseException) -> str:
    """One line for a failure: TargetError messages as they are; anything else named as unexpected."""
    if isinstance(exc, TargetError):
        return str(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"unexpected error: {type(exc).__name__}: {first}".rstrip(": ")


def exit_code(results: Iterable[Result], fail_on: str = "review") -> int:
    code = 0
    for r in results:
        if r.verdict == "error":
            code = max(code, 2)
        elif fails(r.verdict, fail_on):
            code = max(code, 1)
    return code
