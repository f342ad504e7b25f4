"""The pure core: Evidence (+ its parents) -> Result. No I/O here.

    identify -> lineage -> classify -> policy -> Result
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Mapping

from scanner.classify import classify, modalities
from scanner.evidence import Evidence
from scanner.findings import RULES, Finding
from scanner.identify import CardView, identify, merge_uses
from scanner.kb import KnowledgeBase
from scanner.lineage import GraphEntry, Lineage, derive
from scanner.openness_mof import assess
from scanner.policy.engine import evaluate, openness_findings
from scanner.policy.model import Policy
from scanner.result import Classification, Licenses, Result
from scanner.versions import expand_versions



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
    inherited_mods = _lineage_modalities(lineage, graph, kb, ev)
    effective, version_findings = expand_versions(merge_uses(licenses.effective + lineage.inherited), kb,
                                                  set(modalities(ev, card.data)) | inherited_mods,
                                                  ev.last_modified)
    findings.extend(version_findings)
    root_id = lineage.roots[0] if lineage.roots else None
    root = graph.get(root_id) if root_id else None
    cls = classify(ev, root if isinstance(root, Evidence) else ev, effective, card.data, inherited_mods)
    openness = assess(ev, card.data, card.body, effective, lineage.datasets, kb)
    findings.extend(openness_findings(openness, policy))
    verdict, reasons, all_findings, obligations = evaluate(
        ev.repo_id, ev.sha, effective, cls, findings, kb, policy, now, lineage.datasets,
        _notice_lines(ev, lineage, graph, kb))
    return Result(
        target=ev.target, repo_id=ev.repo_id, revision=ev.revision, sha=ev.sha, source=ev.source, verdict=verdict,
        reasons=reasons, licenses=Licenses(licenses.declared, licenses.detected, effective), classification=cls,
        findings=all_findings, obligations=obligations, files=files,
        lineage=lineage.as_dict(), provenance=dict(ev.provenance) or None, openness=openness)


def _lineage_modalities(lineage: Lineage, graph: Mapping[str, GraphEntry], kb: KnowledgeBase, me: Evidence) -> set[str]:
    """The modalities of every model in the lineage above this one (from their evidence, or the name of
    one that could not be read), and those this model's name states."""
    from scanner.classify import name_modalities

    out: set[str] = set(name_modalities(me.repo_id))
    for node in lineage.nodes:
        node_id = str(node.get("id")) if isinstance(node, Mapping) else ""
        node_ev = graph.get(node_id)
        if isinstance(node_ev, Evidence):
            if node_ev is not me:
                out.update(modalities(node_ev, _identify_cached(node_ev, kb)[0].data))
        else:                            # a base that could not be read: its name is all there is
            out.update(name_modalities(node_id))
    return out


def _notice_lines(me: Evidence, lineage: Lineage, graph: Mapping[str, GraphEntry], kb: KnowledgeBase
                  ) -> dict[str, str]:
    """Record key -> the notice line its license text requires, read from the license texts this
    model and its bases ship (files and the access-gate prompt) that were identified as that record."""
    from scanner.notices import notice_line

    chain = [me] + [e for n in lineage.nodes if isinstance(e := graph.get(str(n.get("id"))), Evidence) and e is not me]
    out: dict[str, str] = {}
    for node_ev in chain:
        card, _, files, _ = _identify_cached(node_ev, kb)
        for fm in files:
            if fm.path == "cardData.extra_gated_prompt":
                prompt = (card.data or {}).get("extra_gated_prompt")
                text = prompt if isinstance(prompt, str) else None
            else:
                fe = node_ev.file(fm.path.split("#", 1)[0])
                text = fe.text if fe is not None and fe.readable else None
            for m in fm.matches:
                key = m.get("record")
                if text and key and key not in out and (line := notice_line(text)):
                    out[key] = line
    return out


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
