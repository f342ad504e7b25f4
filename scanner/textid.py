"""Identify license records from a license text (or only its normalised hash).

Two methods, strongest first:
- exact: the sha256 of the normalised text equals that of a known reference text
  (built from ../shared/corpus/license-texts by scripts/build_reference.py; only the
  hashes ship);
- marker: short discriminating phrases from the knowledge base records (Llama 3's
  "Built with Meta Llama 3", Gemma's policy URL, ...). Shared boilerplate is not a
  marker, so it never decides between versions.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from scanner.kb import KnowledgeBase, PACKAGE_DIR
from scanner.textnorm import normalize

REFERENCE_FILE = PACKAGE_DIR / "data" / "reference.json"


@dataclass(frozen=True)
class TextMatch:
    record: str                  # record key
    method: str                  # exact | marker
    confidence: float            # 0..1
    detail: str = ""             # which reference / which markers
    markers: tuple[str, ...] = field(default=())


@functools.lru_cache(maxsize=2)
def load_reference(path: str = str(REFERENCE_FILE)) -> Mapping[str, object]:
    p = Path(path)
    if not p.is_file():
        return {"version": 0, "texts": []}
    return json.loads(p.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=4)
def _hash_index(ref_key: str) -> dict[str, tuple[str, ...]]:
    ref = load_reference(ref_key)
    index: dict[str, tuple[str, ...]] = {}
    for entry in ref.get("texts", []):  # type: ignore[union-attr]
        index[entry["normalized_sha256"]] = tuple(entry["records"])
    return index


@functools.lru_cache(maxsize=4)
def _marker_index(kb: KnowledgeBase) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(record key, family, normalised markers) for every record that has markers."""
    out = []
    for rec in kb:
        if rec.markers:
            out.append((rec.key, rec.family or rec.id, tuple(normalize(m) for m in rec.markers)))
    return tuple(out)


def identify_hash(normalized_sha256: str | None, kb: KnowledgeBase,
                  reference: str = str(REFERENCE_FILE)) -> list[TextMatch]:
    if not normalized_sha256:
        return []
    keys = _hash_index(reference).get(normalized_sha256, ())
    return [TextMatch(k, "exact", 1.0, "normalised text equals the reference text") for k in keys if kb.get(k)]


def identify_text(text: str, kb: KnowledgeBase, reference: str = str(REFERENCE_FILE),
                  normalized: str | None = None) -> list[TextMatch]:
    norm = normalized if normalized is not None else normalize(text)
    import hashlib

    exact = identify_hash(hashlib.sha256(norm.encode("utf-8")).hexdigest(), kb, reference)
    if exact:
        return exact
    hits: list[tuple[str, str, tuple[str, ...]]] = []
    for key, family, markers in _marker_index(kb):
        found = tuple(m for m in markers if m and m in norm)
        if found:
            hits.append((key, family, found))
    # Within one family and kind, keep only the best-supported records: a stray shared
    # phrase must not add a second version next to the one the text really is.
    best: dict[tuple[str, str], int] = {}
    for key, family, found in hits:
        kind = kb.records[key].kind
        best[(family, kind)] = max(best.get((family, kind), 0), len(found))
    matches = []
    for key, family, found in hits:
        if len(found) < best[(family, kb.records[key].kind)]:
            continue
        rec = kb.records[key]
        conf = min(0.95, 0.6 + 0.15 * len(found)) if len(rec.markers) > 1 else 0.75
        matches.append(TextMatch(key, "marker", round(conf, 2),
                                 f"{len(found)} of {len(rec.markers)} marker phrases", found))
    return matches
