"""The pure core: Evidence (+ its parents) -> Result. No I/O here.

    identify -> lineage -> classify -> policy -> Result
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Mapping

from scanner.classify import classify, modalities
from scanner.evidence import Evidence
from scanner.findings import RULES, Finding
from scanner.card import as_list
from scanner.identify import Identification, expression_choice, identify, merge_uses
from scanner.kb import KnowledgeBase
from scanner.lineage import GraphEntry, Lineage, derive
from scanner.openness_mof import assess
from scanner.policy.engine import evaluate, openness_findings
from scanner.policy.model import Policy
from scanner.result import Classification, Licenses, LicenseUse, Origin, Result
from scanner.versions import expand_versions
from scanner.vocab import RANK


class IdentificationMemo:
    """identify() once per Evidence for one run (one Scanner): a base model shared by many targets
    is identified once, and nothing outlives the run. Thread-safe; Evidence compares by identity,
    and the sources hand out one object per repo revision per run."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._lock = threading.Lock()
        self._done: dict[Evidence, Identification] = {}

    def __call__(self, ev: Evidence) -> Identification:
        with self._lock:
            found = self._done.get(ev)
        if found is None:
            found = identify(ev, self.kb)          # pure: two threads racing compute the same value
            with self._lock:
                found = self._done.setdefault(ev, found)
        return found

    def __len__(self) -> int:
        return len(self._done)


def analyze(ev: Evidence, graph: Mapping[str, GraphEntry], kb: KnowledgeBase, policy: Policy,
            now: dt.datetime, identified: IdentificationMemo | None = None) -> Result:
    memo = identified if identified is not None else IdentificationMemo(kb)
    own = memo(ev)
    card, licenses, files = own.card, own.licenses, own.files
    findings = list(own.findings)
    for issue in ev.issues:
        findings.append(Finding(issue.code if issue.code in RULES else "fetch-error", issue.message,
                                evidence=dict(issue.evidence), effect="review"))
    for note in getattr(graph, "notes", ()):      # caps and deadlines reached while walking the lineage
        findings.append(Finding("budget-exceeded", note, effect="review"))

    lineage = derive(ev, graph, kb, card_of=lambda e: memo(e).card.data,
                     own_of=lambda e: memo(e).licenses.effective,
                     body_of=lambda e: memo(e).card.body, own=licenses.effective)
    findings.extend(lineage.findings)
    inherited_mods = _lineage_modalities(lineage, graph, memo, ev)
    effective, version_findings = expand_versions(merge_uses(licenses.effective + lineage.inherited), kb,
                                                  set(modalities(ev, card.data)) | inherited_mods,
                                                  ev.last_modified)
    findings.extend(version_findings)
    root_id = lineage.roots[0] if lineage.roots else None
    root = graph.get(root_id) if root_id else None
    cls = classify(ev, root if isinstance(root, Evidence) else ev, effective, card.data, inherited_mods)
    openness = assess(ev, card.data, card.body, effective, lineage.datasets, kb)
    findings.extend(openness_findings(openness, policy))
    notices = _notice_lines(ev, lineage, graph, memo)
    verdict, reasons, all_findings, obligations = evaluate(
        ev.repo_id, ev.sha, effective, cls, findings, kb, policy, now, lineage.datasets, notices)
    choice = _best_alternative(ev, card.data, licenses.effective, lineage.inherited, findings, kb, policy, now,
                               lineage.datasets, root if isinstance(root, Evidence) else ev, notices, inherited_mods)
    if choice is not None:
        effective, cls, (verdict, reasons, all_findings, obligations) = choice
    return Result(
        target=ev.target, repo_id=ev.repo_id, revision=ev.revision, sha=ev.sha, source=ev.source, verdict=verdict,
        reasons=reasons, licenses=Licenses(licenses.declared, licenses.detected, effective), classification=cls,
        findings=all_findings, obligations=obligations, files=files,
        lineage=lineage.graph(), provenance=dict(ev.provenance) or None, openness=openness)


def _lineage_modalities(lineage: Lineage, graph: Mapping[str, GraphEntry], memo: IdentificationMemo,
                        me: Evidence) -> set[str]:
    """The modalities of every model in the lineage above this one (from their evidence, or the name of
    one that could not be read), and those this model's name states."""
    from scanner.classify import name_modalities

    out: set[str] = set(name_modalities(me.repo_id))
    for node in lineage.nodes:
        node_id = node.id
        node_ev = graph.get(node_id)
        if isinstance(node_ev, Evidence):
            if node_ev is not me:
                out.update(modalities(node_ev, memo(node_ev).card.data))
        else:                            # a base that could not be read: its name is all there is
            out.update(name_modalities(node_id))
    return out


def _notice_lines(me: Evidence, lineage: Lineage, graph: Mapping[str, GraphEntry], memo: IdentificationMemo
                  ) -> dict[str, str]:
    """Record key -> the notice line its license text requires, read from the license texts this
    model and its bases ship (files and the access-gate prompt) that were identified as that record."""
    from scanner.notices import notice_line

    chain = [me] + [e for n in lineage.nodes if isinstance(e := graph.get(n.id), Evidence) and e is not me]
    out: dict[str, str] = {}
    for node_ev in chain:
        ident = memo(node_ev)
        card, files = ident.card, ident.files
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


def _best_alternative(ev, card_data, own, inherited, findings, kb, policy, now, datasets, root, notices=None,
                      inherited_mods=frozenset()):
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
        cls = classify(ev, root, eff, card_data, inherited_mods)
        taken = " AND ".join(u.id for u in alt)
        note = Finding("license-choice", f"{ev.display_name}: the card offers '{expression}'; took '{taken}'"
                       + ("" if n == 0 else " (the policy allows it better than the freer alternatives)"),
                       evidence={"expression": expression, "taken": [u.ref() for u in alt],
                                 "alternatives": [[u.ref() for u in a] for a in options]}, severity="info")
        out = evaluate(ev.repo_id, ev.sha, eff, cls, list(findings) + [note], kb, policy, now, datasets,
                       notices)
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


def error_result(target: str, message: str, suggestions: tuple[str, ...] = (), repo_id: str | None = None,
                 revision: str | None = None) -> Result:
    ev = {"suggestions": list(suggestions)} if suggestions else {}
    msg = message + (f"; did you mean {', '.join(suggestions)}?" if suggestions else "")
    return Result(target=target, repo_id=repo_id, revision=revision, sha=None, source="none", verdict="error",
                  reasons=(msg,), findings=(Finding("target-unavailable", msg, evidence=ev),),
                  classification=Classification())
