"""A license named without its version: the versions it could be, held to the strictest.

A card label such as `tencent-hunyuan-community` or `gemma` names a license whose id covers
several texts. The knowledge base resolves the bare name to one record (its default version),
but the model may be under any of them. Pure: the effective licenses -> the same plus the other
candidate versions, and a finding naming them. A version whose primary text is not in the
reference corpus is a candidate only when the repository points to it (its license text or a
link identified it, or the repository is dated on or after a version named by its date);
otherwise the finding only mentions it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from scanner.findings import Finding
from scanner.kb import KnowledgeBase, LicenseRecord
from scanner.result import LicenseUse

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Origins that name a license without pointing to a text: a label, a tag, a license name.
_LABEL_METHODS = ("metadata", "alias")


def _label(rec: LicenseRecord) -> str:
    return f"{rec.id}@{rec.version}" if rec.version else rec.id


def _names_no_version(use: LicenseUse, rec: LicenseRecord, kb: KnowledgeBase) -> bool:
    if not use.origins or any(o.method not in _LABEL_METHODS or o.kind == "card-license-link"
                              for o in use.origins):
        return False
    if kb.resolve(rec.id) is not rec:          # the name chose a version other than the default
        return False
    return len([r for r in kb.versions(rec.id) if not r.is_placeholder]) > 1


def _dated_on_or_before(version: str | None, date: str | None) -> bool:
    """A version named by its date (2026-04-01) that a repository dated on or after it may be under."""
    return bool(version and date and _DATE.match(version) and _DATE.match(date[:10]) and date[:10] >= version)


def expand_versions(effective: tuple[LicenseUse, ...], kb: KnowledgeBase, modalities: Iterable[str] = (),
                    date: str | None = None) -> tuple[tuple[LicenseUse, ...], tuple[Finding, ...]]:
    """`modalities`: those the model handles; a version that covers other modalities only (a 3D
    license for a video model) is not one the model could be under. `date`: when the repository
    was last changed (ISO); a dated version without a primary text here is a candidate when the
    repository is as recent as it (the card's date points to it)."""
    mods = set(modalities)
    out = list(effective)
    findings: list[Finding] = []
    present = {u.record for u in effective}
    for use in effective:
        rec = kb.get(use.record) if use.record else None
        if rec is None or not _names_no_version(use, rec, kb):
            continue
        others = [r for r in kb.versions(rec.id) if r.key != rec.key and not r.is_placeholder
                  and (not r.covers_modalities or mods & set(r.covers_modalities))]
        candidates = [r for r in others if r.primary_text is not None or _dated_on_or_before(r.version, date)]
        mentioned = [r for r in others if r not in candidates]
        for cand in candidates:
            policy = kb.use_policy_of(cand)
            for r in (cand, policy):
                if r is not None and r.key not in present:
                    present.add(r.key)
                    out.append(replace(use, record=r.key, id=r.id, version=r.version, name=r.name,
                                       kind=r.kind, category=r.category))
        names = ", ".join(_label(r) for r in [rec, *candidates])
        message = (f"the card names {rec.name} without its version; "
                   + (f"it could be under {names} and is held to the strictest of them"
                      if candidates else f"it is read as {_label(rec)}"))
        if mentioned:
            listed = ", ".join(_label(r) for r in mentioned)
            message += (f"; {listed} {'is' if len(mentioned) == 1 else 'are'} not held against it: no primary text "
                        "of that version was checked here, and the repository does not point to it")
        findings.append(Finding("license-version-unspecified", message, evidence={
            "license": rec.ref(), "candidates": [r.ref() for r in [rec, *candidates]],
            "not_candidates": [r.ref() for r in mentioned],
            "where": [o.where for o in use.origins]}, license=rec.key))
    return tuple(out), tuple(findings)
