"""Identify license records from a license text (or only its normalised hash).

Three methods, strongest first:
- exact: the sha256 of the normalised text (or of one of the texts a file holds)
  equals that of a known reference text;
- near: the text's word 5-gram fingerprints against those of every reference text.
  A greedy cover picks the reference that explains most of the text, then the next
  one for what is left (a license with its use policy appended yields both), and
  reports how much of the text and of the reference each covers, plus the passages
  the text adds inside the reference (a modified copy);
- marker: short discriminating phrases from the knowledge base records, for the
  licenses whose text is not among the references (Mistral's MRL in a gate prompt).

Markers also decide the version when references of one family are about equally
similar (Llama 3.1 / 3.2 / 3.3 / 4, Gemma 2024 / 2025): shared boilerplate never does.

Only derived data ships (scanner/data/reference.json, built by
scripts/build_reference.py): hashes of normalised texts and 32-bit hashes of their
word 5-grams. The identifier is pure; the data loads once, lazily.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import zlib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, groupby, repeat
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.kb import KnowledgeBase, PACKAGE_DIR
from scanner.textnorm import normalize

REFERENCE_FILE = PACKAGE_DIR / "data" / "reference.json"

SHINGLE_WORDS = 5
MAX_TEXT_CHARS = 2_000_000      # longer inputs are cut: no license text is this long
MIN_REFERENCE_COVERAGE = 0.6    # a near match explains at least this much of a reference...
MIN_SHINGLES = 12               # ...and at least this many of its 5-grams
CLOSE = 0.85                    # references this close to the best one compete on markers
MAX_MATCHES = 6
MAX_PASSAGES = 12
MAX_PASSAGE_WORDS = 60

_WORD = re.compile(r"[a-z0-9$]+(?:[.'/@&:-][a-z0-9$]+)*")


@dataclass(frozen=True)
class TextMatch:
    """A license text identified as a record: how, and how sure."""
    record: str                  # record key
    method: str                  # exact | near | marker
    confidence: float            # 0..1
    detail: str = ""             # which reference / which markers, in words
    markers: tuple[str, ...] = field(default=())      # discriminating markers found
    reference: str | None = None                      # label of the reference text compared with
    candidate_coverage: float | None = None           # share of the text's 5-grams the reference explains
    reference_coverage: float | None = None           # share of the reference's 5-grams found in the text
    modified: bool = False                            # based on the reference, with changes
    added: tuple[str, ...] = field(default=())        # passages the text adds to the reference (normalised)


# ---------------------------------------------------------------------------------------------
# fingerprints (shared with scripts/build_reference.py)

# List numbering ("1.", "(b)", "iv)") stays in a text where it is inline and goes where it starts a
# line (textnorm strips it there), so a re-wrapped copy differs from its original in exactly these:
# fingerprints skip them everywhere. A bare number stays ("llama 2 community license").
def _enumerators() -> frozenset[str]:
    """ "1." "12)" "(b)" "iv." ... as whitespace-separated tokens: 1-2 digits, a letter or a roman numeral."""
    from itertools import product

    stems = [str(n) for n in range(100)] + [f"{n:02d}" for n in range(10)] + list("abcdefghijklmnopqrstuvwxyz")
    stems += ["".join(p) for n in range(1, 6) for p in product("ivx", repeat=n)]
    return frozenset(f for s in stems for f in (f"{s}.", f"{s})", f"({s})"))


_ENUMERATORS = _enumerators()
_SCHEMES = frozenset(("http", "https"))


def words(normalized: str) -> list[str]:
    """The words of a normalised text as fingerprints see them: no punctuation, no list numbering,
    and in a text with links no URL scheme or www. and a word repeated right after itself counted
    once (a markdown link whose text is its URL)."""
    tokens = _WORD.findall(" ".join([t for t in normalized.split() if t not in _ENUMERATORS]))
    if "http" in normalized or "www." in normalized:
        tokens = [w for w, _ in groupby(w[4:] if w.startswith("www.") else w for w in tokens if w not in _SCHEMES)]
    return tokens


def shingles(tokens: Sequence[str], k: int = SHINGLE_WORDS) -> list[int]:
    """32-bit hashes (crc32) of the text's word k-grams, in text order."""
    if len(tokens) < k:
        return []
    grams = map(" ".join, zip(*(tokens[i:] for i in range(k)), strict=False))   # shifted: lengths differ
    return list(map(zlib.crc32, map(str.encode, grams)))


def pack(hashes: Iterable[int]) -> str:
    """Sorted unique hashes as base64 of a little-endian uint32 array."""
    arr = array("I", sorted(set(hashes)))
    if arr.itemsize != 4:  # pragma: no cover - every supported platform has a 4-byte unsigned int
        raise RuntimeError("array('I') is not 32-bit here")
    return base64.b64encode(arr.tobytes() if _LITTLE else _swapped(arr)).decode("ascii")


def pack16(values: Iterable[int]) -> str:
    """Small integers, in order, as base64 of a little-endian uint16 array."""
    arr = array("H", values)
    if not _LITTLE:  # pragma: no cover
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode("ascii")


def unpack(data: str) -> array:
    arr = array("I")
    arr.frombytes(base64.b64decode(data))
    if not _LITTLE:  # pragma: no cover
        arr.byteswap()
    return arr


_LITTLE = array("I", [1]).tobytes()[0] == 1


def _swapped(arr: array) -> bytes:  # pragma: no cover
    copy = array("I", arr)
    copy.byteswap()
    return copy.tobytes()


# ---------------------------------------------------------------------------------------------
# reference data

@functools.lru_cache(maxsize=2)
def load_reference(path: str = str(REFERENCE_FILE)) -> Mapping[str, Any]:
    p = Path(path)
    if not p.is_file():
        return {"version": 0, "texts": []}
    return json.loads(p.read_text(encoding="utf-8"))


@dataclass(frozen=True, eq=False)
class _Segment:
    """One reference text of the index (a file, or one of the texts it holds)."""
    label: str                   # reference file label, plus "#n" for the n-th text it holds
    record: str
    size: int                    # unique 5-grams


@dataclass(frozen=True, eq=False)
class _Index:
    """The reference texts' hashes and 5-gram postings, built once per knowledge base."""
    hashes: Mapping[str, tuple[tuple[str, str, float], ...]]   # normalised sha256 -> (record, label, share)
    segments: tuple[_Segment, ...]
    postings: Mapping[int, tuple[int, ...]]      # 5-gram hash -> indices of the segments holding it


@functools.lru_cache(maxsize=4)
def _index(ref_key: str) -> _Index:
    ref = load_reference(ref_key)
    hashes: dict[str, tuple[tuple[str, str, float], ...]] = {}
    segments: list[_Segment] = []
    for entry in ref.get("texts", []):
        parts = entry.get("segments") or [{"record": k, "label": entry["label"], "words": 1} for k in entry["records"]]
        total = sum(p.get("words", 0) for p in parts) or 1
        hashes[entry["normalized_sha256"]] = tuple(
            (p["record"], p.get("label") or entry["label"], round(p.get("words", 0) / total, 4)) for p in parts)
        for seg in entry.get("segments", ()):
            if seg.get("normalized_sha256"):
                hashes.setdefault(seg["normalized_sha256"], ((seg["record"], seg["label"], 1.0),))
            if seg.get("index") is not None:
                if seg["index"] != len(segments):
                    raise ValueError(f"{ref_key}: segment {seg['label']} out of order; rebuild the reference data")
                segments.append(_Segment(seg["label"], seg["record"], seg["shingles"]))
    postings: dict[int, tuple[int, ...]] = {}
    idx = ref.get("index")
    if isinstance(idx, Mapping) and segments:
        # Built as one table: every 5-gram hash, and for each the id of its list of segments.
        # dict(zip(...)) keeps loading near 20 ms for ~50k hashes.
        grams = unpack(idx["hashes"])
        lists = array("H")
        lists.frombytes(base64.b64decode(idx["lists"]))
        if not _LITTLE:  # pragma: no cover
            lists.byteswap()
        table = [tuple(map(int, x.split(","))) for x in idx["postings"].split(";")]
        postings = dict(zip(grams, map(table.__getitem__, lists), strict=False))
    return _Index(hashes, tuple(segments), postings)


def warm(reference: str = str(REFERENCE_FILE)) -> None:
    """Load and index the reference data now (the first identification would otherwise)."""
    _index(reference)


# ---------------------------------------------------------------------------------------------
# knowledge-base markers

@dataclass(frozen=True)
class _MarkerRecord:
    """A record identified by marker phrases, and the group whose versions compete."""
    key: str
    group: tuple[str, bool]      # (family, is a use policy): versions compete within a group
    markers: tuple[str, ...]


@functools.lru_cache(maxsize=4)
def _marker_index(kb: KnowledgeBase) -> dict[tuple[str, bool], tuple[_MarkerRecord, ...]]:
    """Records with markers, by group."""
    out: dict[tuple[str, bool], list[_MarkerRecord]] = {}
    for rec in kb:
        if rec.markers and not rec.is_placeholder:
            g = _group_of(rec)
            out.setdefault(g, []).append(
                _MarkerRecord(rec.key, g, tuple(m for m in (normalize(x) for x in rec.markers) if m)))
    return {g: tuple(v) for g, v in out.items()}


def _group_of(rec) -> tuple[str, bool]:
    return (rec.family or rec.id, rec.kind == "use-policy")


class _Markers:
    """The markers a text holds, looked up per group on demand (a substring search each)."""

    def __init__(self, norm: str, kb: KnowledgeBase):
        self.norm = norm
        self.index = _marker_index(kb)
        self.found: dict[str, tuple[str, ...]] = {}
        self.done: set[tuple[str, bool]] = set()

    def group(self, g: tuple[str, bool]) -> dict[str, int]:
        """record key -> markers found, for every record of the group that has markers."""
        if g not in self.done:
            self.done.add(g)
            for mr in self.index.get(g, ()):
                hit = tuple(m for m in mr.markers if m in self.norm)
                if hit:
                    self.found[mr.key] = hit
        return {mr.key: len(self.found.get(mr.key, ())) for mr in self.index.get(g, ())}

    def of(self, rec) -> tuple[str, ...]:
        self.group(_group_of(rec))
        return self.found.get(rec.key, ())

    def all(self) -> dict[str, tuple[str, ...]]:
        for g in self.index:
            self.group(g)
        return self.found


# Words of the legal register: a text must use several before markers alone identify it,
# so that prose or a README that names a license is never taken for the license.
_LEGAL = frozenset("""
shall hereby herein thereof therein hereunder thereunder whereas pursuant notwithstanding licensee
licensor licensees sublicense sublicensable indemnify indemnification warranty warranties liability
liable irrevocable non-exclusive royalty-free perpetual terminate termination jurisdiction
redistribution redistribute infringement agreement
""".split())


# ---------------------------------------------------------------------------------------------
# identification

def identify_hash(normalized_sha256: str | None, kb: KnowledgeBase,
                  reference: str = str(REFERENCE_FILE)) -> list[TextMatch]:
    """Exact matches from a normalised-text hash alone (snapshots that withhold the text)."""
    if not normalized_sha256:
        return []
    parts = _index(reference).hashes.get(normalized_sha256, ())
    return [TextMatch(k, "exact", 1.0, f"normalised text equals {label}" if len(parts) == 1
                      else f"normalised text equals {label.split('#')[0]}, which holds this text and "
                           + ", ".join(r for r, _, _ in parts if r != k),
                      reference=label, candidate_coverage=share, reference_coverage=1.0)
            for k, label, share in parts if kb.get(k)]


def identify_text(text: str, kb: KnowledgeBase, reference: str = str(REFERENCE_FILE),
                  normalized: str | None = None) -> list[TextMatch]:
    """Every license record the text holds, in the order of the text; [] when none fits well enough."""
    if normalized is None:
        normalized = normalize(text[:MAX_TEXT_CHARS])
    norm = normalized[:MAX_TEXT_CHARS]
    if not norm:
        return []
    exact = identify_hash(hashlib.sha256(norm.encode("utf-8")).hexdigest(), kb, reference)
    if exact:
        return exact
    tokens = words(norm)
    markers = _Markers(norm, kb)
    near = _near(tokens, markers, kb, _index(reference))
    if near:
        return near
    return _by_markers(tokens, norm, markers, kb, _index(reference))


@dataclass
class _Pick:
    """A segment chosen for a text, with the 5-grams it explains."""
    seg: int
    record: str
    matched: int
    note: str = ""


def _near(tokens: list[str], markers: _Markers, kb: KnowledgeBase, index: _Index) -> list[TextMatch]:
    grams = shingles(tokens)
    if not grams or not index.segments:
        return []
    postings = index.postings
    segs = index.segments
    cand = set(grams)
    counts = Counter(chain.from_iterable(map(postings.get, cand, repeat(()))))

    def enough(i: int, c: int) -> bool:
        return c >= MIN_SHINGLES and c >= MIN_REFERENCE_COVERAGE * segs[i].size

    pool = [i for i, c in counts.items() if enough(i, c) and kb.get(segs[i].record)]
    if not pool:
        return []
    lists = list(map(postings.get, grams, repeat(())))
    picks: list[_Pick] = []
    remaining = cand
    while pool and len(picks) < MAX_MATCHES:
        if picks:   # count again on what the references picked so far leave unexplained
            counts = Counter(chain.from_iterable(map(postings.get, remaining, repeat(()))))
        matched = {i: counts.get(i, 0) for i in pool}
        pool = [i for i in pool if enough(i, matched[i])]
        if not pool:
            break

        # The reference that explains most of the text, penalised a little for what of it is missing
        # (so BSD-2 beats BSD-3 on a BSD-2 text); ties go to the fuller coverage.
        def score(i: int) -> float:     # used in this iteration only
            return matched[i] - 0.1 * (segs[i].size - matched[i])  # noqa: B023
        best = max(pool, key=lambda i: (score(i), matched[i] / segs[i].size, -i))
        pick = _resolve_version(best, pool, score, markers, kb, index)
        pick.matched = matched[pick.seg]
        picks.append(pick)
        pool = [i for i in pool if i != best and i != pick.seg]
        if pool:
            seg = pick.seg
            remaining = remaining.difference([h for h, lst in zip(grams, lists, strict=False) if seg in lst])
    order = sorted(picks, key=lambda p: next(j for j, lst in enumerate(lists) if p.seg in lst))
    return [_describe(p, tokens, lists, order, markers, kb, index) for p in order]


def _resolve_version(best: int, pool: list[int], score, markers: _Markers, kb: KnowledgeBase,
                     index: _Index) -> _Pick:
    """Within the best reference's family, markers decide between versions that are about as similar."""
    segs = index.segments
    best_rec = kb.records[segs[best].record]
    group = _group_of(best_rec)
    best_score = score(best)
    close: dict[str, int] = {}         # record -> its most similar close segment
    for i in pool:
        rec = kb.records[segs[i].record]
        if _group_of(rec) != group or score(i) < CLOSE * best_score:
            continue
        if rec.key not in close or score(i) > score(close[rec.key]):
            close[rec.key] = i
    counts = markers.group(group)
    with_reference = {s.record for s in segs}
    # Contenders: the close references' records, and the records no reference text stands for
    # (Gemma 2026, Qwen Research 2024), which only their markers can name.
    contenders = {k: n for k, n in counts.items() if k in close or k not in with_reference}
    top = max(contenders.values(), default=0)
    winners = [k for k, n in contenders.items() if n == top]
    best_count = counts.get(best_rec.key, 0)
    if top > best_count and len(winners) == 1:
        chosen = winners[0]
        seg = close.get(chosen, best)
        how = f"version from its markers ({top} of {len(kb.records[chosen].markers)})"
        return _Pick(seg, chosen, 0, how if seg != best else f"{how}; text closest to {segs[best].label}")
    others = [k for k in close if k != best_rec.key and score(close[k]) >= 0.98 * best_score
              and counts.get(k, 0) == best_count]
    note = "version uncertain: as close to " + ", ".join(sorted(others)) if others else ""
    return _Pick(best, best_rec.key, 0, note)


def _describe(pick: _Pick, tokens: list[str], lists: list[tuple[int, ...]], picks: list[_Pick],
              markers: _Markers, kb: KnowledgeBase, index: _Index) -> TextMatch:
    seg = index.segments[pick.seg]
    n = len(lists)
    own = pick.seg
    hit = [own in lst for lst in lists]
    span = hit
    if len(picks) > 1:
        mine = {p.seg for p in picks}
        explained = [not mine.isdisjoint(lst) for lst in lists]
        # The reference's span is where only it explains the text: 5-grams a license shares
        # with the use policy appended to it do not stretch the license over the policy.
        others = mine - {own}
        exclusive = [h and others.isdisjoint(lst) for h, lst in zip(hit, lists, strict=False)]
        if any(exclusive):
            span = exclusive
    else:
        explained = hit
    first = span.index(True)
    last = n - 1 - span[::-1].index(True)
    # Runs of 5-grams no picked reference explains. Inside this reference's span each is an edit
    # (a word inserted, changed or deleted); words no explained 5-gram contains were added.
    passages: list[str] = []
    edits = 0
    j = 0
    for ok, run in groupby(explained):
        length = len(list(run))
        a, b = j, j + length - 1
        j += length
        if ok:
            continue
        inside = first < a and b < last
        trailing = b == n - 1 and a > 0 and pick is picks[-1]
        if not (inside or trailing):
            continue
        edits += inside
        lo = a + SHINGLE_WORDS - 1
        hi = b if inside else len(tokens) - 1
        if hi >= lo:
            passages.append(" ".join(tokens[lo:hi + 1]))
    cand_cov = sum(hit) / n
    ref_cov = min(1.0, pick.matched / seg.size)
    added_words = sum(len(p.split()) for p in passages)
    modified = edits > 0 or added_words > 0 or ref_cov < 0.98
    span_words = last - first + SHINGLE_WORDS
    conf = 0.5 + 0.45 * ref_cov * max(0.0, 1 - added_words / span_words)
    if pick.note.startswith("version uncertain"):
        conf = min(conf, 0.6)
    rec = kb.records[pick.record]
    detail = [f"{'based on' if modified else 'matches'} {seg.label}: "
              f"{round(100 * ref_cov)}% of the reference, {round(100 * cand_cov)}% of the text"]
    if modified:
        what = [f"{edits} change{'s' if edits != 1 else ''}"] if edits else []
        if added_words:
            what.append(f"{added_words} word{'s' if added_words != 1 else ''} added")
        if ref_cov < 0.98:
            what.append(f"{round(100 * (1 - ref_cov))}% of the reference missing")
        detail.append("modified (" + ", ".join(what) + ")")
    if pick.note:
        detail.append(pick.note)
    return TextMatch(rec.key, "near", round(min(conf, 0.99), 2), "; ".join(detail), markers.of(rec),
                     seg.label, round(cand_cov, 4), round(ref_cov, 4), modified,
                     tuple(_clip(p) for p in dict.fromkeys(passages))[:MAX_PASSAGES])


def _clip(passage: str) -> str:
    ws = passage.split()
    return passage if len(ws) <= MAX_PASSAGE_WORDS else " ".join(ws[:MAX_PASSAGE_WORDS]) + " ..."


def _by_markers(tokens: list[str], norm: str, markers: _Markers, kb: KnowledgeBase,
                index: _Index) -> list[TextMatch]:
    """Licenses without a reference text, from their markers, only in text written like a license."""
    if len(tokens) < 80 or len(_LEGAL.intersection(tokens)) < 5:
        return []
    with_reference = {s.record for s in index.segments}
    found = markers.all()
    head = norm[:400]
    hits = []
    for key, ms in found.items():
        rec = kb.records[key]
        if len(ms) >= 2 or (len(rec.markers) == 1 and ms[0] in head):
            hits.append((rec, ms))
    # Within one family, keep only the best-supported records: a stray shared phrase must not add a
    # second version next to the one the text really is.
    best: dict[tuple[str, bool], int] = {}
    for rec, ms in hits:
        best[_group_of(rec)] = max(best.get(_group_of(rec), 0), len(ms))
    out = []
    for rec, ms in hits:
        if len(ms) < best[_group_of(rec)]:
            continue
        conf = min(0.9, 0.55 + 0.1 * len(ms)) if len(rec.markers) > 1 else 0.65
        why = "not close to its reference text" if rec.key in with_reference else "no reference text to compare"
        out.append(TextMatch(rec.key, "marker", round(conf, 2),
                             f"{len(ms)} of {len(rec.markers)} marker phrases; {why}", ms))
    return sorted(out, key=lambda m: -m.confidence)
