"""The compliance bundle of a gate run, and the stale-bundle check of `gate --locked`. Pure.

`modelscan lock --bundle DIR` writes the bundle of the models it approves and records its digest
and per-file hashes in modelscan.lock. `gate --locked` then fails closed (finding `bundle-stale`,
effect deny) when
  - the folder the lock names is missing, or its bundle files differ from the recorded ones
    (edited, added, removed, a link or a FIFO in place of a file), or
  - the bundle of the models the run decided differs from the recorded one (a model added,
    removed or moved to another commit, a changed notice line, license text or obligation),
naming the folder, the files and the models that changed. When a model could not be decided
the second comparison is not made (the run exits 2 anyway).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scanner.bundle import build, changes, digest, file_hashes, model_changes
from scanner.findings import Finding
from scanner.gate.lock import LockedBundle
from scanner.kb import KnowledgeBase
from scanner.result import Result


def bundle_of(decisions: Sequence[Any], kb: KnowledgeBase, context: Mapping[str, Any]) -> dict[str, bytes] | None:
    """The bundle of the decided models (gate.runner.Decision with their `bundle` input kept), or
    None when one of them could not be decided (a bundle that leaves a model out is never made)."""
    items = [d.bundle for d in decisions]
    if any(i is None for i in items):
        return None
    return build(items, kb, context)


def _listing(diff: Mapping[str, Sequence[str]], limit: int = 6) -> str:
    parts = []
    for what in ("changed", "added", "removed"):
        names = list(diff.get(what) or ())
        if names:
            shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
            parts.append(f"{what} {shown}")
    return "; ".join(parts)


def check(locked: LockedBundle, shown: str, lockfile: str, exists: bool, folder: Mapping[str, bytes],
          problems: Sequence[str], now: Mapping[str, bytes] | None) -> tuple[str, list[Finding]]:
    """(status, findings) of the bundle `locked` records, shown as `shown`: status `current`,
    `stale` or `missing`. `folder`/`problems`: what the folder holds and what could not be read;
    `now`: the bundle of this run's models (None: not computable)."""
    rerun = f"review the changes, then run 'modelscan lock --bundle {shown}' to write and record it again"
    out: list[Finding] = []
    base: dict[str, Any] = {"bundle": shown, "lockfile": lockfile, "recorded": locked.digest}
    if not exists:
        out.append(Finding("bundle-stale", f"{shown}: the compliance bundle {lockfile} records ({locked.digest[:19]}) "
                           f"is missing; {rerun}", effect="deny", evidence={**base, "folder": None}))
        status = "missing"
    else:
        hashes = file_hashes(folder)
        now_digest = digest(folder)
        if problems or now_digest != locked.digest:
            diff = changes(locked.files, hashes)
            what = _listing(diff)
            if problems:
                what = "; ".join(filter(None, [what, "not read: " + ", ".join(problems[:4])]))
            out.append(Finding("bundle-stale", f"{shown}: the bundle's files differ from the ones {lockfile} records "
                               f"({what or 'content changed'}); {rerun}", effect="deny",
                               evidence={**base, "folder": now_digest, "files": diff, "unreadable": list(problems)}))
        status = "stale" if out else "current"
    if now is not None:
        now_digest = digest(now)
        if now_digest != locked.digest:
            diff = changes(locked.files, file_hashes(now))
            old_doc = folder.get("obligations.json")
            if old_doc is None or file_hashes({"o": old_doc})["o"] != locked.files.get("obligations.json"):
                old_doc = None              # only the recorded obligations.json says which models were in it
            models = model_changes(old_doc, now.get("obligations.json"))
            mtext = _listing(models, 4)
            out.append(Finding("bundle-stale", f"{shown}: the bundle for the models deployed now differs from the one "
                               f"{lockfile} records" + (f": models {mtext}" if mtext else "") +
                               f" (files {_listing(diff) or 'unchanged'}); {rerun}", effect="deny",
                               evidence={**base, "current": now_digest, "files": diff, "models": models}))
            status = "stale" if status == "current" else status
    return status, out


def stale_result(shown: str, findings: Sequence[Finding]) -> Result:
    """The findings of a stale bundle as one result at the bundle's folder: it counts in the exit code
    like a model (deny)."""
    return Result(target=shown, repo_id=None, revision=None, sha=None, source="none", verdict="deny",
                  reasons=tuple(f.message for f in findings), findings=tuple(findings))
