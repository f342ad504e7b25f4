"""Repository approvals (`modelscan-approvals.yaml` beside `modelscan.lock`, docs/configuration.md).

A person accepts named review findings of one model at one commit, until a date:

    version: 1
    approvals:
      - model: Qwen/Qwen2.5-7B-Instruct
        revision: a09a35458c702b33eeacc393d103063234e8bc28
        owner: jane@example.com
        reason: Qwen license read by legal (LEGAL-123); under 100M MAU
        expires: 2027-03-31
        accepts: [license-needs-review, term-needs-review]

A pull request can edit this file, so it counts only where the policy in force says
`repository: {approvals: true}`, and an approval lifts a `review`, never a `deny`: a finding
whose effect is deny keeps it whatever the file says. Applied after waivers and lock checks,
so an approval can accept `approval-missing` or `approval-stale` only if it names them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner.findings import Finding
from scanner.vocab import RANK, verdict_from_rank
from scanner.result import Result

APPROVALS_FILE = "modelscan-approvals.yaml"


class ApprovalsError(Exception):
    """An approvals file that cannot be used: `file:line: key: message`."""


@dataclass(frozen=True)
class Approval:
    model: str
    revision: str
    owner: str
    reason: str
    expires: str
    accepts: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "revision": self.revision, "owner": self.owner, "reason": self.reason,
                "expires": self.expires, "accepts": list(self.accepts)}


@dataclass(frozen=True)
class Approvals:
    path: str
    sha256: str
    entries: tuple[Approval, ...]

    def find(self, repo_id: str | None, sha: str | None) -> Approval | None:
        if not repo_id or not sha:
            return None
        return next((a for a in self.entries if a.model.lower() == repo_id.lower() and a.revision == sha), None)


def approvals_path(lock_file: str | Path) -> Path:
    """Where the approvals of a lockfile live: beside it."""
    return Path(lock_file).with_name(APPROVALS_FILE)


def load_approvals(path: str | Path) -> Approvals | None:
    """The approvals in `path`, or None when there is no such file; ApprovalsError when invalid."""
    from scanner.kb import load_schema
    from scanner.schemas import jsonschema
    from scanner.yamldoc import parse_document, yaml_line

    p = Path(path)
    where = str(p)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ApprovalsError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > 1_000_000:
        raise ApprovalsError(f"{where}: larger than 1 MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApprovalsError(f"{where}: not UTF-8 text") from None
    data, node = parse_document(text, where, ApprovalsError,
                                "an approvals file is a YAML mapping with 'version: 1' and 'approvals'")
    # YAML reads an unquoted date as a date; the schema (and the report) want the ISO string
    for item in data.get("approvals") or () if isinstance(data.get("approvals"), list) else ():
        if isinstance(item, dict) and isinstance(item.get("expires"), dt.date):
            item["expires"] = item["expires"].isoformat()
    js = jsonschema()
    validator = js.Draft202012Validator(load_schema("approvals.schema.json"), format_checker=js.FormatChecker())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        path_ = list(err.absolute_path)
        line = yaml_line(node, path_)
        key = ".".join(map(str, path_)) or "(top level)"
        msg = err.message if len(err.message) <= 300 else err.message[:297] + "..."
        raise ApprovalsError(f"{where}:{line}: {key}: {msg}" if line else f"{where}: {key}: {msg}")
    entries = tuple(Approval(a["model"], a["revision"], a["owner"], a["reason"], a["expires"], tuple(a["accepts"]))
                    for a in data["approvals"])
    seen: set[tuple[str, str]] = set()
    for i, a in enumerate(entries):
        key2 = (a.model.lower(), a.revision)
        if key2 in seen:
            line = yaml_line(node, ["approvals", i])
            raise ApprovalsError(f"{where}:{line}: approvals.{i}: {a.model}@{a.revision[:12]} is approved twice")
        seen.add(key2)
    return Approvals(where, hashlib.sha256(raw).hexdigest(), entries)


def apply_approval(result: Result, approvals: Approvals | None, now: dt.datetime) -> Result:
    """`result` with the repository approval of its model and commit applied: each review
    finding whose code the approval accepts loses its effect; deny findings never do. The
    verdict is recomputed from the findings' effects, as the policy engine does."""
    if approvals is None or result.verdict in ("error", "allow"):
        return result
    a = approvals.find(result.repo_id, result.sha)
    if a is None:
        return result
    what = f"{a.model}@{a.revision[:12]}"
    ev = {"approval": a.to_json(), "file": approvals.path}
    if dt.date.fromisoformat(a.expires) < now.date():
        expired = Finding("approval-expired", f"repository approval of {what} (owner {a.owner}) expired on "
                          f"{a.expires}; it no longer applies", evidence=ev)
        return replace(result, findings=tuple(result.findings) + (expired,))
    findings: list[Finding] = []
    lifted = []
    for f in result.findings:
        if f.effect == "review" and f.code in a.accepts:
            findings.append(replace(f, effect=None, evidence={**dict(f.evidence), "approved_by": a.owner}))
            lifted.append(f.code)
        else:
            findings.append(f)
    if not lifted:
        return result
    findings.append(Finding("approval-applied", f"repository approval of {what} applied (owner {a.owner}, expires "
                            f"{a.expires}, accepts {', '.join(sorted(set(lifted)))}): {a.reason}", evidence=ev))
    return with_verdict(result, findings)


def with_verdict(result: Result, findings: Sequence[Finding]) -> Result:
    worst = max((RANK[f.effect] for f in findings), default=0)
    verdict = verdict_from_rank(worst)
    reasons = tuple(f.message for f in findings if worst and RANK[f.effect] == worst)
    return replace(result, verdict=verdict, reasons=reasons, findings=tuple(findings))


def approvals_summary(approvals: Approvals | None, honoured: bool, path: Path) -> Mapping[str, Any]:
    """What the report says about the approvals file."""
    out: dict[str, Any] = {"file": str(path), "honoured": honoured}
    if approvals is not None:
        out.update(sha256=approvals.sha256, count=len(approvals.entries))
    else:
        out["count"] = 0
    return out
