"""The JSON report (docs/architecture.md §2; scanner/schemas/report.schema.json describes it)."""

from __future__ import annotations

import json
from typing import Any

from scanner.evidence import thaw
from scanner.formats.interface import Format
from scanner.result import LicenseUse, Openness, Report, Result


def _license(u: LicenseUse) -> dict[str, Any]:
    out = {**u.ref(), "record": u.record, "kind": u.kind, "category": u.category,
           "found_in": [{"kind": o.kind, "where": o.where, "method": o.method, "confidence": o.confidence,
                         **({"detail": o.detail} if o.detail else {})} for o in u.origins]}
    if u.via:
        out["via"] = list(u.via)
    return out


def result_dict(r: Result) -> dict[str, Any]:
    return {
        "target": r.target, "repo_id": r.repo_id, "revision": r.revision, "sha": r.sha, "source": r.source,
        "verdict": r.verdict, "reasons": list(r.reasons),
        "licenses": {"declared": [_license(u) for u in r.licenses.declared],
                     "detected": [_license(u) for u in r.licenses.detected],
                     "effective": [_license(u) for u in r.licenses.effective]},
        "classification": {"openness": r.classification.openness,
                           "license_freedom": r.classification.license_freedom,
                           "label": r.classification.label, "evidence": list(r.classification.evidence),
                           "modalities": list(r.classification.modalities)},
        "findings": [{"code": f.code, "severity": f.severity, "message": f.message, "evidence": thaw(dict(f.evidence)),
                      "effect": f.effect} for f in r.findings],
        "obligations": [{"term": o.term, "license": dict(o.license_ref or {"id": o.license, "version": None,
                                                                            "name": o.license}),
                         "text": o.text, **({"source": o.source} if o.source else {})} for o in r.obligations],
        "files": [{"path": f.path, "status": f.status, "size": f.size, "sha256": f.sha256,
                   "matches": [thaw(dict(m)) for m in f.matches]} for f in r.files],
        "lineage": thaw(r.lineage) if r.lineage else None,
        "locations": [thaw(dict(loc)) for loc in r.locations],
        "smoke": thaw(r.smoke) if r.smoke else None,
        "provenance": thaw(r.provenance) if r.provenance else None,
        "openness": _openness(r.openness),
    }


def _openness(o: Openness | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"mof_class": o.mof_class, "mof_class_if_claims_hold": o.mof_class_if_claims_hold,
            "next_class": o.next_class, "missing_for_next": list(o.missing_for_next),
            "components": [{"id": c.id, "name": c.name, "mof_class": c.mof_class, "type": c.type,
                            "optional": c.optional, "status": c.status, "where": list(c.where),
                            "license": c.license, "open_license": c.open_license,
                            **({"reason": c.reason} if c.reason else {})} for c in o.components],
            "osaid": dict(o.osaid), "osaid_reasons": list(o.osaid_reasons)}


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": report.schema_version,
        "tool": dict(report.tool),
        "knowledge_base": dict(report.knowledge_base),
        "policy": {"path": report.policy.path, "name": report.policy.name, "hash": report.policy.hash},
        "evaluated_at": report.evaluated_at,
        "context": thaw(dict(report.context)),
        "results": [result_dict(r) for r in report.results],
        "summary": report.summary,
        "fail_on": report.fail_on,
        "configuration": thaw(dict(report.configuration)) if report.configuration is not None else None,
    }


class JsonFormat(Format):
    def render(self, report: Report) -> str:
        return json.dumps(report_dict(report), indent=2, ensure_ascii=False, default=str, allow_nan=False) + "\n"
