#!/usr/bin/env python3
"""Build scanner/data/reference.json from the reference license texts.

The texts live in ../shared/corpus/license-texts/ and never enter the project; what
ships is derived from them: the sha256 of each normalised text and which license
records it identifies. Run after changing the corpus, the normaliser or the records:

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
from scanner.textnorm import normalize  # noqa: E402

# File-name labels in the corpus that are not themselves record keys or aliases.
LABELS = {
    "llama2.USE_POLICY.md": ["llama2-aup"],
    "llama3.USE_POLICY.md": ["llama3-aup"],
    "llama3.1.USE_POLICY.md": ["llama3.1-aup"],
    "llama3.2.USE_POLICY.md": ["llama3.2-aup"],
    "llama3.3.USE_POLICY.md": ["llama3.3-aup"],
    "llama4.USE_POLICY.md": ["llama4-aup"],
    "gemma-2024-04-01.LICENSE.txt": ["gemma@2024-04-01"],
    "gemma-2025-03-24.LICENSE.txt": ["gemma@2025-03-24"],
    "tencent-hunyuan-v1.LICENSE.txt": ["tencent-license@v1"],
    "tencent-hunyuan-v2.LICENSE.txt": ["tencent-license@v2"],
    "databricks-open-model.LICENSE.txt": ["databricks-open-model-license"],
    "nvidia-open-model.LICENSE.txt": ["nvidia-open-model-license"],
    "falcon-2-11b.LICENSE.txt": ["falcon-llm-license"],
}


def default_texts_dir() -> Path:
    return ROOT.parent / "shared" / "corpus" / "license-texts"


def build(texts_dir: Path, kb) -> dict:
    entries = []
    problems = []
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
        entries.append({
            "label": path.name,
            "records": keys,
            "normalized_sha256": hashlib.sha256(norm.encode()).hexdigest(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "words": len(norm.split()),
        })
    return {"version": 1, "normalizer": "scanner.textnorm.normalize", "texts": entries, "problems": problems}


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
