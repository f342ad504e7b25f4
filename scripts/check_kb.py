#!/usr/bin/env python3
"""Check the license knowledge base in licenses/ and exit non-zero listing every problem.

Checks:
- every licenses/*.yaml loads with yaml.safe_load and validates against
  scanner/schemas/license.schema.json (JSON Schema Draft 2020-12);
- record keys (`record`, else `id`) are unique and match the file name (`@` written as `--`);
  a `record` that differs from the id has the form `<id>@...`; ids shared by several records
  have exactly one `default_version: true`;
- aliases are lower-case, unique across records and never equal to another record's id;
- every `use_policy` / `applies_to` names an existing record key (a use-policy record, resp. a
  non-use-policy record);
- every one of the 83 Hugging Face Hub `license:` ids is some record's `hub_id`, and no record
  claims a hub_id outside that list;
- every `license_name` seen in the wild (research facts section 1b, the model-card corpus and
  the ids of corpus/model-cards/expected-effective.tsv) resolves to a record (id or alias,
  case-insensitive);
- markers are short (under 15 words), lower-case plain ASCII, already in the form
  scanner.textnorm.normalize() produces, and not shared between records of different ids.

When ../shared exists next to the repository, the corpus and the facts file are read too
(their absence only skips those cross-checks).

Usage: python3 scripts/check_kb.py [--kb DIR]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

# The 83 `license:` ids of huggingface/hub-docs docs/hub/repositories-licenses.md
# (last change fd6cf1f5, 2026-06-06), as listed in research/license-facts.md section 1.
HUB_IDS = [
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m",
    "bigscience-bloom-rail-1.0", "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd",
    "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0",
    "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0",
    "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0",
    "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2",
    "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "h-research",
    "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl", "apple-amlr", "mpl-2.0", "odc-by", "odbl",
    "openmdw-1.0", "openmdw-1.1", "openrail++", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense",
    "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license", "llama2",
    "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "grok2-community", "gemma", "unknown", "other",
]

# `license_name` values for licenses the Hub has no id for (facts section 1b) and other spellings
# seen in the wild (corpus INDEX oddity catalogue, expected-effective.tsv alternatives).
WILD_NAMES = [
    "qwen", "qwen-research", "tongyi-qianwen", "tongyi-qianwen-license-agreement", "qwen-72b-licence", "qwen2",
    "tongyi-qianwen-research", "mrl", "mnpl", "deepseek", "deepseek-license", "falcon-llm-license",
    "falcon-180b-tii-license-1.0", "falcon-180b", "tii-falcon-llm", "stabilityai-ai-community", "sai-nc-community",
    "stable-video-diffusion-community", "stable-audio-community", "nvidia-open-model-license", "nvidia-permissive",
    "databricks-open-model-license", "jamba-open-model-license", "tencent-license", "tencent-hunyuan-community",
    "yi-license", "yi-34b", "gemma-terms-of-use", "google-gemma-terms-of-use", "microsoft-research-license",
    "msrla", "ai2-impact-license-low-risk", "llama3.3-community", "llama2-license", "coqui-public-model-license",
]

NOT_A_LICENSE = re.compile(r"^(not captured|null|none|)$")


def load_records(kb: Path, problems: list[str]) -> list[tuple[Path, dict]]:
    out = []
    for path in sorted(kb.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: not valid YAML: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path.name}: top level is not a mapping")
            continue
        out.append((path, data))
    if not out:
        problems.append(f"{kb}: no *.yaml records")
    return out


def key_of(rec: dict) -> str:
    return rec.get("record") or rec.get("id")


def check_schema(records, schema, problems):
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for path, rec in records:
        for err in sorted(validator.iter_errors(rec), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(top)"
            problems.append(f"{path.name}: schema: {where}: {err.message}")


def check_keys(records, problems):
    keys: dict[str, str] = {}
    by_id: dict[str, list[dict]] = {}
    for path, rec in records:
        k, rid = key_of(rec), rec.get("id")
        if not isinstance(k, str) or not isinstance(rid, str):
            continue
        if k in keys:
            problems.append(f"{path.name}: record key {k!r} already used by {keys[k]}")
        keys[k] = path.name
        expected = k.replace("@", "--") + ".yaml"
        if path.name != expected:
            problems.append(f"{path.name}: file name should be {expected}")
        if k != rid and not k.startswith(rid + "@"):
            problems.append(f"{path.name}: record key {k!r} should have the form {rid}@<version>")
        by_id.setdefault(rid, []).append(rec)
    for rid, recs in by_id.items():
        if len(recs) > 1:
            defaults = [key_of(r) for r in recs if r.get("default_version") is True]
            if len(defaults) != 1:
                problems.append(f"id {rid!r}: {len(recs)} records need exactly one default_version: true "
                                f"(found {defaults or 'none'})")
            versions = [r.get("version") for r in recs]
            if len(set(map(str, versions))) != len(versions):
                problems.append(f"id {rid!r}: versioned records repeat a version: {versions}")
    return keys, by_id


def check_aliases(records, by_id, problems):
    owner: dict[str, str] = {}
    for path, rec in records:
        k = key_of(rec)
        for alias in rec.get("aliases") or []:
            if not isinstance(alias, str):
                continue
            if alias != alias.lower() or alias != alias.strip():
                problems.append(f"{path.name}: alias {alias!r} must be lower-case without outer spaces")
            a = alias.lower().strip()
            if a in by_id:
                problems.append(f"{path.name}: alias {alias!r} equals the id of {key_of(by_id[a][0])}")
            if a in owner and owner[a] != k:
                problems.append(f"{path.name}: alias {alias!r} also belongs to {owner[a]}")
            owner[a] = k
    return owner


def check_links(records, keys, problems):
    kind = {key_of(r): r.get("kind") for _, r in records}
    rid = {key_of(r): r.get("id") for _, r in records}
    for path, rec in records:
        up = rec.get("use_policy")
        if up is not None:
            if up not in keys:
                problems.append(f"{path.name}: use_policy {up!r} is not a record key")
            elif kind[up] != "use-policy":
                problems.append(f"{path.name}: use_policy {up!r} is a {kind[up]}, not a use-policy record")
        at = rec.get("applies_to")
        if at is not None:
            if at not in keys:
                problems.append(f"{path.name}: applies_to {at!r} is not a record key")
            elif kind[at] == "use-policy":
                problems.append(f"{path.name}: applies_to {at!r} is itself a use policy")
        if rec.get("kind") == "use-policy":
            if at is None:
                problems.append(f"{path.name}: use-policy record without applies_to")
            elif at in keys and not any(r.get("use_policy") == key_of(rec) and r.get("id") == rid[at]
                                        for _, r in records):
                problems.append(f"{path.name}: no {rid[at]!r} record names it as use_policy")
        elif up is not None and up in keys:
            target = next(r for _, r in records if key_of(r) == up)
            if target.get("applies_to") in keys and rid[target["applies_to"]] != rec.get("id"):
                problems.append(f"{path.name}: its use policy {up!r} applies to {target['applies_to']!r}")


def check_hub_ids(records, problems):
    hub = set(HUB_IDS)
    if len(hub) != 83:
        problems.append(f"internal: HUB_IDS has {len(hub)} distinct ids, expected 83")
    facts = SHARED / "research" / "license-facts.md"
    if facts.is_file():
        listed = set(re.findall(r"^\|\s*\d+\s*\|[^|]*\|\s*`([^`]+)`\s*\|", facts.read_text(encoding="utf-8"), re.M))
        if listed and listed != hub:
            problems.append(f"HUB_IDS differs from license-facts.md section 1: missing {sorted(listed - hub)}, "
                            f"extra {sorted(hub - listed)}")
    seen = {}
    for path, rec in records:
        h = rec.get("hub_id")
        if h is None:
            continue
        if h not in hub:
            problems.append(f"{path.name}: hub_id {h!r} is not one of the 83 Hub license ids")
        seen.setdefault(h, []).append(rec)
    for h in HUB_IDS:
        if h not in seen:
            problems.append(f"Hub license id {h!r} has no record (no record has hub_id: {h})")
        elif len(seen[h]) > 1 and sum(1 for r in seen[h] if r.get("default_version") is True) != 1:
            problems.append(f"Hub license id {h!r} is claimed by several records without one default_version")
        elif not any(r.get("id") == h for r in seen[h]):
            problems.append(f"Hub license id {h!r}: no record uses it as its id")


def corpus_names() -> list[tuple[str, str]]:
    """(name, where) pairs of license spellings found in the shared model-card corpus."""
    out = []
    cards = SHARED / "corpus" / "model-cards"
    if not cards.is_dir():
        return out
    for path in sorted(cards.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        card = data.get("card") or {}
        for field in ("license", "license_name"):
            values = card.get(field)
            for v in values if isinstance(values, list) else [values]:
                if not isinstance(v, str):
                    continue
                v = re.sub(r"\([^)]*\)", "", v).strip().lower()
                if not NOT_A_LICENSE.match(v):
                    out.append((v, f"{path.name} card.{field}"))
    tsv = cards / "expected-effective.tsv"
    if tsv.is_file():
        for line in tsv.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or line.startswith("repo_id\t") or not line.strip():
                continue
            cols = line.split("\t")
            for col in cols[1:3]:
                for item in filter(None, (c.strip() for c in col.split(","))):
                    if item == "excluded":
                        continue
                    for alt in item.split("|"):
                        out.append((alt.strip().lower(), f"expected-effective.tsv {cols[0]}"))
    return out


def check_names(records, owner, by_id, problems):
    known = set(by_id) | set(owner)
    names = [(n, "check_kb WILD_NAMES") for n in WILD_NAMES] + corpus_names()
    for name, where in names:
        if name.lower() not in known:
            problems.append(f"license spelling {name!r} ({where}) resolves to no record id or alias")


def check_markers(records, problems):
    try:
        sys.path.insert(0, str(ROOT))
        from scanner.textnorm import normalize
    except Exception:  # noqa: BLE001 - the normalization check is optional
        normalize = None
    used: dict[str, tuple[str, str]] = {}
    for path, rec in records:
        for m in rec.get("markers") or []:
            if not isinstance(m, str):
                continue
            if len(m.split()) >= 15:
                problems.append(f"{path.name}: marker {m!r} has 15 words or more")
            if not m.isascii() or m != m.lower():
                problems.append(f"{path.name}: marker {m!r} must be lower-case plain ASCII")
            if normalize is not None and normalize(m) != m:
                problems.append(f"{path.name}: marker {m!r} is not in normalized form ({normalize(m)!r})")
            if m in used and used[m][0] != rec.get("id"):
                problems.append(f"{path.name}: marker {m!r} is also a marker of {used[m][1]}")
            used.setdefault(m, (rec.get("id"), key_of(rec)))


def check_terms(records, problems):
    for path, rec in records:
        for i, term in enumerate(rec.get("terms") or []):
            if isinstance(term, dict) and not term.get("source"):
                problems.append(f"{path.name}: terms/{i} ({term.get('type')}) has no source")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=Path, default=ROOT / "licenses")
    ap.add_argument("--schema", type=Path, default=ROOT / "scanner" / "schemas" / "license.schema.json")
    args = ap.parse_args(argv)

    problems: list[str] = []
    schema = json.loads(args.schema.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    records = load_records(args.kb, problems)
    check_schema(records, schema, problems)
    keys, by_id = check_keys(records, problems)
    owner = check_aliases(records, by_id, problems)
    check_links(records, keys, problems)
    check_hub_ids(records, problems)
    check_names(records, owner, by_id, problems)
    check_markers(records, problems)
    check_terms(records, problems)

    for p in problems:
        print(p)
    print(f"{len(records)} records, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
