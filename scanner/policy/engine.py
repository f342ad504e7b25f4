"""Evaluating licenses and their typed terms against the policy and its deployment context.

Pure: (effective licenses, classification, findings so far, policy, knowledge base,
evaluation time) -> (verdict, reasons, findings, obligations). The term checks come from the
term registry (scanner/terms.py): adding a term type is one entry there.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import replace
from typing import Any, Iterable, Mapping

from scanner.findings import Finding
from scanner.kb import KnowledgeBase, LicenseRecord, Term
from scanner import terms
from scanner.policy.model import Policy
from scanner.terms import Check, TermRegistry
from scanner.result import Classification, LicenseRef, LicenseUse, Obligation
from scanner.vocab import RANK, Effect, Verdict, verdict_from_rank


def _lic_label(rec: LicenseRecord) -> str:
    return f"{rec.id}@{rec.version}" if rec.version and rec.version not in rec.id else rec.id


# ---- license lists ---------------------------------------------------------------------------

def pattern_matches(pattern: str, rec: LicenseRecord) -> bool:
    if pattern.startswith("category:"):
        return rec.category == pattern.split(":", 1)[1]
    if pattern.startswith("family:"):
        return (rec.family or "") == pattern.split(":", 1)[1]
    if pattern.startswith("kind:"):
        return rec.kind == pattern.split(":", 1)[1]
    if "@" in pattern:
        pid, pver = pattern.split("@", 1)
        return fnmatch.fnmatch(rec.id, pid) and fnmatch.fnmatch(rec.version or "", pver)
    return fnmatch.fnmatch(rec.id, pattern) or fnmatch.fnmatch(rec.key, pattern)


def license_list_verdict(rec: LicenseRecord, policy: Policy) -> tuple[str, str | None]:
    lists = policy.licenses
    for verdict in ("deny", "review", "allow"):
        for pattern in lists.get(verdict, ()):
            if pattern_matches(pattern, rec):
                return verdict, pattern
    return lists.get("unlisted", "review"), None


# ---- term checks -----------------------------------------------------------------------------
# The checks, their finding codes and default modes live in the term registry (scanner/terms.py).

def checks(reg: TermRegistry | None = None) -> dict[str, tuple[Check, str]]:
    """Term type -> (check, finding code), from the registry."""
    return (reg or terms.registry()).checks()


def _where(term: Term, rec: LicenseRecord) -> str:
    """Where the license states a term: its section and a URL, in words."""
    section = term.get("section")
    url = term.get("url") or rec.url or term.get("source")
    if section and url:
        return f"section {section} of the license ({url})"
    return f"section {section} of the license" if section else (url or "the license")


def _with_note(text: str, term: Term) -> str:
    return text + (f" ({term.get('note')})" if term.get("note") else "")


def _obligation_text(term: Term, rec: LicenseRecord, notices: Mapping[str, str] | None = None) -> str:
    """What the deployer must do, in their words; a required statement is printed word for word."""
    t = term.type
    if t == "notice-file":
        line = (notices or {}).get(rec.key) or term.get("text")
        if line:
            return f'ship a "Notice" text file with every copy you distribute, containing: "{line}"'
        if term.get("section"):
            url = term.get("url") or rec.url or term.get("source")
            return (f'ship a "Notice" text file with every copy you distribute, containing the notice line that '
                    f"section {term.get('section')} of the license states" + (f" ({url})" if url else ""))
        return "pass on the NOTICE file the model ships, with every copy you distribute"
    if t == "display-notice" and term.get("text"):
        return _with_note(f"display \"{term.get('text')}\" prominently", term)
    if t == "attribution-notice" and term.get("text"):
        return _with_note(f"give this attribution: \"{term.get('text')}\"", term)
    if t == "publication-statement":
        return _with_note(f"publications about the model or its results must state: \"{term.get('text')}\"", term)
    if t == "ai-content-disclosure":
        return _with_note("disclose to people that content the model generates is machine-generated", term)
    if t == "unilateral-update":
        return _with_note(f"the licensor may update these terms: check the current ones ({_where(term, rec)})", term)
    if t == "derivative-naming":
        return f"names of derivative models must begin with \"{term.get('prefix')}\""
    if t == "acceptable-use-policy":
        return f"comply with the acceptable use policy{(' ' + term.get('url')) if term.get('url') else ''}" + \
               ("; pass it on to downstream users" if term.get("passdown") else "")
    return term.get("note") or t.replace("-", " ")


def evaluate_terms(uses: Iterable[LicenseUse], kb: KnowledgeBase, policy: Policy, cls: Classification,
                   reg: TermRegistry | None = None, notices: Mapping[str, str] | None = None
                   ) -> tuple[list[Finding], list[Obligation]]:
    """Findings and obligations of every typed term; `notices` maps a record key to the notice line
    read from the license text the repository (or its base) ships (scanner/notices.py)."""
    table = checks(reg)
    findings: list[Finding] = []
    obligations: list[Obligation] = []
    ctx = policy.context
    for use in uses:
        rec = kb.get(use.record) if use.record else None
        if rec is None:
            continue
        label = _lic_label(rec)
        chain = {"via": list(use.via)} if use.via else {}
        for term in rec.terms:
            mode = policy.term_mode(term.type)
            if mode == "ignore":
                continue
            ev = {"license": rec.ref(), "term": {"type": term.type, **dict(term.params)}, **chain}
            if mode == "deny":
                findings.append(Finding("term-denied", f"{rec.name}: the policy denies '{term.type}' terms",
                                        evidence=ev, effect="deny", license=rec.key))
                continue
            if mode == "review":
                text = _obligation_text(term, rec, notices)
                findings.append(Finding("term-needs-review", f"{rec.name}: '{term.type}' needs review: {text}",
                                        evidence=ev, effect="review", license=rec.key))
                continue
            if mode == "enforce" and term.type in table:
                check, code = table[term.type]
                outcome, message = check(term, ctx, cls)
                if rec.kind == "use-policy":
                    message = message.replace("the license", "the use policy")
                if outcome in ("deny", "review"):
                    findings.append(Finding(code, f"{rec.name}: {message}", evidence=ev, effect=outcome,
                                            license=rec.key))
                elif outcome == "unknown":
                    findings.append(Finding("term-needs-review", f"{rec.name}: {message}", evidence=ev,
                                            effect="review", license=rec.key))
                else:
                    obligations.append(Obligation(term.type, label, message, term.get("source"),
                                                  LicenseRef(rec.id, rec.version, rec.name)))
                continue
            obligations.append(Obligation(term.type, label, _obligation_text(term, rec, notices), term.get("source"),
                                          LicenseRef(rec.id, rec.version, rec.name)))
    return findings, obligations


# ---- verdict -----------------------------------------------------------------------------------

def _model_ref_matches(ref: Any, repo_id: str | None, sha: str | None) -> bool:
    if repo_id is None:
        return False
    if isinstance(ref, str):
        rid, _, rev = ref.partition("@")
    else:
        rid, rev = ref.get("id", ""), ref.get("revision") or ""
    if not fnmatch.fnmatch(repo_id.lower(), rid.lower()):
        return False
    return not rev or rev == sha


def evaluate_datasets(datasets: Iterable[Mapping[str, Any]], policy: Policy) -> list[Finding]:
    """Datasets the cards in the lineage list, against a commercial context."""
    if not policy.context.get("commercial"):
        return []
    modes = policy.datasets
    out = []
    for ds in datasets:
        uses = [u for u in ds.get("licenses") or () if u.kind != "use-policy"]
        restricted = [u for u in uses if u.category in ("non-commercial", "research-only")]
        if restricted:
            mode, what = modes.get("non-commercial", "review"), ", ".join(u.name for u in restricted)
        elif not uses or all(u.record is None or u.category == "unknown" for u in uses):
            mode = modes.get("unknown", "report")
            what = "an unknown license" + (f" ({ds['error']})" if ds.get("error") else "")
        else:
            continue
        if mode == "ignore":
            continue
        out.append(Finding("dataset-license",
                           f"dataset {ds['id']} (listed by {ds.get('of') or 'the card'}) is under {what}; "
                           "the context is commercial",
                           severity="" if mode != "report" else "low",
                           evidence={"dataset": ds["id"], "licenses": [u.ref() for u in uses],
                                     "listed_by": ds.get("of")},
                           effect="deny" if mode == "deny" else "review" if mode == "review" else None))
    return out


_MOF_LEVEL = {"none": 0, "III": 1, "II": 2, "I": 3}


def openness_findings(openness: Any, policy: Policy) -> list[Finding]:
    """`openness: {min_mof_class, mode}`: a finding with the mode's effect when the verified MOF class is lower."""
    rule = (policy.raw or {}).get("openness") or {}
    want = rule.get("min_mof_class")
    if not want or openness is None or _MOF_LEVEL[openness.mof_class] >= _MOF_LEVEL[str(want)]:
        return []
    return [Finding("openness-below-minimum",
                    f"MOF class {openness.mof_class} is below the policy's minimum {want}"
                    + (f" (if the card's claims hold: {openness.mof_class_if_claims_hold})"
                       if openness.mof_class_if_claims_hold != openness.mof_class else ""),
                    evidence={"mof_class": openness.mof_class, "min_mof_class": str(want),
                              "missing_for_next": list(openness.missing_for_next)},
                    effect="deny" if rule.get("mode") == "deny" else "review")]


def evaluate(repo_id: str | None, sha: str | None, effective: tuple[LicenseUse, ...], cls: Classification,
             prior: Iterable[Finding], kb: KnowledgeBase, policy: Policy, now: dt.datetime,
             datasets: Iterable[Mapping[str, Any]] = (), notices: Mapping[str, str] | None = None
             ) -> tuple[Verdict, tuple[str, ...], tuple[Finding, ...], tuple[Obligation, ...]]:
    findings: list[Finding] = list(prior)
    findings.extend(evaluate_datasets(datasets, policy))
    lists = policy.licenses
    licenses_seen = False
    for use in effective:
        rec = kb.get(use.record) if use.record else None
        chain = {"via": list(use.via)} if use.via else {}
        if use.kind == "use-policy":     # not matched against the license lists, but reviewed when unverified
            if rec is not None and not rec.verified:
                _unverified(findings, rec, lists, chain)
            continue
        licenses_seen = True
        if rec is None or rec.is_placeholder:
            verdict = lists.get("unknown", "review")
            code = "license-unresolved" if rec is None else "license-unknown"
            findings.append(Finding(code, f"license '{use.id}' is not in the knowledge base" if rec is None
                                    else f"license '{use.id}' names no specific license",
                                    evidence={"license": use.ref(), "where": [o.where for o in use.origins], **chain},
                                    effect=verdict, license=use.record))
            continue
        verdict, pattern = license_list_verdict(rec, policy)
        ev = {"license": rec.ref(), "category": rec.category, "rule": pattern or "unlisted", **chain}
        if verdict == "deny":
            findings.append(Finding("license-denied", f"{rec.name} is denied by the policy ({pattern})",
                                    evidence=ev, effect="deny", license=rec.key))
        elif verdict == "review":
            why = f"the policy's review list ({pattern})" if pattern else "the policy does not list it"
            findings.append(Finding("license-needs-review", f"{rec.name} needs review: {why}",
                                    evidence=ev, effect="review", license=rec.key))
        if not rec.verified:
            _unverified(findings, rec, lists, chain)
    if not licenses_seen:
        findings.append(Finding("license-unknown", "no license identified for the weights",
                                effect=lists.get("unknown", "review")))
    term_findings, obligations = evaluate_terms(effective, kb, policy, cls, notices=notices)
    findings.extend(term_findings)

    models = policy.models
    for ref in models.get("deny", ()):
        if _model_ref_matches(ref, repo_id, sha):
            findings.append(Finding("model-denied", f"{repo_id} is on the policy's model deny list",
                                    evidence={"rule": ref if isinstance(ref, str) else dict(ref)}, effect="deny"))
    model_allowed = next((ref for ref in models.get("allow", ()) if _model_ref_matches(ref, repo_id, sha)), None)

    findings = _apply_waivers(findings, repo_id, sha, effective, kb, policy, now)
    if model_allowed is not None and not any(f.code == "model-denied" for f in findings):
        findings = [replace(f, effect=None) if f.effect == "review" and f.license
                    and f.code not in ("license-unknown", "license-unresolved") else f for f in findings]
        rule = model_allowed if isinstance(model_allowed, str) else dict(model_allowed)
        findings.append(Finding("model-allowed",
                                f"{repo_id} is on the policy's model allow list; license reviews waived",
                                evidence={"rule": rule}))

    worst = max((RANK[f.effect] for f in findings), default=0)
    verdict = verdict_from_rank(worst)
    reasons = tuple(f.message for f in findings if RANK[f.effect] == worst and worst > 0)
    return verdict, reasons, tuple(findings), tuple(_dedupe(obligations))


def _unverified(findings: list[Finding], rec: LicenseRecord, lists: Mapping[str, Any],
                chain: Mapping[str, Any]) -> None:
    uv = lists.get("unverified", "review")
    if uv != "allow":
        findings.append(Finding("license-unverified", f"{rec.name}: terms not verified against primary sources",
                                evidence={"license": rec.ref(), **chain}, effect=uv, license=rec.key))


def _dedupe(obligations: Iterable[Obligation]) -> list[Obligation]:
    seen, out = set(), []
    for o in obligations:
        if (o.term, o.license, o.text) not in seen:
            seen.add((o.term, o.license, o.text))
            out.append(o)
    return out


def _apply_waivers(findings: list[Finding], repo_id: str | None, sha: str | None, effective: tuple[LicenseUse, ...],
                   kb: KnowledgeBase, policy: Policy, now: dt.datetime) -> list[Finding]:
    today = now.date()
    for w in policy.waivers:
        expires = dt.date.fromisoformat(w["expires"])
        target = None
        if "model" in w:
            if repo_id and w["model"].lower() == repo_id.lower() and w.get("revision") == sha:
                target = "model"
        else:
            for use in effective:
                rec = kb.get(use.record) if use.record else None
                if rec and rec.id == w["license"] and (not w.get("version") or w["version"] == rec.version):
                    target = rec.key
                    break
        if target is None:
            continue
        what = f"{w['model']}@{w['revision'][:12]}" if target == "model" else \
            w["license"] + (f"@{w['version']}" if w.get("version") else "")
        ev = {"waiver": {k: w[k] for k in w}, "what": what}
        if expires < today:
            findings.append(Finding("waiver-expired",
                                    f"waiver for {what} (owner {w['owner']}) expired on {w['expires']}; "
                                    "it no longer applies", evidence=ev))
            continue
        new_effect: Effect | None = None if w["verdict"] == "allow" else "review"
        changed = False
        out = []
        for f in findings:
            applies = f.effect in ("review", "deny") and (target == "model" or f.license == target)
            if applies and RANK[f.effect] > RANK[new_effect]:
                out.append(replace(f, effect=new_effect, evidence={**dict(f.evidence), "waived_by": what}))
                changed = True
            else:
                out.append(f)
        findings = out
        if changed:
            findings.append(Finding("waiver-applied", f"waiver for {what} applied (verdict {w['verdict']}, owner "
                                    f"{w['owner']}, expires {w['expires']}): {w['reason']}", evidence=ev))
    return findings
