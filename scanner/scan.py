"""Orchestration: fetch each target and its parents through a source, then run the pure core.

Targets are scanned by a bounded pool of worker threads (`jobs`); results come back in input
order. Every repo (target, parent or dataset, at a revision) is fetched once per run however
many targets share it: the first worker to ask fetches it, concurrent askers wait on that one
fetch (a dict of futures under a lock). The lineage walk is bounded in depth, and a parent
that cannot be read becomes a finding of its children.

Budgets (README "Deadlines and budgets"): each target has one deadline (scanner.sources.http.
Deadline) for its own reads, its lineage and its datasets. A repository shared by several
targets is fetched under the deadline of the first that asks; the others wait for it no longer
than their own deadline. At most MAX_PARENTS base models and MAX_DATASETS datasets per card are
read for one target. Every cap or deadline reached is a `budget-exceeded` finding (review).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

from scanner import TOOL_NAME, __version__
from scanner.analyze import IdentificationMemo, analyze, error_result
from scanner.evidence import Evidence
from scanner.kb import KnowledgeBase
from scanner.lineage import MAX_DEPTH, GraphEntry, all_parents, dataset_ids
from scanner.policy.model import Policy
from scanner.result import PolicyRef, Report, Result, fails
from scanner.sources.http import Deadline
from scanner.sources.interface import Source
from scanner.targets import Target, TargetError, parse_target, validate_repo_id

SCHEMA_VERSION = "1.1.0"   # 1.1: fail_on, configuration; inferred lineage edges; license-inferred, license-choice,
                           # lineage-inferred-parent, license-mentioned;
                           # openness (MOF class)
DEFAULT_JOBS = 12   # threads; scanning is I/O-bound (one model_info per model)
MAX_DATASETS = 20      # per card
MAX_PARENTS = 64       # base models read for one target, all levels together
DEFAULT_DEADLINE = 90.0
UNAVAILABLE_WHEN_PINNED = "could not be read when the revision was approved (pinned unavailable)"

T = TypeVar("T")
R = TypeVar("R")


class FetchMemo:
    """Single-flight memo: `get(key, fetch)` runs `fetch` once per key; callers that arrive while it
    runs wait for its result (or its TargetError) instead of fetching again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future] = {}

    def get(self, key: Hashable, fetch: Callable[[], T], deadline: Deadline | None = None) -> T:
        """The fetch runs under its first asker's deadline; a later asker waits for it no longer
        than its own `deadline` allows (then TargetError)."""
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
        wait = None if deadline is None else max(0.0, deadline.left())
        try:
            return fut.result(timeout=wait)
        except FutureTimeout:
            what = key[1] if isinstance(key, tuple) and len(key) > 1 else key
            raise TargetError(f"{what}: not read: {deadline.describe() if deadline else 'timed out'} while "
                              "another target was fetching it") from None

    def __len__(self) -> int:
        return len(self._futures)


_DECIDING = threading.Lock()


@dataclass
class Scanner:
    """Fetches targets and their lineage through a source and decides them against a policy."""
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
    deadline: float | None = None             # seconds per target; None: the source's default
    identified: IdentificationMemo | None = None     # made from kb on first use; one per Scanner (run)

    def __post_init__(self) -> None:
        if self.identified is None:
            self.identified = IdentificationMemo(self.kb)

    # -- the steps, usable one by one (the gate composes them) ---------------------------------------
    def new_deadline(self) -> Deadline:
        """The budget of one target: its own reads, its lineage and its datasets."""
        seconds = self.deadline if self.deadline is not None else getattr(self.source, "default_deadline",
                                                                          DEFAULT_DEADLINE)
        return Deadline(seconds)

    def fetch(self, target: Target, deadline: Deadline | None = None) -> Evidence:
        """Evidence for a parsed target (memoised); TargetError when it cannot be read."""
        if target.kind == "local":
            if self.local is None:
                raise TargetError(f"'{target.raw}': local directories cannot be scanned here")
            return self.local.fetch(target)
        if self.source is None:
            raise TargetError(f"'{target.raw}': no Hub source available")
        ev = self._hub(target, deadline or self.new_deadline())
        return ev if ev.target == target.raw else replace(ev, target=target.raw)

    def _hub(self, target: Target, deadline: Deadline, suggest: bool = True) -> Evidence:
        source = self.source
        assert source is not None
        return self.memo.get(("model", target.repo_id, target.revision),
                             lambda: source.fetch_within(target, deadline, suggest=suggest), deadline)

    def _dataset(self, ds: str, revision: str | None, deadline: Deadline) -> Evidence:
        source = self.source
        assert source is not None

        def fetch() -> Evidence:
            return source.dataset_within(ds, revision, deadline)
        return self.memo.get(("dataset", ds, revision), fetch, deadline)

    def lineage_graph(self, ev: Evidence, pins: Mapping[str, str | None] | None = None,
                      deadline: Deadline | None = None) -> "Graph":
        """The parents (to the roots) and datasets `ev` names, fetched through the memo; `pins`
        maps repo ids (datasets as "dataset:<id>") to the revision to read (a lockfile's), or to
        None for one that could not be read then and is not asked for again."""
        graph = Graph()
        if ev.repo_id:
            graph[ev.repo_id] = ev
        if not self.follow_parents or self.source is None:
            return graph
        pins = pins or {}
        deadline = deadline or self.new_deadline()

        def parent(pid: str) -> GraphEntry:
            if pid in pins and pins[pid] is None:
                return UNAVAILABLE_WHEN_PINNED
            return self._hub(hub_target(pid, pins.get(pid)), deadline, suggest=False)

        def dataset(ds: str) -> GraphEntry:
            key = "dataset:" + ds
            if key in pins and pins[key] is None:
                return UNAVAILABLE_WHEN_PINNED
            return self._dataset(ds, pins.get(key), deadline)

        walk_lineage(ev, self.kb, graph, parent, dataset if self.follow_datasets else None, self.max_depth,
                     deadline, self.identified)
        return graph

    def decide(self, ev: Evidence, graph: Mapping[str, GraphEntry], policy: Policy | None = None) -> Result:
        # Pure CPU: one worker at a time. The GIL runs one anyway; the others then wait on this lock
        # asleep instead of asking for the GIL every switch interval (less CPU spent switching).
        with _DECIDING:
            return analyze(ev, graph, self.kb, policy or self.policy, self.now, self.identified)

    def scan_one(self, target: Target | str) -> Result:
        raw = target if isinstance(target, str) else target.raw
        parsed: Target | None = None if isinstance(target, str) else target
        try:
            parsed = parsed or parse_target(raw)
            deadline = self.new_deadline()
            ev = self.fetch(parsed, deadline)
            return self.decide(ev, self.lineage_graph(ev, deadline=deadline))
        except Exception as exc:  # noqa: BLE001 - one target that fails never loses the others' results
            return error_result(raw, failure_reason(exc), getattr(exc, "suggestions", ()),
                                parsed.repo_id if parsed else None, parsed.revision if parsed else None)

    # -- the pool ------------------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Sequence[T], on_done: Callable[[R], None] | None = None) -> list[R]:
        """fn over items on at most `jobs` threads; results in input order. on_done(result) is called
        as each finishes, for progress: in this thread with one job, else in the worker that made it,
        never two at once. An exception from fn or on_done stops the workers taking new items and is
        raised here once the running ones are done.

        The workers take the next item themselves and this thread waits for them once: with an
        executor, this thread woke for every result and took the GIL from the workers each time
        (benchmarks/cpu_bench.py)."""
        items = list(items)
        if self.jobs <= 1 or len(items) <= 1:
            out = []
            for item in items:
                r = fn(item)
                out.append(r)
                if on_done:
                    on_done(r)
            return out
        results: list[Any] = [None] * len(items)
        lock, done_lock = threading.Lock(), threading.Lock()
        indices = iter(range(len(items)))
        failed: list[BaseException] = []

        def work() -> None:
            while True:
                with lock:
                    i = None if failed else next(indices, None)
                if i is None:
                    return
                try:
                    r = results[i] = fn(items[i])
                    if on_done:
                        with done_lock:
                            on_done(r)
                except BaseException as exc:  # noqa: BLE001 - raised in the calling thread below
                    with lock:
                        failed.append(exc)
                    return

        workers = [threading.Thread(target=work, name=f"modelscan-{k}", daemon=True)
                   for k in range(min(self.jobs, len(items)))]
        for t in workers:
            t.start()
        try:
            for t in workers:
                t.join()
        except BaseException as exc:     # an interrupt: no new item is started; the process is leaving
            with lock:
                failed.append(exc)
            raise
        if failed:
            raise failed[0]
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


class Graph(dict):
    """repo id (datasets "dataset:<id>") -> Evidence or the reason it could not be read, plus the
    budgets that were reached while walking (`notes`: one line each, each a finding)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []


def walk_lineage(ev: Evidence, kb: KnowledgeBase, graph: dict[str, GraphEntry], parent: Callable[[str], GraphEntry],
                 dataset: Callable[[str], GraphEntry] | None, max_depth: int = MAX_DEPTH,
                 deadline: Deadline | None = None, identified: IdentificationMemo | None = None,
                 max_parents: int = MAX_PARENTS, max_datasets: int = MAX_DATASETS) -> None:
    """Fill `graph` with the base models `ev` names, to the roots (by `parent(id)`), and the datasets
    each card lists (by `dataset(id)`, keyed "dataset:<id>"). A fetch that raises is kept as its
    one-line reason: a parent or dataset that fails is a finding of its child, never a crash.
    Caps and the deadline: what is not read because of them is noted in `graph.notes` (if any)."""
    notes: list[str] = getattr(graph, "notes", [])
    memo = identified if identified is not None else IdentificationMemo(kb)

    def note(message: str) -> None:
        if message not in notes:
            notes.append(message)

    def entry(fetch: Callable[[str], GraphEntry], repo_id: str, what: str) -> GraphEntry:
        if deadline is not None and deadline.expired:
            note(f"{deadline.describe()}: {what} not read")
            return f"not read: {deadline.describe()}"
        try:
            got = fetch(repo_id)
        except Exception as exc:  # noqa: BLE001
            got = failure_reason(exc)
        if isinstance(got, str) and deadline is not None and deadline.expired:
            note(f"{deadline.describe()}: {what} not read")
        return got

    parents_read = 0
    frontier = deque([(ev, 0)])      # breadth first: every repo is reached at its shallowest depth
    while frontier:
        node, depth = frontier.popleft()
        view = memo(node).card
        card = view.data
        if dataset is not None:
            listed = dataset_ids(card, node.tags)
            if len(listed) > max_datasets:
                note(f"{node.display_name} lists {len(listed)} datasets; only the first {max_datasets} were "
                     "looked up")
            for ds in listed[:max_datasets]:
                key = "dataset:" + ds
                if key not in graph:
                    graph[key] = entry(dataset, ds, "some datasets were")
        if depth >= max_depth:
            continue
        for _, pid, _said in all_parents(card, node.tags, view.body, node.repo_id):
            if pid in graph or pid == node.repo_id:
                continue
            if parents_read >= max_parents:
                note(f"more than {max_parents} base models in the lineage; the rest were not read")
                graph[pid] = f"not read: more than {max_parents} base models in the lineage"
                continue
            parents_read += 1
            got = entry(parent, pid, "some base models were")
            graph[pid] = got
            if isinstance(got, Evidence):
                frontier.append((got, depth + 1))


def collect_parents(source: Source, ev: Evidence, kb: KnowledgeBase, graph: dict[str, GraphEntry],
                    max_depth: int = MAX_DEPTH, datasets: bool = True) -> None:
    """Fetch the base models `ev` names, to the roots, and the datasets each card lists, into
    `graph` (memoised across calls by the graph itself; one thread). Datasets are keyed "dataset:<id>"."""

    walk_lineage(ev, kb, graph, lambda pid: source.fetch(hub_target(pid)),
                 source.fetch_dataset if datasets else None, max_depth)


@functools.lru_cache(maxsize=16)        # a scan stamps every result with the same `now`
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
