"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

One rule per finding code, generated from scanner.findings.RULES; one result per finding
and per place a deployment file references the model (Result.locations). A result with no
location falls back to the policy file when its path is relative (the repository's own
`modelscan.yaml`-like file), and always names the model as a logical location.

Levels follow the verdict, so code scanning agrees with the gate: a finding that made a
model `deny` is an `error`, one that made it `review` a `warning`, everything else (every
finding of an allowed model) a `note`; a model that could not be decided is an `error`.
`security-severity` (what GitHub sorts alerts by) follows the same levels. Paths are
repository-relative under the `%SRCROOT%` base id (the CLI makes them so), and
`partialFingerprints` hash what identifies a finding, not its wording or line.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Mapping
from urllib.parse import quote

from scanner.findings import RULES, Finding, Rule
from scanner.formats.interface import Format
from scanner.result import Location, Report, Result
from scanner.textsafe import encodable

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
_VOLATILE = re.compile(r"\b[0-9a-f]{7,64}\b|\d+")

_SEVERITY_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub reads security-severity (0.1-10) from a rule: 7+ high, 4-6.9 medium, below low
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "note": "1.0"}
_LEVEL_RANK = {"note": 0, "warning": 1, "error": 2}


def severity_level(severity: str) -> str:
    return _SEVERITY_LEVEL.get(severity, "warning")


def finding_level(r: Result, f: Finding) -> str:
    """The level of one finding of one result, from the verdict: what made a model deny is an
    error, what made it review a warning, anything else a note (an allowed model has notes
    only); a model that could not be decided is an error."""
    if r.verdict == "error":
        return "error"
    if r.verdict == "allow" or f.effect not in ("deny", "review"):
        return "note"
    if f.effect == "deny" and r.verdict == "deny":
        return "error"
    return "warning"


def _rule_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("-"))


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": _rule_name(rule.code),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.help},
        "help": {"text": rule.help, "markdown": f"**{rule.title}**\n\n{rule.help}"},
        "defaultConfiguration": {"level": severity_level(rule.severity)},
        "properties": {"severity": rule.severity, "tags": ["license-compliance"]},
    }


def _uri(path: str) -> str:
    return quote(encodable(str(path)).replace("\\", "/"), safe="/@!$&'()*+,;=-._~")


def _physical(file: str, line: Any = None, column: Any = None) -> dict[str, Any]:
    name = str(file).replace("\\", "/")
    if name.startswith("/"):               # outside the repository: an absolute file URI
        artifact: dict[str, Any] = {"uri": "file://" + _uri(name)}
    else:
        artifact = {"uri": _uri(name[2:] if name.startswith("./") else name), "uriBaseId": SRCROOT}
    out: dict[str, Any] = {"artifactLocation": artifact}
    region: dict[str, Any] = {}
    if isinstance(line, int) and not isinstance(line, bool) and line >= 1:
        region["startLine"] = line
        if isinstance(column, int) and not isinstance(column, bool) and column >= 1:
            region["startColumn"] = column
    if region:
        out["region"] = region
    return out


def _logical(r: Result) -> dict[str, Any]:
    name = r.repo_id or r.target
    return {"name": name, "fullyQualifiedName": f"{name}@{r.sha}" if r.sha else name, "kind": "resource"}


def _placements(report: Report, r: Result) -> list[tuple[dict[str, Any], Location | None]]:
    """(SARIF location, the Result.locations entry it came from) for each place to report."""
    out: list[tuple[dict[str, Any], Location | None]] = []
    for loc in r.locations:
        if not loc.file:
            continue
        sarif_loc = {"physicalLocation": _physical(loc.file, loc.line, loc.column or None),
                     "logicalLocations": [_logical(r)]}
        if loc.deployment:
            sarif_loc["message"] = {"text": f"deployment {loc.deployment}"}
        out.append((sarif_loc, loc))
    if out:
        return out
    fallback: dict[str, Any] = {"logicalLocations": [_logical(r)]}
    policy_path = report.policy.path
    if policy_path and not policy_path.startswith("/") and ":" not in policy_path[:3]:
        fallback["physicalLocation"] = _physical(policy_path)
    return [(fallback, None)]


def _fingerprint(r: Result, f: Finding, loc: Location | None) -> str:
    # the message with its numbers masked: several findings may share a code and a license, and
    # figures such as a user count change with the context without making it another finding
    # (and hex such as a commit sha, which moves without making it another finding); no line
    key = "\0".join([(r.repo_id or r.target).lower(), f.code, f.license or "", _VOLATILE.sub("#", f.message),
                      loc.file if loc is not None else "", (loc.deployment if loc is not None else None) or ""])
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _result(report: Report, r: Result, f: Finding, index: Mapping[str, int]) -> list[dict[str, Any]]:
    name = r.repo_id or r.target
    at = f"@{r.sha[:12]}" if r.sha else ""
    out = []
    for sarif_loc, loc in _placements(report, r):
        props: dict[str, Any] = {"verdict": r.verdict, "target": r.target, "repo_id": r.repo_id,
                                 "revision": r.sha or r.revision, "severity": f.severity}
        if f.effect:
            props["effect"] = f.effect
        if f.license:
            props["license"] = f.license
        if loc is not None and loc.deployment:
            props["deployment"] = loc.deployment
        if loc is not None and loc.kind:
            props["kind"] = loc.kind
        where = f" (deployment {loc.deployment})" if loc is not None and loc.deployment else ""
        level = finding_level(r, f)
        props["security-severity"] = SECURITY_SEVERITY[level]
        res: dict[str, Any] = {
            "ruleId": f.code,
            "level": level,
            "message": {"text": f"{name}{at}: {f.message}{where} [verdict: {r.verdict}]"},
            "locations": [sarif_loc],
            "partialFingerprints": {"modelscanFinding/v1": _fingerprint(r, f, loc)},
            "properties": props,
        }
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        out.append(res)
    return out


def sarif_dict(report: Report) -> dict[str, Any]:
    rules = [_rule(rule) for rule in RULES.values()]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [res for r in report.results for f in r.findings for res in _result(report, r, f, index)]
    worst: dict[str, str] = {}
    for res in results:
        if _LEVEL_RANK[res["level"]] >= _LEVEL_RANK[worst.get(res["ruleId"], "note")]:
            worst[res["ruleId"]] = res["level"]
    for rule in rules:
        level = worst.get(rule["id"], rule["defaultConfiguration"]["level"])
        rule["properties"]["security-severity"] = SECURITY_SEVERITY[level]
    tool_version = str(report.tool.get("version", ""))
    driver: dict[str, Any] = {"name": str(report.tool.get("name", "modelscan")), "rules": rules}
    if tool_version:
        driver["version"] = tool_version
        driver["semanticVersion"] = tool_version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"modelscan/{report.policy.name}/"},
        "results": results,
        "properties": {
            "evaluatedAt": report.evaluated_at,
            "policy": {"name": report.policy.name, "path": report.policy.path, "hash": report.policy.hash},
            "knowledgeBase": dict(report.knowledge_base),
            "summary": report.summary,
            "failOn": report.fail_on,
            "verdicts": [{"target": r.target, "repo_id": r.repo_id, "revision": r.sha or r.revision,
                          "verdict": r.verdict, "reasons": list(r.reasons)} for r in report.results],
        },
    }
    if any("uriBaseId" in loc.get("physicalLocation", {}).get("artifactLocation", {})
           for res in results for loc in res["locations"]):
        run["originalUriBaseIds"] = {SRCROOT: {"description": {"text": "The repository root."}}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


class SarifFormat(Format):
    def render(self, report: Report) -> str:
        return json.dumps(sarif_dict(report), indent=2, ensure_ascii=False, default=str) + "\n"
