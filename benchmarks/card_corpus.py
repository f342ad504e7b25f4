"""Build the card-reading corpus for benchmarks/card_bench.py, OUTSIDE the repository.

    python benchmarks/card_corpus.py --out /work/cards-corpus \
        [--facts ../shared/corpus/model-cards] [--leliuga /path/to/leliuga/cohere-configurations.git]

Two sources, each with labels that come from outside the card wherever possible:

* `facts/`: the shared corpus's fact records of real cards, rebuilt as model folders by
  scripts/corpus_facts.py (front matter as recorded, config.json from the record); label: the
  curated `expected-effective.tsv` (the base publisher's license, researched per record).
* `leliuga/`: real Hub README copies held in the public GitHub repository
  leliuga/cohere-configurations (models/<name>/README.md: the original model's card, copied
  Dec 2023 - May 2024), with config.json rebuilt from its manifest.yaml (architecture only);
  label: the shape of the weights in the manifest (architecture, vocabulary, context length,
  hidden size), which the scanner never reads: a Llama architecture with a 32k vocabulary and a
  4096 context is a Llama 2 model (7B/13B/70B and 13B frankenmerges), with a 16384 context Code
  Llama (Llama 2 license); the 33B width (6656) and the 65B shape without grouped-query
  attention are LLaMA 1 (a 13B with a 2048 context may be either: no label); a 128256
  vocabulary is Llama 3. Other shapes get no binding label (they still count for declared reads).

Writes one folder per card (README.md, config.json) and labels.tsv:
folder, label source, binding license alternatives ("llama3|llama3.1,..."), note.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

LLAMA3 = "llama3|llama3.1|llama3.2|llama3.3"


def shape_label(manifest: dict) -> tuple[str, str] | None:
    arch = manifest.get("architecture")
    c = manifest.get("config") or {}
    vocab, ctx, hidden, layers = (c.get("vocab_size"), c.get("context_size"), c.get("embedding_size"),
                                  c.get("hidden_layer_size"))
    if arch != "llama" or not isinstance(vocab, int):
        return None
    if vocab == 128256:
        return LLAMA3, "Llama 3 vocabulary (128256)"
    if not 32000 <= vocab <= 32032:
        return None
    if ctx == 4096 and (hidden in (5120, 8192) or (hidden == 4096 and layers == 32)):
        return "llama2", f"Llama 2 shape (vocab {vocab}, context 4096, width {hidden}, {layers} layers)"
    if ctx == 16384:
        return "llama2", f"Code Llama shape (vocab {vocab}, context 16384)"
    heads, kv = c.get("attention_head_size"), c.get("key_value_head_size")
    if hidden == 6656 or (hidden == 8192 and layers == 80 and kv == heads and ctx == 2048):
        return "llama1", f"LLaMA 1 shape (width {hidden}: 33B, or 65B without grouped-query attention)"
    return None


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True).stdout


def leliuga(repo: Path, out: Path, rows: list[str]) -> int:
    paths = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines() if p.endswith("/manifest.yaml")]
    n = 0
    for mpath in paths:
        folder = mpath.rsplit("/", 1)[0]
        try:
            manifest = yaml.safe_load(git(repo, "show", f"HEAD:{mpath}"))
            readme = git(repo, "show", f"HEAD:{folder}/README.md")
        except (subprocess.CalledProcessError, yaml.YAMLError):
            continue
        parent = str(manifest.get("parent_id") or "")
        if "/" not in parent:
            continue
        org, name = parent.split("/", 1)
        d = out / "leliuga" / org / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "README.md").write_text(readme, encoding="utf-8")
        (d / "config.json").write_text(json.dumps({"model_type": manifest.get("architecture")}), encoding="utf-8")
        label = shape_label(manifest)
        rows.append("\t".join([f"leliuga/{org}/{name}", "config-shape", label[0] if label else "",
                               label[1] if label else "no binding label"]))
        n += 1
    return n


def facts(cards: Path, out: Path, rows: list[str]) -> int:
    import corpus_facts

    expected: dict[str, str] = {}
    for line in (cards / "expected-effective.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith(("#", "repo_id")):
            cols = (line.split("\t") + ["", ""])[:2]
            expected[cols[0]] = cols[1]
    n = 0
    for rid, rec in corpus_facts.load_records(cards).items():
        spec = corpus_facts.repo_spec(rec)
        org, name = rid.split("/", 1)
        d = out / "facts" / org / name
        d.mkdir(parents=True, exist_ok=True)
        readme = spec.files.get("README.md")
        if isinstance(readme, str):
            (d / "README.md").write_text(readme, encoding="utf-8")
        if spec.model_info.get("config"):
            (d / "config.json").write_text(json.dumps(spec.model_info["config"]), encoding="utf-8")
        must = expected.get(rid, "")
        label = "" if must == "excluded" else must
        rows.append("\t".join([f"facts/{org}/{name}", "fact-record", label,
                               "curated expected-effective.tsv" if label else "no binding label"]))
        n += 1
    return n


def main() -> int:
    import corpus_facts

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--facts", type=Path, default=corpus_facts.DEFAULT_CORPUS_DIR)
    ap.add_argument("--leliuga", type=Path, help="git directory of a clone of leliuga/cohere-configurations")
    args = ap.parse_args()
    if args.out.resolve().is_relative_to(ROOT):
        raise SystemExit("the corpus stays outside the repository")
    rows = ["folder\tlabel_source\tbinding\tnote"]
    n = facts(args.facts, args.out, rows)
    m = leliuga(args.leliuga, args.out, rows) if args.leliuga else 0
    (args.out / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {n} fact-record cards, {m} leliuga cards")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
