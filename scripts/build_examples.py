#!/usr/bin/env python3
"""Build examples/hub/, the offline example snapshot (docs/snapshot.md, version 1).

Every repo in it is rebuilt from a fact record in ../shared/corpus/model-cards (see
scripts/corpus_facts.py); the few the corpus lacks are assembled from their family's records and
marked `provenance.assembled: true`. Reference license texts are withheld: LICENSE / USE_POLICY
files and gate prompts that hold one keep only their hashes, so identification by hash still
works and the example carries no copy of them.

The output is deterministic: run it twice and the bytes are the same.

    python3 scripts/build_examples.py [--shared DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus_facts as cf  # noqa: E402
from scanner.textnorm import decode_text, git_blob_oid, normalized_sha256  # noqa: E402

REPO_ROOT = cf.REPO_ROOT
RECORDED_AT = "2026-11-28T00:00:00Z"
LAST_MODIFIED = "2024-05-30T14:40:35.000Z"
TOOL = {"name": "modelscan scripts/build_examples.py", "version": "1"}

# The repos the example is for; the parents their cards name are added (recursively).
EXAMPLE_REPOS = [
    "meta-llama/Meta-Llama-3-70B",                    # assembled (Llama 3 family)
    "meta-llama/Llama-3.2-11B-Vision-Instruct",       # assembled (Llama 3.2 family)
    "meta-llama/Llama-3.2-1B-Instruct",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mixtral-8x7B-v0.1",
    "Qwen/Qwen2.5-72B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "google/gemma-2-9b-it",
    "microsoft/phi-4",
    "allenai/OLMo-2-1124-7B",
    "bigscience/bloom",
    "mistralai/Codestral-22B-v0.1",
    "watt-ai/watt-tool-70B",                          # Llama 3.3 fine-tune labeled apache-2.0 (base_model declared)
    "mrm8488/llama-2-coder-7b",                       # Llama 2 fine-tune labeled apache-2.0 (name only)
    "NousResearch/Nous-Hermes-Llama2-13b",            # Llama 2 fine-tune labeled [mit]
    "prithivMLmods/GWQ-9B-Preview2",                  # Gemma 2 fine-tune labeled creativeml-openrail-m
    "stabilityai/stable-diffusion-3-medium",
    "QuantFactory/Meta-Llama-3-8B-Instruct-GGUF",     # GGUF quantization, other/llama3
]

MISSING = {
    "models": {"meta-llama/Llama-3-70B": {"error": "RepoNotFound", "suggestions": ["meta-llama/Meta-Llama-3-70B"]}},
    "datasets": {},
}

RECORDED_FILES = ("README", "LICEN", "USE_POLICY", "NOTICE", "COPYING", "CONFIG.JSON")


def _dump(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _bases(spec: cf.RepoSpec) -> list[str]:
    base = (spec.model_info.get("cardData") or {}).get("base_model")
    return [base] if isinstance(base, str) else list(base or [])


def select(specs: dict[str, cf.RepoSpec], wanted: list[str]) -> list[str]:
    """`wanted` plus every parent their cards name, parents after children, no repeats."""
    order: list[str] = []
    queue = list(wanted)
    while queue:
        rid = queue.pop(0)
        if rid in order:
            continue
        if rid not in specs:
            raise SystemExit(f"build_examples: no fact record (or assembly) for {rid}")
        order.append(rid)
        queue += [b for b in _bases(specs[rid]) if b not in order]
    return order


def _file_entry(path: str, data: bytes, omitted: bool) -> dict:
    text = decode_text(data)
    return {"path": path, "status": "ok", "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "git_oid": git_blob_oid(data),
            "normalized_sha256": normalized_sha256(text) if text is not None else None,
            "omitted": omitted, "error": None}


def _recorded(path: str) -> bool:
    return "/" not in path and path.upper().startswith(RECORDED_FILES)


def _note(spec: cf.RepoSpec) -> str:
    rec = spec.record
    parts = []
    if rec.get("assembled_from"):
        parts.append(f"Assembled from the fact record of {rec['assembled_from']} and the research notes "
                     f"in its sources; not seen on the Hub.")
    else:
        parts.append(f"Rebuilt from the corpus fact record of {spec.repo_id} "
                     f"({rec.get('record_type')}, confidence {rec.get('confidence')}).")
        if spec.assembled:
            parts.append("Some card facts come from secondary sources (derivatives, conventions).")
        card = rec.get("card") or {}
        if "as reported" in f"{card.get('license')} {card.get('base_model')}":
            parts.append("License and base model as a third party reported them; the card YAML was not checked.")
    withheld = sorted(spec.withheld)
    if withheld:
        parts.append("Withheld reference license texts (hashes kept): " + ", ".join(withheld) + ".")
    if any(w.startswith("cardData.") for w in withheld):
        parts.append("README.md is stored without the withheld front-matter fields.")
    parts += [n[0].upper() + n[1:] + "." for n in spec.notes]
    parts.append("Weight files are listed with sizes only; shas, sizes and dates are synthetic.")
    return " ".join(parts)


def repo_snapshot(spec: cf.RepoSpec) -> tuple[str, dict[str, bytes]]:
    """(commit sha, {relative path: bytes}) for one repo's folder."""
    card = spec.model_info.get("cardData")
    withheld_fields = sorted(w.split(".", 1)[1] for w in spec.withheld if w.startswith("cardData."))
    served: dict[str, bytes] = {}
    for path, content in sorted(spec.files.items()):
        data = content.encode("utf-8") if isinstance(content, str) else content
        if path == "README.md" and withheld_fields and card is not None:
            data = cf.render_readme(card, cf.readme_body(content), drop=tuple(withheld_fields)).encode("utf-8")
        served[path] = data

    entries = [_file_entry(p, d, p in spec.withheld) for p, d in served.items() if _recorded(p)]
    field_entries = []
    for name in withheld_fields:
        value = card[name].encode("utf-8")
        field_entries.append({"field": name, "size": len(value), "sha256": hashlib.sha256(value).hexdigest(),
                              "normalized_sha256": normalized_sha256(card[name]), "omitted": True})

    siblings = [{"rfilename": p, "blobId": git_blob_oid(d), "size": len(d)} for p, d in served.items()]
    siblings += [cf.lfs_sibling(spec.repo_id, p, size) for p, size in spec.weights.items()]
    siblings.sort(key=lambda s: s["rfilename"])

    info: dict = {}
    for key, value in spec.model_info.items():
        if key == "cardData":
            value = {k: v for k, v in value.items() if k not in withheld_fields}
        info[key] = value
        if key == "author" or (key == "modelId" and "author" not in spec.model_info):
            info["sha"] = None
            info["lastModified"] = LAST_MODIFIED
    info["siblings"] = siblings
    info["usedStorage"] = sum(s["size"] for s in siblings)

    content_key = json.dumps({"id": spec.repo_id, "info": info, "files": entries, "fields": field_entries},
                             sort_keys=True, ensure_ascii=False)
    sha = hashlib.sha1((spec.repo_id + "\n" + content_key).encode("utf-8")).hexdigest()
    info["sha"] = sha

    files_json = {"files": entries, "withheld_fields": field_entries,
                  "provenance": {"assembled": spec.assembled, "sources": spec.sources, "note": _note(spec)}}
    out = {"refs.json": _dump({"main": sha}),
           f"{sha}/model_info.json": _dump(info),
           f"{sha}/files.json": _dump(files_json)}
    for entry in entries:
        if not entry["omitted"]:
            out[f"{sha}/files/{entry['path']}"] = served[entry["path"]]
    return sha, out


def _readme(order: list[str], specs: dict[str, cf.RepoSpec]) -> bytes:
    lines = ["# Offline example snapshot", "",
             "A recorded Hub snapshot (format: `docs/snapshot.md`, version 1) for scanning without a network:", "",
             "    modelscan check --snapshot examples/hub meta-llama/Meta-Llama-3-70B", "",
             "Built by `scripts/build_examples.py` from the fact records in `../shared/corpus/model-cards/`;",
             "do not edit by hand. Reference license texts are withheld (hashes only). Repos marked",
             "*assembled* were rebuilt from their family's facts, not seen on the Hub.", "",
             "| repo | license (card) | base model | assembled |", "|---|---|---|---|"]
    for rid in order:
        spec = specs[rid]
        card = spec.model_info.get("cardData") or {}
        lic = card.get("license")
        lic = ", ".join(lic) if isinstance(lic, list) else (lic or "none")
        if card.get("license_name"):
            lic += f" / {card['license_name']}"
        bases = ", ".join(_bases(spec)) or "-"
        lines.append(f"| `{rid}` | {lic} | {bases} | {'yes' if spec.assembled else ''} |")
    lines += ["", "`missing.json` records `meta-llama/Llama-3-70B` as not found, with a suggestion.", ""]
    return "\n".join(lines).encode("utf-8")


def build(out_dir: Path, shared_dir: Path) -> list[str]:
    records = cf.load_records(shared_dir / "corpus" / "model-cards")
    specs = cf.all_specs(records, shared_dir / "corpus" / "license-texts")
    order = select(specs, EXAMPLE_REPOS)

    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("models", "datasets"):
        if (out_dir / name).exists():
            shutil.rmtree(out_dir / name)
    tree: dict[str, bytes] = {
        "snapshot.json": _dump({"format": "modelscan-snapshot", "version": 1, "recorded_at": RECORDED_AT,
                                "tool": TOOL, "endpoint": "https://huggingface.co",
                                "note": "Offline example built from the corpus fact records; reference license "
                                        "texts withheld (hashes only); weight files listed, not stored."}),
        "missing.json": _dump(MISSING),
        "README.md": _readme(order, specs),
    }
    for rid in sorted(order):
        _, files = repo_snapshot(specs[rid])
        for rel, data in files.items():
            tree[f"models/{rid}/{rel}"] = data
    for rel, data in tree.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return order


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=cf.default_shared_dir(),
                        help="the shared directory holding corpus/ (default: $MODELSCAN_SHARED, else ../shared)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "examples" / "hub",
                        help="where to write the snapshot (default: examples/hub)")
    args = parser.parse_args(argv)
    if not (args.shared / "corpus" / "model-cards").is_dir():
        parser.error(f"{args.shared}/corpus/model-cards not found (use --shared DIR)")
    order = build(args.out, args.shared)
    print(f"wrote {len(order)} repos to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
