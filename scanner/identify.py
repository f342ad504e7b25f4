"""From Evidence to licenses: what the card declares, what the repo's texts say, and
which of them bind (the repo's own license text outranks its label).

Pure: Evidence + knowledge base in, licenses + findings out.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

from scanner import categories, knowledge, spdx_expr
from scanner.card import Card, as_list, parse_card
from scanner.evidence import CARD_FILE, Evidence, FileEvidence
from scanner.findings import RULES, Finding
from scanner.infer.licenses import text_licenses
from scanner.kb import KnowledgeBase, LicenseRecord
from scanner.result import FileMatch, LicenseUse, Licenses, Origin
from scanner.textid import TextMatch, identify_hash, identify_text
from scanner.vocab import Effect

# license_link patterns live in scanner/data/links.yaml and in the records (scanner.knowledge.link_hints).


@dataclass(frozen=True)
class CardView:
    """The card as the scan uses it: Hub-parsed metadata where present, else the README's front matter."""

    data: Mapping[str, Any]
    body: str
    has_card: bool
    findings: tuple[Finding, ...]


def read_card(ev: Evidence) -> CardView:
    findings: list[Finding] = []
    readme = ev.file(CARD_FILE)
    card: Card | None = None
    if readme is not None and readme.readable:
        card = parse_card(readme.text or "")
        for problem in card.problems:
            findings.append(Finding(problem.code, str(problem), evidence={"file": CARD_FILE}, effect="review"))
    elif readme is not None:
        # A card read at all was needed (no metadata, no license in it, or prose that may matter);
        # one that could not be read hides evidence whatever metadata the Hub parsed.
        findings.extend(_file_gap(readme, material=True))
    elif not any(s.path == CARD_FILE for s in ev.siblings) and ev.card_data is None:
        findings.append(Finding("card-missing", f"{ev.display_name} has no README.md model card", effect="review"))
    data: Mapping[str, Any]
    if ev.card_data is not None:
        data = ev.card_data
    elif card is not None and card.data is not None:
        data = card.data
    else:
        data = {}
    body = card.body if card is not None else ""
    return CardView(data, body, bool(data) or card is not None, tuple(findings))


def _file_gap(f: FileEvidence, material: bool = True) -> list[Finding]:
    effect: Effect | None = "review" if material else None
    sev = None if material else "low"
    ev = {"file": f.path, "size": f.size, "status": f.status}
    if f.error:
        ev["error"] = f.error
    code, msg = {
        "gated": ("file-gated", f"{f.path} is behind the access gate and could not be read"),
        "too-large": ("file-too-large", f"{f.path} is {f.size} bytes, over the read limit; not read"),
        "binary": ("file-binary", f"{f.path} is not text"),
    }.get(f.status, ("file-unreadable", f"{f.path} could not be read ({f.error or f.status})"))
    kw = {"severity": sev} if sev else {}
    return [Finding(code, msg, evidence=ev, effect=effect, **kw)]


def _use(rec: LicenseRecord, origin: Origin) -> LicenseUse:
    return LicenseUse(rec.key, rec.id, rec.version, rec.name, rec.kind, rec.category, (origin,))


MAX_NAME = 120   # a license name from a stranger's card goes into ids, messages and SPDX refs


def _unresolved(name: str, origin: Origin) -> LicenseUse:
    name = name[:MAX_NAME]
    return LicenseUse(None, name, None, name, "unknown", "unknown", (replace(origin, detail=origin.detail[:MAX_NAME]),))


def merge_uses(uses: Iterable[LicenseUse]) -> tuple[LicenseUse, ...]:
    """One entry per license, with all the places it was found."""
    out: dict[str, LicenseUse] = {}
    for u in uses:
        k = u.record or f"?{u.id}"
        if k in out:
            prev = out[k]
            origins = prev.origins + tuple(o for o in u.origins if o not in prev.origins)
            out[k] = replace(prev, origins=origins, via=prev.via or u.via)
        else:
            out[k] = u
    return tuple(out.values())


def declared_licenses(card: Mapping[str, Any], tags: Iterable[str], kb: KnowledgeBase) -> tuple[LicenseUse, ...]:
    uses: list[LicenseUse] = []
    values = as_list(card.get("license"))
    name = card.get("license_name")
    link = card.get("license_link")
    for value in values:
        value_s = str(value).strip()
        choice = expression_choice(value_s, kb)
        if choice is not None:
            uses.extend(choice[0])
            continue
        rec = kb.resolve(value_s) or spdx_expr.resolve(kb, value_s)
        if rec is not None and not rec.is_placeholder:
            # a license_name naming a version of the label's license (c4ai-cc-by-nc beside cc-by-nc-4.0) says which
            versioned = kb.resolve(name) if isinstance(name, str) else None
            if versioned is not None and versioned.id == rec.id and versioned.key != rec.key:
                uses.append(_use(versioned, Origin("card-license-name", "cardData.license_name", "alias", 1.0,
                                                   str(name))))
                continue
            uses.append(_use(rec, Origin("card", "cardData.license", "metadata", 1.0, value_s)))
            continue
        if value_s.lower() in ("other", "unknown") or rec is not None:
            named = _from_name_or_link(name, link, kb)
            if named:
                uses.append(named)
                continue
        if rec is not None:
            uses.append(_use(rec, Origin("card", "cardData.license", "metadata", 1.0, value_s)))
        else:
            uses.append(_unresolved(value_s, Origin("card", "cardData.license", "metadata", 1.0, value_s)))
    if not values and (name or link):
        named = _from_name_or_link(name, link, kb)
        if named:
            uses.append(named)
    for tag in tags:
        if not isinstance(tag, str) or not tag.startswith("license:"):
            continue
        value = tag.split(":", 1)[1]
        rec = kb.resolve(value)
        if rec is None:
            uses.append(_unresolved(value, Origin("tag", tag, "metadata", 0.9, value)))
        elif not rec.is_placeholder:
            uses.append(_use(rec, Origin("tag", tag, "metadata", 0.9, value)))
    return merge_uses(uses)


def expression_choice(value: str, kb: KnowledgeBase
                      ) -> tuple[tuple[LicenseUse, ...], list[tuple[LicenseUse, ...]]] | None:
    """A license value that is an SPDX expression: (the uses of the alternative taken by default, every
    alternative's uses). AND binds every part of an alternative; of several alternatives (OR) the
    freest is taken here, and analyze() takes the best one the policy allows."""
    alts = spdx_expr.alternatives(value)
    if not alts:
        return None
    options: list[tuple[LicenseUse, ...]] = []
    for alt in alts:
        parts = []
        for key in alt:
            rec = spdx_expr.resolve(kb, key)
            how = f"part of '{value}'" if len(alts) == 1 else f"alternative '{' AND '.join(alt)}' of '{value}'"
            origin = Origin("card", "cardData.license", "expression", 1.0, how[:MAX_NAME])
            parts.append(_use(rec, origin) if rec is not None else _unresolved(key, origin))
        options.append(tuple(parts))
    ranked = sorted(options, key=lambda o: max(categories.rank(u.category if u.record else "unknown") for u in o))
    return ranked[0], ranked


def _from_name_or_link(name: Any, link: Any, kb: KnowledgeBase) -> LicenseUse | None:
    if isinstance(name, str) and name.strip():
        rec = kb.resolve(name) or spdx_expr.resolve(kb, name)
        if rec is not None and not rec.is_placeholder:
            method = "metadata" if rec.id == name.strip().lower() else "alias"
            return _use(rec, Origin("card-license-name", "cardData.license_name", method, 1.0, name))
    if isinstance(link, str):
        for pattern, lid in knowledge.link_hints(kb):
            if pattern.search(link):
                rec = kb.resolve(lid)
                if rec is not None:
                    return _use(rec, Origin("card-license-link", "cardData.license_link", "metadata", 0.8, link))
    if isinstance(name, str) and name.strip():
        return _unresolved(name.strip(), Origin("card-license-name", "cardData.license_name", "metadata", 1.0, name))
    return None


def _matches_to_uses(matches: Iterable[TextMatch], kb: KnowledgeBase, kind: str, where: str) -> list[LicenseUse]:
    uses = []
    for m in matches:
        rec = kb.get(m.record)
        if rec is not None:
            uses.append(_use(rec, Origin(kind, where, m.method, m.confidence, m.detail)))
    return uses


def _match_dicts(matches: Iterable[TextMatch], kb: KnowledgeBase) -> tuple[dict, ...]:
    """The per-file matches of the report: the record, how it matched, how much of the text and of
    the reference each covers, and for a modified copy the passages it adds."""
    out = []
    for m in matches:
        rec = kb.get(m.record)
        if rec is not None:
            d = {**rec.ref(), "record": rec.key, "kind": rec.kind, "method": m.method,
                 "confidence": m.confidence, "detail": m.detail,
                 "candidate_coverage": m.candidate_coverage, "reference_coverage": m.reference_coverage,
                 "modified": m.modified, "added": list(m.added)}
            if m.reference:
                d["reference"] = m.reference
            if m.markers:
                d["markers"] = list(m.markers)
            out.append(d)
    return tuple(out)


# README headings that open a license section ("## License", "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT",
# "Terms of use", "Acceptable Use Policy").
_LICENSE_HEADING = re.compile(r"licen[cs]e|terms\s+of\s+use|use\s+policy|agreement", re.I)
_HEADING = re.compile(r"^(#{1,6})[ \t]+([^\n]{1,300})$", re.M)   # bounded: README text is a stranger's
# Headings inside a license text (numbered clauses, exhibits) do not end its section.
_CLAUSE_HEADING = re.compile(r"^(?:\**)?(?:\d|[ivx]+\.|section\b|article\b|exhibit\b|attachment\b|appendix\b|"
                             r"schedule\b|annex\b|part\b)", re.I)
README_SECTION_MIN_COVERAGE = 0.8
MODIFIED_CODE = "license-text-modified"


def license_sections(body: str) -> str:
    """The README's license sections, joined: each from a heading that names a license or terms to
    the next heading of its level or above that is not a clause of the license."""
    heads = list(_HEADING.finditer(body))
    parts = []
    i = 0
    while i < len(heads):
        m = heads[i]
        if not _LICENSE_HEADING.search(m.group(2).rstrip(" \t#")):
            i += 1
            continue
        level = len(m.group(1))
        j = i + 1
        while j < len(heads) and (len(heads[j].group(1)) > level
                                   or _CLAUSE_HEADING.match(heads[j].group(2).rstrip(" \t#"))):
            j += 1
        end = heads[j].start() if j < len(heads) else len(body)
        parts.append(body[m.start():end])
        i = j
    return "\n\n".join(parts)


def _readme_matches(body: str, kb: KnowledgeBase) -> tuple[str, list[TextMatch]]:
    """Full license texts in the README's license sections. A section that only names a license, or
    quotes a phrase of one, is a mention: only near or exact matches of most of a reference count."""
    section = license_sections(body)
    if not section.strip():
        return section, []
    found = [m for m in identify_text(section, kb)
             if m.method in ("exact", "near") and (m.reference_coverage or 0) >= README_SECTION_MIN_COVERAGE]
    return section, found


def detected_licenses(ev: Evidence, card: CardView, kb: KnowledgeBase
                      ) -> tuple[tuple[LicenseUse, ...], tuple[FileMatch, ...], tuple[Finding, ...]]:
    uses: list[LicenseUse] = []
    files: list[FileMatch] = []
    findings: list[Finding] = []
    for f in ev.license_files:
        if f.status == "omitted":
            matches = identify_hash(f.normalized_sha256, kb)
        elif f.readable:
            matches = identify_text(f.text or "", kb)
        else:
            findings.extend(_file_gap(f))
            files.append(FileMatch(f.path, f.status, f.size, f.sha256))
            continue
        files.append(FileMatch(f.path, f.status, f.size, f.sha256, _match_dicts(matches, kb)))
        if matches:
            uses.extend(_matches_to_uses(matches, kb, "file", f.path))
            findings.extend(_modified_findings(f.path, matches, kb))
        else:
            findings.append(_unidentified(f))
    readme = ev.file(CARD_FILE)
    if card.body and readme is not None and readme.readable:
        section, matches = _readme_matches(card.body, kb)
        if matches:
            where = f"{CARD_FILE}#license"
            raw = section.encode("utf-8")
            files.append(FileMatch(where, "ok", len(raw), hashlib.sha256(raw).hexdigest(), _match_dicts(matches, kb)))
            uses.extend(_matches_to_uses(matches, kb, "readme", where))
    prompt = card.data.get("extra_gated_prompt") if card.data else None
    withheld = ev.withheld_fields.get("extra_gated_prompt")
    matches = []
    if isinstance(prompt, str) and prompt.strip():
        matches = identify_text(prompt, kb)
    elif withheld is not None:
        matches = identify_hash(withheld.normalized_sha256, kb)
    if matches:
        uses.extend(_matches_to_uses(matches, kb, "gate-prompt", "cardData.extra_gated_prompt"))
        if withheld is not None:
            size, sha = withheld.size, withheld.sha256
        else:
            raw = (prompt or "").encode("utf-8")
            size, sha = len(raw), hashlib.sha256(raw).hexdigest()
        files.append(FileMatch("cardData.extra_gated_prompt", "omitted" if withheld is not None else "ok",
                               size, sha, _match_dicts(matches, kb)))
    return merge_uses(uses), tuple(files), tuple(findings)


def _unidentified(f: FileEvidence) -> Finding:
    notice = f.path.lower().startswith("notice")
    empty = not (f.text or "").strip()
    what = "is empty" if empty else "matches no known license text well enough"
    return Finding(
        "license-file-unidentified",
        f"{f.path} {what}" + (" (a NOTICE file)" if notice else "") + "; read it: its terms may bind",
        severity="low" if notice else "", evidence={"file": f.path, "size": f.size, "sha256": f.sha256},
        effect=None if notice else "review")


def _modified_findings(path: str, matches: Iterable[TextMatch], kb: KnowledgeBase) -> list[Finding]:
    """A license text that is a reference with changes: the changes are terms a person must read.

    Reported once the registry (scanner/findings.py) has the code; until then the file's matches
    carry the same facts (modified, added, coverage)."""
    if MODIFIED_CODE not in RULES:
        return []
    out = []
    for m in matches:
        rec = kb.get(m.record)
        if rec is None or not m.modified or not m.added:
            continue
        out.append(Finding(
            MODIFIED_CODE,
            f"{path} is based on {rec.name}, modified: {len(m.added)} added passage"
            + ("s" if len(m.added) != 1 else "") + f" ({round(100 * (m.reference_coverage or 0))}% of the reference)",
            evidence={"file": path, "license": rec.ref(), "reference": m.reference,
                      "reference_coverage": m.reference_coverage, "candidate_coverage": m.candidate_coverage,
                      "added": list(m.added)},
            effect="review", license=rec.key))
    return out


def reconcile(declared: tuple[LicenseUse, ...], detected: tuple[LicenseUse, ...], kb: KnowledgeBase,
              repo: str) -> tuple[tuple[LicenseUse, ...], tuple[Finding, ...]]:
    """The licenses that bind the repo's own weights, before lineage.

    The repo's own license texts outrank its label: a declared license the texts
    contradict stays in `declared` only, with a license-mismatch finding.
    """
    findings: list[Finding] = []
    detected_licenses_ = [u for u in detected if u.kind != "use-policy"]
    if detected_licenses_:
        own = list(detected_licenses_)
        detected_ids = {u.id for u in detected_licenses_}
        for d in declared:
            if d.id in detected_ids or d.kind in ("placeholder", "family"):
                continue
            findings.append(Finding(
                "license-mismatch",
                f"{repo}: the card declares {d.name} but its license text is "
                + ", ".join(u.name for u in detected_licenses_),
                evidence={"declared": {**d.ref(), "where": [o.where for o in d.origins]},
                          "detected": [{**u.ref(), "where": [o.where for o in u.origins]} for u in detected_licenses_]},
                effect=None, license=d.record))
        if not declared:
            findings.append(Finding(
                "card-no-license",
                f"{repo}: the card declares no license; identified "
                + ", ".join(u.name for u in detected_licenses_) + " from "
                + ", ".join(sorted({o.where for u in detected_licenses_ for o in u.origins})),
                severity="info"))
    else:
        own = [u for u in declared]
        if not declared:
            findings.append(Finding("card-no-license", f"{repo}: no license declared or identified"))
    if any(o.kind == "gate-prompt" for u in detected for o in u.origins):
        names = ", ".join(u.name for u in detected if any(o.kind == "gate-prompt" for o in u.origins))
        findings.append(Finding("license-from-gate-prompt", f"{repo}: the access-gate prompt holds {names}"))
    # A license brings the use policy it incorporates; a detected AUP binds in its own right.
    for u in list(own) + [u for u in detected if u.kind == "use-policy"]:
        rec = kb.get(u.record) if u.record else None
        aup = kb.use_policy_of(rec) if rec else None
        if aup is not None:
            own.append(LicenseUse(aup.key, aup.id, aup.version, aup.name, aup.kind, aup.category,
                                  (Origin("license", u.id, "incorporated", 1.0, f"use policy of {u.name}"),)))
        if u.kind == "use-policy":
            own.append(u)
    return merge_uses(own), tuple(findings)


@dataclass(frozen=True)
class Identification:
    """What identify() found for one repo: its card, its own licenses (declared, detected and
    reconciled), the license files matched, and the findings on the way."""

    card: CardView
    licenses: Licenses
    files: tuple[FileMatch, ...]
    findings: tuple[Finding, ...]


def identify(ev: Evidence, kb: KnowledgeBase) -> Identification:
    card = read_card(ev)
    declared = declared_licenses(card.data, ev.tags, kb)
    detected, files, file_findings = detected_licenses(ev, card, kb)
    own, rec_findings = reconcile(declared, detected, kb, ev.display_name)
    own, text_findings = _text_licenses(card, own, kb, ev.display_name, _backed(declared, detected))
    return Identification(card, Licenses(declared, detected, own), files,
                          card.findings + file_findings + rec_findings + text_findings)


def _backed(declared: tuple[LicenseUse, ...], detected: tuple[LicenseUse, ...]) -> tuple[LicenseUse, ...]:
    """The declared licenses the repository's own license file confirms: the card's metadata names
    them and a license file's text is theirs (an exact or near-exact match)."""
    confirmed = {u.record for u in detected if u.record and u.kind != "use-policy"
                 and any(o.kind == "file" and o.confidence >= 0.9 for o in u.origins)}
    return tuple(u for u in declared if u.record and u.record in confirmed)


def _text_licenses(card: CardView, own: tuple[LicenseUse, ...], kb: KnowledgeBase, repo: str,
                   backed: tuple[LicenseUse, ...] = ()) -> tuple[tuple[LicenseUse, ...], tuple[Finding, ...]]:
    """Licenses the card's text names (a License line or section, words in prose): inferred, they add
    their terms to the repo's own; a `license: other` placeholder gives way to the license they name.

    One exception, read as a careful reader does: a license merely mentioned in prose (no words
    around it claim it applies) that contradicts a declared license `backed` by the repository's own
    license text is reported (license-mentioned) and does not bind."""
    if not card.body:
        return own, ()
    found = text_licenses(card.body, license_sections(card.body), kb)
    if not found:
        return own, ()
    known = {u.record or "?" + u.id.lower() for u in own}
    added: list[LicenseUse] = []
    findings: list[Finding] = []
    backed_keys = {u.record for u in backed}
    for t in found:
        if backed and not t.asserted and t.where == "README.md (text)" and \
                (t.record is None or t.record.key not in backed_keys):
            names = ", ".join(u.name for u in backed)
            findings.append(Finding(
                "license-mentioned",
                f"{repo}: the card's text mentions {t.record.name if t.record else t.name} ('{t.quote}') without "
                f"saying it applies; the card declares {names} and the repository's license file is its text, "
                "so the mention is not counted: correct the card if it is stale",
                evidence={"license": t.record.ref() if t.record else {"id": t.name}, "where": t.where,
                          "quote": t.quote, "declared": [u.ref() for u in backed]},
                effect=None, license=t.record.key if t.record else None))
            continue
        origin = Origin("card-text", t.where, "inferred", 0.6, t.quote)
        use = _use(t.record, origin) if t.record is not None else _unresolved(t.name, origin)
        added.append(use)
        aup = kb.use_policy_of(t.record) if t.record is not None else None
        if aup is not None and t.record is not None:
            added.append(_use(aup, replace(origin, detail=f"use policy of {t.record.name}")))
        if (use.record or "?" + use.id.lower()) in known:
            continue
        findings.append(Finding(
            "license-inferred",
            f"{repo}: the card's text names {use.name} ({t.where}: '{t.quote}')"
            + ("" if use.record else "; the knowledge base holds no record of it"),
            evidence={"license": use.ref(), "where": t.where, "quote": t.quote}, effect="review",
            license=use.record))
    resolved = bool(added)     # a name, even one the knowledge base lacks, says more than `license: other`
    kept = tuple(u for u in own if not (resolved and u.kind == "placeholder" and u.id in ("other", "unknown")))
    return merge_uses(kept + tuple(added)), tuple(findings)
