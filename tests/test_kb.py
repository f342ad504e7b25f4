"""The knowledge base: schema-valid, complete for the Hub's ids and every spelling seen in the wild."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT, SHARED
from scanner.kb import data_dir, validate_dir

FACTS = SHARED / "research" / "license-facts.md"
CARDS = SHARED / "corpus" / "model-cards"


def test_records_validate():
    assert validate_dir(data_dir("licenses")) == []


def _hub_ids() -> list[str]:
    if not FACTS.is_file():
        pytest.skip("shared research facts not present")
    text = FACTS.read_text(encoding="utf-8")
    section = text.split("## 1. Hugging Face Hub", 1)[1].split("### 1b.", 1)[0]
    return re.findall(r"^\| \d+ \| [^|]+\| `([^`]+)` \|", section, re.M)


def test_every_hub_license_id_has_a_record(kb):
    ids = _hub_ids()
    assert len(ids) == 83
    missing = [i for i in ids if kb.resolve(i) is None]
    assert not missing
    # and the record for a Hub id carries that id (not just an alias)
    assert all(kb.resolve(i).hub_id == i or kb.resolve(i).id == i for i in ids)


def _wild_names() -> set[str]:
    if not CARDS.is_dir():
        pytest.skip("shared corpus not present")
    names: set[str] = set()
    for path in CARDS.glob("*.yaml"):
        rec = yaml.safe_load(path.read_text(encoding="utf-8"))
        value = (rec.get("card") or {}).get("license_name")
        if isinstance(value, str) and value.strip():
            names.add(value.strip())
    section = FACTS.read_text(encoding="utf-8").split("### 1b.", 1)[1].split("## 2.", 1)[0]
    for cell in re.findall(r"^\|[^|]+\| ([^|]+)\|", section, re.M):
        names.update(n for n in re.findall(r"`([a-z0-9][a-z0-9.+_-]*)`", cell) if n != "license_name")
    return names


def test_every_license_name_seen_in_the_wild_resolves(kb):
    names = _wild_names()
    assert len(names) > 20
    assert sorted(n for n in names if kb.resolve(n) is None) == []


def test_expected_effective_ids_resolve(kb):
    tsv = CARDS / "expected-effective.tsv"
    if not tsv.is_file():
        pytest.skip("shared corpus not present")
    ids = set()
    for line in tsv.read_text().splitlines():
        if line.startswith(("#", "repo_id")) or not line.strip():
            continue
        cols = line.split("\t")
        for cell in cols[1:3]:
            for item in filter(None, cell.split(",")):
                if item != "excluded":
                    ids.update(item.split("|"))
    unresolved = {i for i in ids if kb.resolve(i) is None}
    assert not unresolved


@pytest.mark.parametrize("a,b", [("llama3", "llama3.1"), ("llama3.1", "llama3.2"), ("llama3.2", "llama3.3"),
                                 ("llama3.3", "llama4"), ("gemma@2024-04-01", "gemma@2025-03-24"),
                                 ("tencent-license@v1", "tencent-license@v2"), ("qwen", "tongyi-qianwen")])
def test_versions_are_distinct_records(kb, a, b):
    ra, rb = kb.resolve(a), kb.resolve(b)
    assert ra is not None and rb is not None and ra.key != rb.key


def test_use_policies_are_records_tied_to_their_license(kb):
    for lid in ("llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4"):
        rec = kb.resolve(lid)
        aup = kb.use_policy_of(rec)
        assert aup is not None and aup.kind == "use-policy" and aup.applies_to == rec.key


def test_model_licenses_have_typed_terms_with_sources(kb):
    for rec in kb:
        if rec.kind == "model-license" and rec.verified:
            assert rec.terms, rec.key
            assert all(t.get("source") for t in rec.terms), rec.key
        assert rec.sources


def test_spdx_ids_and_refs(kb):
    from license_expression import get_spdx_licensing
    licensing = get_spdx_licensing()
    assert kb.resolve("apache-2.0").spdx == "Apache-2.0"
    assert kb.resolve("mit").spdx == "MIT"
    for rec in kb:
        if rec.kind in ("model-license", "use-policy") and not rec.spdx:
            assert rec.spdx_ref and rec.spdx_ref.startswith("LicenseRef-"), rec.key
            # a LicenseRef is a valid SPDX expression on its own
            licensing.parse(rec.spdx_ref)


def test_reference_data_matches_a_fresh_build():
    if not (SHARED / "corpus" / "license-texts").is_dir():
        pytest.skip("reference corpus not present")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_reference.py"), "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_project_carries_no_copied_license_text():
    tool = SHARED / "tools" / "verbatim_check.py"
    if not tool.is_file():
        pytest.skip("verbatim checker not present")
    proc = subprocess.run([sys.executable, str(tool), str(ROOT)], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "", proc.stdout


def test_licenses_show_cli():
    from conftest import run_cli
    proc = run_cli("licenses", "show", "llama3.2", "--format", "json")
    assert proc.returncode == 0
    import json
    data = json.loads(proc.stdout)
    assert data["id"] == "llama3.2" and data["use_policy"] == "llama3.2-aup"
    proc = run_cli("licenses", "show", "tencent-hunyuan-community")
    assert proc.returncode == 0 and "Tencent" in proc.stdout


def test_term_use_cases_are_policy_use_cases(kb):
    from scanner.kb import load_schema
    allowed = set(load_schema("policy.schema.json")["$defs"]["context"]["properties"]["use_cases"]["items"]["enum"])
    used = {u for rec in kb for t in rec.terms for u in (t.get("use_cases") or ())}
    assert used and used <= allowed, used - allowed
