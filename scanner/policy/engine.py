"""Evaluating licenses and their typed terms against the policy and its deployment context.

Pure: (effective licenses, classification, findings so far, policy, knowledge base,
evaluation time) -> (verdict, reasons, findings, obligations). One small function per
term type; adding a rule type is a function here and a schema entry.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import replace
from typing import Any, Callable, Iterable, Mapping

from scanner.findings import Finding
from scanner.kb import KnowledgeBase, LicenseRecord, Term
from scanner.policy.model import Policy, expand_regions
from scanner.result import Classification, LicenseUse, Obligation
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
# Each returns (violated?, message). violated=None means the context lacks what is needed to decide.

Check = Callable[[Term, Mapping[str, Any], Classification], tuple[bool | None, str]]


def _mau(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[bool | None, str]:
    limit = int(term.get("users"))
    users = ctx.get("monthly_active_users")
    if users is None:
        return None, f"the license's {limit:,} monthly-active-user threshold cannot be checked: context has no monthly_active_users"
    if users > limit:
        return True, f"{users:,} monthly active users exceed the license threshold of {limit:,}"
    return False, f"stay at or below {limit:,} monthly active users (now {users:,}); above it a separate license is needed"


def _revenue(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[bool | None, str]:
    limit = float(term.get("amount"))
    cur = term.get("currency", "USD")
    revenue = ctx.get("annual_revenue_usd")
    if cur != "USD":
        return None, f"revenue threshold in {cur} cannot be compared with annual_revenue_usd"
    if revenue is None:
        return None, f"the license's {cur} {limit:,.0f} revenue threshold cannot be checked: context has no annual_revenue_usd"
    if revenue > limit:
        return True, f"annual revenue of USD {revenue:,.0f} exceeds the license threshold of USD {limit:,.0f}"
    return False, f"stay at or below USD {limit:,.0f} annual revenue; above it an enterprise license is needed"


def _commercial(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[bool | None, str]:
    what = "research use only" if term.type == "research-only" else "non-commercial use only"
    commercial = ctx.get("commercial")
    if commercial is None:
        return None, f"the license permits {what}: context does not say whether the use is commercial"
    if commercial:
        return True, f"the license permits {what} and the deployment is commercial"
    return False, f"keep the use non-commercial ({what})"


def _territory(term: Term, ctx: Mapping[str, Any], cls: Classification) -> tuple[bool | None, str]:
    regions = expand_regions(term.get("regions"))
    label = ", ".join(term.get("regions") or ())
    mods = set(term.get("modalities") or ())
    scope = term.get("scope")
    if mods and not mods & set(cls.modalities):
        return False, (f"rights withheld in {label} for {scope or 'some'} models do not apply: "
                       f"this model handles {', '.join(cls.modalities)}")
    basis_fields = {"domicile": ("domicile",), "deployment": ("deployment_regions",), "users": ("user_regions",)}
    hits, missing = [], []
    for basis in term.get("basis") or ():
        for fld in basis_fields.get(basis, ()):
            value = ctx.get(fld)
            if value is None:
                missing.append(fld)
                continue
            codes = [value] if isinstance(value, str) else list(value)
            matched = sorted(c for c in codes if expand_regions([c]) & regions)
            if matched:
                hits.append(f"{fld}={','.join(matched)}")
    what = f" for {scope} models" if scope else ""
    if hits:
        return True, f"the license withholds rights in {label}{what} and the context has {'; '.join(hits)}"
    if missing:
        return None, f"rights are withheld in {label}{what}: context lacks {', '.join(sorted(set(missing)))}"
    return False, f"rights are withheld in {label}{what} (by {', '.join(term.get('basis') or ())}); the context is outside it"


def _use_cases(term: Term, ctx: Mapping[str, Any], _: Classification) -> tuple[bool | None, str]:
    banned = set(term.get("use_cases") or ())
    cases = ctx.get("use_cases")
    kind = "outputs may not be used for" if term.type == "output-use-restriction" else "the license forbids use for"
    if cases is None:
        return None, f"{kind}: {', '.join(sorted(banned))}; the context lists no use_cases"
    clash = sorted(banned & set(cases))
    if clash:
        return True, f"{kind}: {', '.join(sorted(banned))}; the context lists {', '.join(clash)}"
    return False, f"{kind}: {', '.join(sorted(banned))}"


CHECKS: dict[str, tuple[Check, str]] = {
    "mau-threshold": (_mau, "user-threshold-exceeded"),
    "revenue-threshold": (_revenue, "revenue-threshold-exceeded"),
    "non-commercial": (_commercial, "non-commercial-use"),
    "research-only": (_commercial, "non-commercial-use"),
    "territory-exclusion": (_territory, "territory-excluded"),
    "output-use-restriction": (_use_cases, "output-use-restricted"),
    "field-of-use": (_use_cases, "field-of-use-restricted"),
}


def _obligation_text(term: Term, rec: LicenseRecord) -> str:
    t = term.type
    if t in ("attribution-notice", "display-notice") and term.get("text"):
        return f"display \"{term.get('text')}\"" + (f" ({term.get('note')})" if term.get("note") else "")
    if t == "derivative-naming":
        return f"names of derivative models must begin with \"{term.get('prefix')}\""
    if t == "acceptable-use-policy":
        return f"comply with the acceptable use policy{(' ' + term.get('url')) if term.get('url') else ''}" + \
               ("; pass it on to downstream users" if term.get("passdown") else "")
    return term.get("note") or t.replace("-", " ")


def evaluate_terms(uses: Iterable[LicenseUse], kb: KnowledgeBase, policy: Policy, cls: Classification
                   ) -> tuple[list[Finding], list[Obligation]]:
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
                findings.append(Finding("term-needs-review",
                                        f"{rec.name}: '{term.type}' needs review: {_obligation_text(term, rec)}",
                                        evidence=ev, effect="review", license=rec.key))
                continue
            if mode == "enforce" and term.type in CHECKS:
                check, code = CHECKS[term.type]
                violated, message = check(term, ctx, cls)
                if rec.kind == "use-policy":
                    message = message.replace("the license", "the use policy")
                if violated:
                    findings.append(Finding(code, f"{rec.name}: {message}", evidence=ev, effect="deny", license=rec.key))
                elif violated is None:
                    findings.append(Finding("term-needs-review", f"{rec.name}: {message}", evidence=ev,
                                            effect="review", license=rec.key))
                else:
                    obligations.append(Obligation(term.type, label, message, term.get("source"), rec.ref()))
                continue
            obligations.append(Obligation(term.type, label, _obligation_text(term, rec), term.get("source"), rec.ref()))
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


def evaluate(repo_id: str | None, sha: str | None, effective: tuple[LicenseUse, ...], cls: Classification,
             prior: Iterable[Finding], kb: KnowledgeBase, policy: Policy, now: dt.datetime,
             datasets: Iterable[Mapping[str, Any]] = ()
             ) -> tuple[Verdict, tuple[str, ...], tuple[Finding, ...], tuple[Obligation, ...]]:
    findings: list[Finding] = list(prior)
    findings.extend(evaluate_datasets(datasets, policy))
    lists = policy.licenses
    licenses_seen = False
    for use in effective:
        if use.kind == "use-policy":
            continue
        licenses_seen = True
        rec = kb.get(use.record) if use.record else None
        chain = {"via": list(use.via)} if use.via else {}
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
            uv = lists.get("unverified", "review")
            if uv != "allow":
                findings.append(Finding("license-unverified", f"{rec.name}: terms not verified against primary sources",
                                        evidence={"license": rec.ref(), **chain}, effect=uv, license=rec.key))
    if not licenses_seen:
        findings.append(Finding("license-unknown", "no license identified for the weights",
                                effect=lists.get("unknown", "review")))
    term_findings, obligations = evaluate_terms(effective, kb, policy, cls)
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
        findings.append(Finding("model-allowed", f"{repo_id} is on the policy's model allow list; license reviews waived",
                                evidence={"rule": model_allowed if isinstance(model_allowed, str) else dict(model_allowed)}))

    worst = max((RANK[f.effect] for f in findings), default=0)
    verdict = verdict_from_rank(worst)
    reasons = tuple(f.message for f in findings if RANK[f.effect] == worst and worst > 0)
    return verdict, reasons, tuple(findings), tuple(_dedupe(obligations))


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
            findings.append(Finding("waiver-expired", f"waiver for {what} (owner {w['owner']}) expired on {w['expires']}; "
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
