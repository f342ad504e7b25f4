"""Licenses a card names in its text: a `License:` line, a License section, or words in prose
("Meta's non-commercial research license"). A name the knowledge base does not hold is kept as
that name (reported as such) instead of being lost."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from scanner import spdx_expr
from scanner.infer import MAX_BODY, quote
from scanner.kb import KnowledgeBase, LicenseRecord
from scanner.knowledge import phrases

MAX_SECTION = 6_000
MAX_FOUND = 6
_KEYWORD = re.compile(r"licen[cs]e|terms", re.I)
_STOP = re.compile(r"[.!?](?:\s|$)|\n")
MAX_SENTENCES = 200


def _sentences(text: str):
    """The sentences around each license keyword (at most MAX_SENTENCES, each within 400 characters
    either side): found from the keyword outwards, so the work is linear in the text."""
    last_end = -1
    for n, m in enumerate(_KEYWORD.finditer(text)):
        if n >= MAX_SENTENCES:
            break
        if m.start() < last_end:
            continue
        lo = max(0, m.start() - 400)
        stops = list(_STOP.finditer(text, lo, m.start()))
        start = stops[-1].end() if stops else lo
        stop = _STOP.search(text, m.end(), min(len(text), m.end() + 400))
        end = stop.start() + 1 if stop else min(len(text), m.end() + 400)
        last_end = end
        yield text[start:end]


@dataclass(frozen=True)
class TextLicense:
    """A license the card's prose names (a License line or section), with its quote."""
    record: LicenseRecord | None
    name: str             # the record's id, or the name as the card writes it
    where: str            # README.md (License line | License section | text)
    quote: str
    asserted: bool = True  # False: named in prose with no words that claim it applies (a bare mention)


@functools.lru_cache(maxsize=1)
def _names() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(e["pattern"], re.I), e["license"]) for e in phrases().get("license_names") or ())


@functools.lru_cache(maxsize=1)
def _line() -> re.Pattern[str]:
    return re.compile(phrases()["license_line"], re.I | re.M)


@functools.lru_cache(maxsize=1)
def _claim() -> re.Pattern[str]:
    return re.compile(phrases()["license_claim"], re.I)


@functools.lru_cache(maxsize=1)
def _unknown() -> re.Pattern[str]:
    return re.compile(phrases()["unknown_license_name"])


def _named_in(text: str, kb: KnowledgeBase) -> list[tuple[LicenseRecord, int, int]]:
    out: list[tuple[LicenseRecord, int, int]] = []
    for pat, lid in _names():
        m = pat.search(text)
        rec = kb.resolve(lid) if m else None
        if m and rec is not None and all(r.key != rec.key for r, _, _ in out):
            out.append((rec, m.start(), m.end()))
    return out


def _value(value: str, kb: KnowledgeBase) -> list[LicenseRecord] | None:
    """A `License:` value: an id, an alias, an SPDX expression (every part), or None."""
    v = value.strip().strip("*_`'\" .").strip()
    alts = spdx_expr.alternatives(v)
    if alts:
        recs = [spdx_expr.resolve(kb, k) for alt in alts for k in alt]
        return [r for r in recs if r is not None] or None
    rec = spdx_expr.resolve(kb, v)
    return [rec] if rec is not None else None


def text_licenses(body: str, section: str, kb: KnowledgeBase) -> list[TextLicense]:
    text = body[:MAX_BODY]
    out: list[TextLicense] = []

    def add(rec: LicenseRecord | None, name: str, where: str, q: str, asserted: bool = True) -> None:
        key = rec.key if rec else "?" + name.lower()
        if len(out) < MAX_FOUND and all((o.record.key if o.record else "?" + o.name.lower()) != key for o in out):
            out.append(TextLicense(rec, rec.id if rec else name, where, q, asserted))

    for m in _line().finditer(text):
        value = m.group(1)
        q = quote(text, m.start(), m.end(), pad=0)
        recs = _value(value, kb)
        if recs:
            for rec in recs:
                if not rec.is_placeholder:
                    add(rec, rec.id, "README.md (License line)", q)
            continue
        named = _named_in(value, kb)
        for rec, _, _ in named:
            add(rec, rec.id, "README.md (License line)", q)
        if not named:
            u = _unknown().search(value)
            if u:
                add(None, " ".join(u.group(1).split()), "README.md (License line)", q)
    sec = section[:MAX_SECTION]
    if sec.strip():
        named = _named_in(sec, kb)
        for rec, s, e in named:
            add(rec, rec.id, "README.md (License section)", quote(sec, s, e))
        if not named and not out:
            for rec in kb:
                if len(rec.name) >= 10 and not rec.is_placeholder and rec.name.lower() in sec.lower():
                    i = sec.lower().index(rec.name.lower())
                    add(rec, rec.id, "README.md (License section)", quote(sec, i, i + len(rec.name)))
                    break
            else:
                u = _unknown().search(sec)
                if u and not _names_placeholder(u.group(1)):
                    add(None, " ".join(u.group(1).split()), "README.md (License section)",
                        quote(sec, u.start(), u.end()))
    for sentence in _sentences(text):
        for rec, s, e in _named_in(sentence, kb):
            add(rec, rec.id, "README.md (text)", quote(sentence, s, e),
                bool(_claim().search(sentence[:s] + " " + sentence[e:])))
        if len(out) >= MAX_FOUND:
            break
    return out


def _names_placeholder(name: str) -> bool:
    """"The License", "This License", "Original License" name no license."""
    words = [w.lower() for w in name.split()]
    return len(words) < 2 or all(w in {"the", "this", "our", "its", "original", "base", "model", "license",
                                       "licence", "agreement", "same", "a", "an", "see", "full", "community"}
                                 for w in words)
