"""The pure core: Evidence (+ its parents) -> Result. No I/O here.

    identify -> lineage -> classify -> policy -> Result
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Mapping

from scanner.classify import classify
from scanner.evidence import Evidence
from scanner.findings import RULES, Finding
from scanner.identify import CardView, identify, merge_uses
from scanner.kb import KnowledgeBase
from scanner.lineage import GraphEntry, derive
from scanner.policy.engine import evaluate
from scanner.policy.model import Policy
from scanner.result import Classification, Licenses, Result



def analyze(ev: Evidence, graph: Mapping[str, GraphEntry], kb: KnowledgeBase, policy: Policy,
            now: dt.datetime) -> Result:
    card, licenses, files, findings = _identify_cached(ev, kb)
    findings = list(findings)
    for issue in ev.issues:
        findings.append(Finding(issue.code if issue.code in RULES else "fetch-error", issue.message,
                                evidence=dict(issue.evidence), effect="review"))
    for note in getattr(graph, "notes", ()):      # caps and deadlines reached while walking the lineage
        findings.append(Finding("budget-exceeded", note, effect="review"))

    lineage = derive(ev, graph, kb, card_of=lambda e: _identify_cached(e, kb)[0].data,
                     own_of=lambda e: _identify_cached(e, kb)[1].effective,
                     body_of=lambda e: _identify_cached(e, kb)[0].body, own=licenses.effective)
    findings.extend(lineage.findings)
    effective = merge_uses(licenses.effective + lineage.inherited)
    root_id = lineage.roots[0] if lineage.roots else None
    root = graph.get(root_id) if root_id else None
    cls = classify(ev, root if isinstance(root, Evidence) else ev, effective, card.data)
    verdict, reasons, all_findings, obligations = evaluate(
        ev.repo_id, ev.sha, effective, cls, findings, kb, policy, now, lineage.datasets)
    return Result(
        target=ev.target, repo_id=ev.repo_id, revision=ev.revision, sha=ev.sha, source=ev.source, verdict=verdict,
        reasons=reasons, licenses=Licenses(licenses.declared, licenses.detected, effective), classification=cls,
        findings=all_findings, obligations=obligations, files=files,
        lineage=lineage.as_dict(), provenance=dict(ev.provenance) or None)


@functools.lru_cache(maxsize=8192)
def _identify_cached(ev: Evidence, kb: KnowledgeBase) -> tuple[CardView, Licenses, tuple, tuple[Finding, ...]]:
    """identify() once per Evidence: a base model shared by many targets is identified once."""
    return identify(ev, kb)


def error_result(target: str, message: str, suggestions: tuple[str, ...] = (), repo_id: str | None = None,
                 revision: str | None = None) -> Result:
    ev = {"suggestions": list(suggestions)} if suggestions else {}
    msg = message + (f"; did you mean {', '.join(suggestions)}?" if suggestions else "")
    return Result(target=target, repo_id=repo_id, revision=revision, sha=None, source="none", verdict="error",
                  reasons=(msg,), findings=(Finding("target-unavailable", msg, evidence=ev),),
                  classification=Classification())
