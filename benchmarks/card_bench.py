"""How well the scanner reads real model cards, offline (a named base cannot be fetched).

    python benchmarks/card_bench.py CORPUS [--misses] [--jobs N]

CORPUS is a folder built by benchmarks/card_corpus.py (it stays outside the repository): one
model folder per card and labels.tsv (folder, label source, binding license alternatives, note).
Each folder is scanned as a local target with the default policy and no Hub. Printed per label
source (and in total):

  declared read           cards with a `license` key whose value resolves to a record
  base_model: found       labeled cards naming a base in base_model whose binding license is effective
  text only: found        labeled cards naming no base_model (the base only in a merge recipe, a link,
                          prose or the name) whose binding license is effective; split by what the text holds
  llama2, no license key  Llama 2 derivatives whose card has no license key: llama2 effective
  license: other resolved cards labeled `license: other` whose effective set holds a license by name
  relabels flagged        labeled cards whose declared license is not the binding one: a
                          license-conflict-with-base finding (or no declared license effective)
  allow, binding missed   verdict allow while the binding license is not effective (must be 0)

Runs on the code on PYTHONPATH, so the same script measures a branch before and after a change.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))     # after PYTHONPATH: the code measured is the one PYTHONPATH names

from scanner import kb as kbmod  # noqa: E402
from scanner.card import parse_card  # noqa: E402
from scanner.policy.model import load_policy  # noqa: E402
from scanner.scan import Scanner  # noqa: E402
from scanner.sources.local import LocalSource  # noqa: E402

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
_RECIPE = re.compile(r"^\s*(?:merge_method|slices|models)\s*:", re.M)
_LINK = re.compile(r"(?:original model|quants? of|gguf|gptq|awq|fp16)[^\n]{0,120}huggingface\.co/[\w.-]+/[\w.-]+", re.I)


def labels(corpus: Path) -> list[tuple[str, str, list[list[str]], str]]:
    rows = []
    for line in (corpus / "labels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        cols = (line.split("\t") + ["", "", ""])[:4]
        alts = [g.split("|") for g in filter(None, cols[2].split(","))]
        rows.append((cols[0], cols[1], alts, cols[3]))
    return rows


def card_facts(folder: Path) -> tuple[dict, str]:
    readme = folder / "README.md"
    if not readme.is_file():
        return {}, ""
    card = parse_card(readme.read_text(encoding="utf-8", errors="replace"))
    return dict(card.data or {}), card.body


def text_kind(body: str) -> str:
    if _RECIPE.search(body):
        return "recipe"
    if _LINK.search(body):
        return "link"
    return "prose/name"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--misses", action="store_true", help="list every labeled card whose binding license is missed")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    kb = kbmod.load()
    scanner = Scanner(None, kb, load_policy("default"), NOW, local=LocalSource(), follow_datasets=False)
    rows = labels(args.corpus)

    def one(row):
        folder = args.corpus / row[0]
        return row, card_facts(folder), scanner.scan_one(str(folder))

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        scanned = list(pool.map(one, rows))

    stats: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses = []
    for (folder, source, alts, note), (data, body), r in scanned:
        eff = {u.id for u in r.licenses.effective}
        declared_ids = {u.id for u in r.licenses.declared if u.record}
        found = all(any(a in eff for a in alt) for alt in alts) if alts else None
        for key in (source, "all"):
            s = stats[key]
            s["cards"][1] += 1
            s["cards"][0] += 1
            if "license" in data:
                s["declared read"][1] += 1
                s["declared read"][0] += bool(r.licenses.declared) and all(u.record for u in r.licenses.declared)
            if found is None:
                continue
            if data.get("base_model"):
                s["base_model: found"][1] += 1
                s["base_model: found"][0] += found
            else:
                k = f"text only ({text_kind(body)}): found"
                s[k][1] += 1
                s[k][0] += found
                s["text only, all: found"][1] += 1
                s["text only, all: found"][0] += found
            if "license" not in data and any("llama2" in alt for alt in alts):
                s["llama2, no license key: found"][1] += 1
                s["llama2, no license key: found"][0] += found
            if str(data.get("license", "")).strip().lower() == "other":
                s["license: other resolved"][1] += 1
                s["license: other resolved"][0] += any(u.record and u.kind != "placeholder" or not u.record
                                                       for u in r.licenses.effective if u.id != "other")
            binding = {a for alt in alts for a in alt}
            if declared_ids and not declared_ids & binding:
                s["relabels flagged"][1] += 1
                s["relabels flagged"][0] += any(f.code == "license-conflict-with-base" for f in r.findings) or found
            s["allow, binding missed (must be 0)"][1] += 1
            s["allow, binding missed (must be 0)"][0] += (r.verdict == "allow" and not found)
        if found is False:
            misses.append((folder, alts, sorted(eff), r.verdict, note))
    order = ["cards", "declared read", "base_model: found", "text only, all: found", "text only (recipe): found",
             "text only (link): found", "text only (prose/name): found", "llama2, no license key: found",
             "license: other resolved", "relabels flagged", "allow, binding missed (must be 0)"]
    sources = sorted(k for k in stats if k != "all") + ["all"]
    print(f"{'metric':38}" + "".join(f"{s:>22}" for s in sources))
    for metric in order:
        cells = []
        for src in sources:
            got, n = stats[src].get(metric, [0, 0])
            cells.append(f"{got}/{n}" + (f" ({100 * got / n:.0f}%)" if n and metric != "cards" else ""))
        print(f"{metric:38}" + "".join(f"{c:>22}" for c in cells))
    if args.misses:
        for folder, alts, eff, verdict, note in misses:
            print(f"MISS {folder}: want {'|'.join(map(str, alts))} got {eff} ({verdict}; {note})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
