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
from scanner.card import as_list
from scanner.identify import CardView, expression_choice, identify, merge_uses
from scanner.kb import KnowledgeBase
from scanner.lineage import GraphEntry, derive
from scanner.policy.engine import RANK, evaluate
from scanner.policy.model import Policy
from scanner.result import Classification, Licenses, LicenseUse, Origin, Result



def analyze(ev: Evidence, graph: Mapping[str, GraphEntry], kb: KnowledgeBase, policy: Policy,
            now: dt.datetime) -> Result:
    card, licenses, files, findings = _identify_cached(ev, kb)
    findings = list(findings)
    for issue in ev.issues:
        findings.append(Finding(issue.code if issue.code in RULES else "fetch-error", issue.message,
                                evidence=dict(issue.evidence), effect="review"))

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
    choice = _best_alternative(ev, card.data, licenses.effective, lineage.inherited, findings, kb, policy, now,
                               lineage.datasets, root if isinstance(root, Evidence) else ev)
    if choice is not None:
        effective, cls, (verdict, reasons, all_findings, obligations) = choice
    return Result(
        target=ev.target, repo_id=ev.repo_id, revision=ev.revision, sha=ev.sha, source=ev.source, verdict=verdict,
        reasons=reasons, licenses=Licenses(licenses.declared, licenses.detected, effective), classification=cls,
        findings=all_findings, obligations=obligations, files=files,
        lineage=lineage.as_dict(), provenance=dict(ev.provenance) or None)


def _best_alternative(ev, card_data, own, inherited, findings, kb, policy, now, datasets, root):
    """A license value with alternatives (`apache-2.0 OR mit`): the alternative the policy allows best
    (allow over review over deny; the freest first on a tie), named in a license-choice finding.
    None when the card offers no choice."""
    options = None
    expression = None
    for value in as_list(card_data.get("license")) if card_data else ():
        got = expression_choice(str(value).strip(), kb) if isinstance(value, str) else None
        if got is not None and len(got[1]) > 1:
            expression, options = str(value).strip(), got[1]
            break
    if options is None:
        return None
    chosen = {u.id for u in own if any(o.method == "expression" for o in u.origins)}
    base = tuple(u for u in own if not any(o.method == "expression" for o in u.origins)
                 and not all(o.method == "incorporated" and o.where in chosen for o in u.origins))
    best = None
    for n, alt in enumerate(options):
        eff = merge_uses(base + tuple(alt) + _policies_of(alt, kb) + tuple(inherited))
        cls = classify(ev, root, eff, card_data)
        taken = " AND ".join(u.id for u in alt)
        note = Finding("license-choice", f"{ev.display_name}: the card offers '{expression}'; took '{taken}'"
                       + ("" if n == 0 else " (the policy allows it better than the freer alternatives)"),
                       evidence={"expression": expression, "taken": [u.ref() for u in alt],
                                 "alternatives": [[u.ref() for u in a] for a in options]}, severity="info")
        out = evaluate(ev.repo_id, ev.sha, eff, cls, list(findings) + [note], kb, policy, now, datasets)
        if best is None or RANK[out[0]] < RANK[best[2][0]]:
            best = (eff, cls, out)
        if out[0] == "allow":
            break
    return best


def _policies_of(uses, kb):
    out = []
    for u in uses:
        rec = kb.get(u.record) if u.record else None
        aup = kb.use_policy_of(rec) if rec else None
        if aup is not None:
            out.append(LicenseUse(aup.key, aup.id, aup.version, aup.name, aup.kind, aup.category,
                                  (Origin("license", u.id, "incorporated", 1.0, f"use policy of {u.name}"),)))
    return tuple(out)


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
