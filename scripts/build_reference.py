#!/usr/bin/env python3
"""Build scanner/data/reference.json from the reference license texts.

The texts live in ../shared/corpus/license-texts/ and never enter the project; what
ships is derived from them: the sha256 of each normalised text, the records it
identifies, and per text it holds (Llama 3's LICENSE holds the license and its use
policy) the sha256 of that part and the 32-bit hashes of its word 5-grams
(scanner.textid.shingles), sorted, as base64. Run after changing the corpus, the
normaliser, the fingerprints or the records:

    python scripts/build_reference.py [--texts DIR] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner import kb as kbmod  # noqa: E402
from scanner.textid import SHINGLE_WORDS, pack, pack16, shingles, words  # noqa: E402
from scanner.textnorm import normalize  # noqa: E402

FORMAT_VERSION = 2

# File-name labels in the corpus that are not themselves record keys or aliases.
LABELS = {
    "llama2.USE_POLICY.md": ["llama2-aup"],
    "llama3.USE_POLICY.md": ["llama3-aup"],
    "llama3.1.USE_POLICY.md": ["llama3.1-aup"],
    "llama3.2.USE_POLICY.md": ["llama3.2-aup"],
    "llama3.3.USE_POLICY.md": ["llama3.3-aup"],
    "llama3.LICENSE.txt": ["llama3", "llama3-aup"],        # Meta's file appends the AUP
    "llama4.USE_POLICY.md": ["llama4-aup"],
    "gemma-2024-04-01.LICENSE.txt": ["gemma@2024-04-01"],
    "gemma-2025-03-24.LICENSE.txt": ["gemma@2025-03-24"],
    "tencent-hunyuan-v1.LICENSE.txt": ["tencent-license@v1"],
    "tencent-hunyuan-v2.LICENSE.txt": ["tencent-license@v2"],
    "databricks-open-model.LICENSE.txt": ["databricks-open-model-license"],
    "nvidia-open-model.LICENSE.txt": ["nvidia-open-model-license@2025-04-28"],
    "tencent-hunyuan-3d-2.0.LICENSE.txt": ["tencent-license@hunyuan3d-2.0"],
    "exaone-ai-model-1.1-nc.LICENSE.txt": ["exaone"],
    "kimi-modified-mit.LICENSE.txt": ["modified-mit"],
    "bilibili-model-ula.LICENSE.txt": ["bilibili-model-use-license"],
    "ltxv-open-weights-2025-05-05.LICENSE.txt": ["ltxv-open-weights"],
    "falcon-2-11b.LICENSE.txt": ["falcon-2-11b-tii-license-1.0"],
}


def default_texts_dir() -> Path:
    from scanner._devpaths import license_texts_dir

    return license_texts_dir()


def build(texts_dir: Path, kb) -> dict:
    entries = []
    problems = []
    fingerprints: list[set[int]] = []
    for path in sorted(texts_dir.iterdir()):
        if path.suffix not in (".txt", ".md") or path.name == "SOURCES.md":
            continue
        keys = LABELS.get(path.name)
        if keys is None:
            stem = path.name.split(".LICENSE")[0].split(".USE_POLICY")[0]
            rec = kb.resolve(stem)
            keys = [rec.key] if rec else []
        missing = [k for k in keys if kb.get(k) is None]
        if not keys or missing:
            problems.append(f"{path.name}: no license record ({missing or 'unmapped'})")
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        norm = normalize(text)
        parts, problem = split(norm, keys, kb)
        if problem:
            problems.append(f"{path.name}: {problem}")
            continue
        segments = []
        for n, (key, part) in enumerate(parts):
            grams = set(shingles(words(part)))
            seg = {
                "label": path.name if len(parts) == 1 else f"{path.name}#{n + 1}",
                "record": key,
                "normalized_sha256": hashlib.sha256(part.encode()).hexdigest(),
                "words": len(words(part)),
                "shingles": len(grams),
            }
            if grams:
                seg["index"] = len(fingerprints)
                fingerprints.append(grams)
            segments.append(seg)
        entries.append({
            "label": path.name,
            "records": keys,
            "normalized_sha256": hashlib.sha256(norm.encode()).hexdigest(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "words": len(norm.split()),
            "segments": segments,
        })
    return {"version": FORMAT_VERSION, "normalizer": "scanner.textnorm.normalize",
            "fingerprint": f"crc32 of {SHINGLE_WORDS}-word shingles (scanner.textid.shingles)",
            "index": index(fingerprints), "texts": entries, "problems": problems}


def index(fingerprints: list[set[int]]) -> dict:
    """One table for every 5-gram hash: the sorted hashes, and per hash the id of its list of segments."""
    postings: dict[int, list[int]] = {}
    for i, grams in enumerate(fingerprints):
        for h in grams:
            postings.setdefault(h, []).append(i)
    hashes = sorted(postings)
    lists: dict[tuple[int, ...], int] = {}
    ids = [lists.setdefault(tuple(postings[h]), len(lists)) for h in hashes]
    return {"hashes": pack(hashes), "lists": pack16(ids),
            "postings": ";".join(",".join(map(str, k)) for k in lists)}


def split(norm: str, keys: list[str], kb) -> tuple[list[tuple[str, str]], str | None]:
    """The texts a file holds, one per record: each after the first starts at its earliest marker."""
    starts = [0]
    for key in keys[1:]:
        markers = [m for m in kb.get(key).markers if m in norm[starts[-1] + 1:]]
        if not markers:
            return [], f"no marker of {key} to split the file at"
        starts.append(min(norm.index(m, starts[-1] + 1) for m in markers))
    bounds = starts + [len(norm)]
    return [(key, norm[bounds[i]:bounds[i + 1]].strip()) for i, key in enumerate(keys)], None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=Path, default=default_texts_dir())
    ap.add_argument("--out", type=Path, default=ROOT / "scanner" / "data" / "reference.json")
    ap.add_argument("--check", action="store_true", help="exit 1 if the shipped file differs from a fresh build")
    args = ap.parse_args()
    kb = kbmod.load_dir(ROOT / "licenses")
    data = build(args.texts, kb)
    rendered = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == rendered
        print("reference data up to date" if same else "reference data differs from a fresh build")
        return 0 if same else 1
    args.out.write_text(rendered, encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT)}: {len(data['texts'])} texts, {len(data['problems'])} problems")
    for p in data["problems"]:
        print("  " + p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
