"""Run the gate: plan one scan per model (revision and deployment context), scan them on the
Scanner's pool, and check each against the lockfile when asked to.

Fail closed: a model the Hub will not serve is an `error` result (exit 2) while the others are
still decided; an approval made under another policy or knowledge base, or a model missing
from the lock, is at least `review` under --locked; changed licenses are `deny`.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, Sequence

from scanner.analyze import error_result
from scanner.bundle import BundleInput, chain_of
from scanner.evidence import Evidence, thaw
from scanner.findings import Finding
from scanner.gate.discover import Reference
from scanner.gate.approvals import Approvals, apply_approval
from scanner.gate.lock import Lock, LockEntry, drift, label, license_files, license_refs
from scanner.vocab import RANK, verdict_from_rank
from scanner.policy.model import Policy
from scanner.result import Location, Report, Result
from scanner.scan import Scanner, failure_reason, utc_stamp
from scanner.targets import Target



@dataclass
class GateItem:
    """One decision to make: a model at a revision, in one deployment context, and every place
    that references it so."""

    repo_id: str
    revision: str | None
    context: Mapping[str, Any] | None = None
    locations: list[Location] = field(default_factory=list)

    @property
    def target(self) -> Target:
        raw = f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id
        return Target(raw, "hub", self.repo_id, self.revision)


def plan(refs: Sequence[Reference]) -> list[GateItem]:
    """Group references: one item per (model, revision, deployment context), in first-seen order.
    A model referenced in several files is scanned once and carries all their locations."""
    items: dict[tuple, GateItem] = {}
    for ref in refs:
        ctx = thaw(ref.context) if ref.context else None
        key = (ref.repo_id.lower(), ref.revision, json.dumps(ctx, sort_keys=True) if ctx else None)
        item = items.get(key)
        if item is None:
            item = items[key] = GateItem(ref.repo_id, ref.revision, ctx)
        loc = ref.location()
        if loc not in item.locations:
            item.locations.append(loc)
    return list(items.values())


@dataclass(frozen=True)
class Decision:
    result: Result
    approval: LockEntry | None      # what `modelscan lock` would write for it (None: error)
    # what the compliance bundle takes of it (Gate(keep_bundle=True) only; None: error): the result as
    # `lock` decides it (without the lock checks), so that an unchanged deployment gives the same bundle
    bundle: BundleInput | None = None


class Gate:
    def __init__(self, scanner: Scanner, lock: Lock | None = None, locked: bool = False,
                 approvals: Approvals | None = None, keep_bundle: bool = False):
        self.scanner = scanner
        self.lock = lock
        self.locked = locked
        self.approvals = approvals          # repository approvals, when the policy honours them
        self.keep_bundle = keep_bundle      # keep each model's evidence chain for the compliance bundle
        self._policies: dict[str, Policy] = {}

    def policy_for(self, item: GateItem) -> Policy:
        base = self.scanner.policy
        if not item.context:
            return base
        key = json.dumps(item.context, sort_keys=True)
        if key not in self._policies:
            self._policies[key] = base.with_context(item.context)   # PolicyError: invalid context
        return self._policies[key]

    def run(self, items: Sequence[GateItem], on_done: Callable[[Decision], None] | None = None) -> list[Decision]:
        for item in items:                 # contexts first: an invalid one stops the run before any request
            self.policy_for(item)
        return self.scanner.map(self.decide, items, on_done)

    def report(self, decisions: Sequence[Decision]) -> Report:
        return self.scanner.report(d.result for d in decisions)

    # -- one item ------------------------------------------------------------------------------------
    def decide(self, item: GateItem) -> Decision:
        sc = self.scanner
        locations = tuple(item.locations)
        target = item.target
        entry = self.lock.get(item.repo_id) if self.lock is not None else None
        # approvals are made under the policy without its waivers: a waiver added later is applied
        # afresh below instead of voiding every approval
        stale = entry is not None and (entry.policy_hash != sc.policy.decision_hash or entry.kb_hash != sc.kb.digest)
        try:
            deadline = sc.new_deadline()          # one per model: its reads, its lineage, its datasets
            ev = sc.fetch(target, deadline)
            # An approved commit is re-decided with the base models and datasets it was approved with
            # (a lockfile pins the whole graph); a new commit, or a stale approval, walks them afresh.
            pins = entry.parents if entry is not None and not stale and ev.sha == entry.revision else None
            graph = sc.lineage_graph(ev, pins, deadline)
            result = sc.decide(ev, graph, self.policy_for(item))
        except Exception as exc:  # noqa: BLE001 - one model that fails never loses the others' results
            r = error_result(target.raw, failure_reason(exc), getattr(exc, "suggestions", ()), item.repo_id,
                             item.revision)
            return Decision(replace(r, locations=locations), None)
        # a repository approval lifts reviews (never a deny), after waivers and lock checks
        approved = apply_approval(result, self.approvals, sc.now)
        used = self.approvals.find(ev.repo_id, ev.sha) if self.approvals is not None else None
        applied = used is not None and any(f.code == "approval-applied" for f in approved.findings)
        approval = LockEntry(
            repo_id=ev.repo_id or item.repo_id, revision=ev.sha or "", verdict=approved.verdict,
            licenses=license_refs(result.licenses.effective), license_files=license_files(ev),
            policy_hash=sc.policy.decision_hash, kb_hash=sc.kb.digest, approved_at=utc_stamp(sc.now),
            requested=item.revision,
            parents={k: (v.sha if isinstance(v, Evidence) else None) for k, v in sorted(graph.items())
                     if v is not ev and (not isinstance(v, Evidence) or v.sha)},
            approval=used.to_json() if used is not None and applied else None)
        bundle = None
        if self.keep_bundle:
            bundle = BundleInput(approved, chain_of(result, ev, graph), dict(self.policy_for(item).context))
        if self.locked:
            result = apply_approval(with_findings(result, self.lock_findings(item, entry, stale, approval)),
                                    self.approvals, sc.now)
        else:
            result = approved
        return Decision(replace(result, locations=locations), approval, bundle)

    def lock_findings(self, item: GateItem, entry: LockEntry | None, stale: bool, now: LockEntry) -> list[Finding]:
        name = self.lock.path if self.lock is not None else "modelscan.lock"
        rid = now.repo_id
        if entry is None:
            return [Finding("approval-missing", f"{rid} is not approved in {name}; review it and run 'modelscan lock'",
                            evidence={"lockfile": name}, effect="review")]
        if stale:
            what = [w for w, old, new in (("policy", entry.policy_hash, now.policy_hash),
                                          ("knowledge base", entry.kb_hash, now.kb_hash)) if old != new]
            return [Finding("approval-stale", f"{rid}: the {' and the '.join(what)} changed since it was approved on "
                            f"{entry.approved_at}; decided afresh, the approval no longer counts",
                            evidence={"policy_hash": {"approved": entry.policy_hash, "current": now.policy_hash},
                                      "kb_hash": {"approved": entry.kb_hash, "current": now.kb_hash},
                                      "approved_revision": entry.revision, "approved_verdict": entry.verdict},
                            effect="review")]
        out: list[Finding] = []
        if now.revision != entry.revision:
            asked = item.revision or "the default branch"
            out.append(Finding("revision-moved", f"{rid}: {asked} is now {now.revision[:12]}; approved "
                               f"{entry.revision[:12]}", severity="low",
                               evidence={"approved": entry.revision, "current": now.revision,
                                         "requested": item.revision}))
        changed = drift(entry, now.licenses, now.license_files)
        if changed is not None:
            files = changed["files"]
            parts = [f"{k} {', '.join(v)}" for k, v in (("changed", files["changed"]), ("added", files["added"]),
                                                          ("removed", files["removed"])) if v]
            lic = f"licenses were {label(entry.licenses)}, now {label(now.licenses)}" \
                if {(x.get('id'), x.get('version')) for x in entry.licenses} != \
                   {(x.get('id'), x.get('version')) for x in now.licenses} else \
                f"licenses still {label(now.licenses)}"
            msg = f"{rid}: license drift since approval at {entry.revision[:12]} ({entry.approved_at}): {lic}"
            if parts:
                msg += f"; license files {'; '.join(parts)}"
            out.append(Finding("license-drift", msg, effect="deny", evidence={
                "approved": {"revision": entry.revision, "licenses": changed["licenses"]["approved"]},
                "current": {"revision": now.revision, "licenses": changed["licenses"]["current"]},
                "files": files}))
        return out


def with_findings(result: Result, extra: Sequence[Finding]) -> Result:
    """`result` with more findings; the verdict and reasons follow the worst effect, as the policy
    engine computes them (the new findings come after waivers: a waiver cannot hide drift)."""
    if not extra or result.verdict == "error":
        return result
    findings = tuple(result.findings) + tuple(extra)
    worst = max(RANK[result.verdict], max(RANK[f.effect] for f in extra))
    verdict = verdict_from_rank(worst)
    if verdict == result.verdict:
        reasons = tuple(result.reasons) + tuple(f.message for f in extra if worst and RANK[f.effect] == worst)
    else:
        reasons = tuple(f.message for f in findings if RANK[f.effect] == worst)
    return replace(result, verdict=verdict, reasons=reasons, findings=findings)


def merge_approvals(decisions: Sequence[Decision], old: Lock | None) -> list[LockEntry]:
    """The entries `modelscan lock` writes: one per repo (its first revision in input order, with
    the worst verdict of its deployments). An unchanged approval keeps its approved_at; a model
    that could not be read this time keeps its old entry (the run exits 2 anyway)."""
    out: dict[str, LockEntry] = {}
    for d in decisions:
        a = d.approval
        if a is None:
            prev = old.get(d.result.repo_id or "") if old is not None and d.result.repo_id else None
            if prev is not None:
                out.setdefault(prev.repo_id.lower(), prev)
            continue
        key = a.repo_id.lower()
        if key in out:
            if out[key].revision == a.revision and RANK[a.verdict] > RANK[out[key].verdict]:
                out[key] = replace(out[key], verdict=a.verdict)
            continue
        out[key] = a
    if old is not None:
        for key, a in out.items():
            prev = old.get(a.repo_id)
            if prev is not None and prev.same_approval(replace(a, approved_at=prev.approved_at)):
                out[key] = prev
    return list(out.values())


# ---------------------------------------------------------------------------------- progress
def progress_wanted(stream: Any = None) -> bool:
    """A progress bar only on an interactive terminal: never in CI logs (CI is set by GitHub
    Actions, GitLab, CircleCI, ...), never when stderr is piped or TERM=dumb."""
    stream = stream or sys.stderr
    if os.environ.get("CI") or os.environ.get("MODELSCAN_NO_PROGRESS") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def progress(total: int, what: str = "Scanning") -> Iterator[Callable[[Any], None]]:
    """A callback that advances a rich progress bar on stderr (a no-op where no bar is wanted)."""
    def nothing(_: Any = None) -> None:
        return None

    if total < 2 or not progress_wanted():
        yield nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(_: Any = None) -> None:
            bar.advance(task)
        yield advance


def problem_result(problem: Any) -> Result:
    """A deployment file that could not be read or parsed in full, as a review-level result at
    that file (it may name a model the gate did not see); the rest of the tree is decided."""
    kind = problem.kind or "file"
    message = f"{problem.file}: {problem}"
    evidence = {"file": problem.file, "line": problem.line, "kind": kind}
    return Result(target=problem.file, repo_id=None, revision=None, sha=None, source="none", verdict="review",
                  reasons=(message,), findings=(Finding("file-unreadable", message, evidence=evidence,
                                                        effect="review"),),
                  locations=(Location(problem.file, problem.line, kind),))
