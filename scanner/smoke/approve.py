"""May this scanned model be loaded, and which files does loading it take?

Decided from the scan (its verdict and Evidence: the commit sha and the repo's file list), the
policy (models.trust_remote_code, models.allow_pickle) and, when one is given, the lockfile, all
before anything is downloaded. Pure: no I/O, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from scanner.evidence import Evidence
from scanner.policy.engine import _model_ref_matches
from scanner.policy.model import Policy
from scanner.result import Result
from scanner.smoke.runtime import METADATA_FILES, SmokeError, SmokeRefused, WeightsChoice, check_remote_code, \
    choose_weights


class Refusal(Exception):
    """The model must not be loaded (exit 1). `code` names why; `finding_codes` are the scan's."""

    def __init__(self, code: str, message: str, reasons: Iterable[str] = (), finding_codes: Iterable[str] = ()):
        super().__init__(message)
        self.code = code
        self.reasons = tuple(reasons)
        self.finding_codes = tuple(dict.fromkeys(finding_codes))


@dataclass(frozen=True)
class Approval:
    repo_id: str | None
    sha: str | None                   # the commit to load (Hub targets)
    local_path: Path | None           # the folder to load (local targets)
    trust_remote_code: bool
    allow_pickle: bool
    weights: WeightsChoice
    metadata_files: tuple[str, ...]   # config, generation config, tokenizer: fetched first
    code_files: tuple[str, ...]       # the repo's *.py, fetched only when its code may run

    @property
    def weight_files(self) -> tuple[str, ...]:
        return self.weights.files


def verdict_allows(verdict: str | None, fail_on: str) -> bool:
    return verdict == "allow" or (verdict == "review" and fail_on == "deny")


def policy_allows(policy: Policy, key: str, repo_id: str | None, sha: str | None) -> bool:
    """Whether a `models.<key>` list (trust_remote_code, allow_pickle) names this model (pinned refs
    match only their revision). Local folders have no repo id and are never on these lists."""
    return any(_model_ref_matches(ref, repo_id, sha) for ref in (policy.models or {}).get(key) or ())


def check_verdict(result: Result, fail_on: str) -> None:
    if verdict_allows(result.verdict, fail_on):
        return
    worst = ("deny",) if result.verdict == "deny" else ("deny", "review")
    codes = [f.code for f in result.findings if f.effect in worst]
    reason = result.reasons[0] if result.reasons else "no reason given"
    raise Refusal(f"policy-{result.verdict}", f"the policy's verdict is {result.verdict}: {reason}",
                  result.reasons, codes)


def check_lock(lock: Any, lock_name: str, repo_id: str | None, sha: str | None, fail_on: str) -> None:
    """The lock must approve exactly this commit. `lock` has get(repo_id) -> entry | None with
    `revision` and `verdict` (scanner.gate.lock)."""
    if repo_id is None or sha is None:
        raise Refusal("lock-no-entry", f"{lock_name} approves Hub revisions; a local folder has no lock entry")
    entry = lock.get(repo_id)
    if entry is None:
        raise Refusal("lock-no-entry", f"{repo_id} is not in {lock_name}; approve it with 'modelscan lock'")
    locked = getattr(entry, "revision", None)
    if locked != sha:
        raise Refusal("lock-revision-mismatch",
                      f"{lock_name} approves {repo_id}@{(locked or '(none)')[:12]}, not the revision to load "
                      f"({sha[:12]}); pin the target to the approved revision or approve the new one with "
                      "'modelscan lock'")
    if not verdict_allows(getattr(entry, "verdict", None), fail_on):
        raise Refusal("lock-verdict", f"{lock_name} records the verdict '{getattr(entry, 'verdict', None)}' "
                                      f"for {repo_id}@{sha[:12]}")


def approve(result: Result, evidence: Evidence, policy: Policy, fail_on: str = "review", lock: Any = None,
            lock_name: str = "the lockfile", local_path: Path | None = None) -> Approval:
    """The files to fetch and the permissions to load them with; Refusal if the model may not be
    loaded (verdict, lock, pickle-only weights, custom code); SmokeError if there is nothing to load."""
    check_verdict(result, fail_on)
    repo_id, sha = evidence.repo_id, evidence.sha
    if lock is not None:
        check_lock(lock, lock_name, repo_id, sha, fail_on)
    trust = policy_allows(policy, "trust_remote_code", repo_id, sha)
    pickle_ok = policy_allows(policy, "allow_pickle", repo_id, sha)
    paths = [s.path for s in evidence.siblings]
    try:
        weights = choose_weights(paths, pickle_ok)
        # The Hub's model_info carries config.json's auto_map: refuse custom code before any download.
        check_remote_code(evidence.config, None, trust)
    except SmokeRefused as exc:
        where = (" (a local folder is never on the policy's model lists: load it from the Hub)"
                 if repo_id is None else "")
        raise Refusal(exc.code, str(exc) + where) from None
    if local_path is None and not sha:
        raise SmokeError("download", "the scan saw no commit sha to pin the download to")
    if "config.json" not in paths:
        raise SmokeError("config", "the repo has no config.json; transformers cannot tell what model this is")
    top = {p for p in paths if "/" not in p}
    return Approval(
        repo_id=repo_id, sha=sha, local_path=local_path, trust_remote_code=trust, allow_pickle=pickle_ok,
        weights=weights, metadata_files=tuple(p for p in METADATA_FILES if p in top),
        code_files=tuple(sorted(p for p in top if p.endswith(".py"))) if trust else ())
