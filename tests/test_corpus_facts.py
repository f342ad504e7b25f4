"""scripts/corpus_facts.py turns every corpus fact record into a servable repo, and
scripts/build_examples.py reproduces the committed examples/hub snapshot byte for byte."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from support.modules import load_module
from support.paths import ROOT

cf = load_module("scripts/corpus_facts.py")

SHARED = cf.default_shared_dir()
CORPUS = SHARED / "corpus" / "model-cards"
TEXTS = SHARED / "corpus" / "license-texts"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")


@pytest.fixture(scope="module")
def records():
    return cf.load_records(CORPUS)


@pytest.fixture(scope="module")
def specs(records):
    return cf.all_specs(records, TEXTS)


def _front_matter(readme: str):
    m = re.match(r"^\s*---(?:\r\n|\r|\n)([\S\s]*?)(?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$)", readme)
    return yaml.safe_load(m.group(1)) if m else None


def test_every_record_becomes_a_spec(records, specs):
    assert len(records) >= 100
    for rid in records:
        spec = specs[rid]
        assert spec.repo_id == rid == spec.model_info["id"]
        assert spec.sources and spec.record is records[rid]
        for path in spec.withheld:
            if path.startswith("cardData."):
                assert path.split(".", 1)[1] in spec.model_info["cardData"]
            else:
                assert path in spec.files
        card = spec.model_info.get("cardData")
        readme = spec.files.get("README.md")
        if card is not None:
            # the Hub's cardData is the README front matter, parsed
            assert _front_matter(readme) == card
            lic = card.get("license")
            for x in lic if isinstance(lic, list) else [lic] if lic else []:
                assert f"license:{x}" in spec.model_info["tags"]
        elif readme is not None:
            assert _front_matter(readme) is None
        assert spec.model_info["gated"] in (False, "auto", "manual")


def test_quantized_gguf_gets_quantized_base_tag(specs):
    spec = specs["QuantFactory/Meta-Llama-3-8B-Instruct-GGUF"]
    card = spec.model_info["cardData"]
    assert (card["license"], card["license_name"], card["license_link"]) == ("other", "llama3", "LICENSE")
    assert card["base_model"] == "meta-llama/Meta-Llama-3-8B-Instruct"
    tags = spec.model_info["tags"]
    assert "base_model:meta-llama/Meta-Llama-3-8B-Instruct" in tags
    assert "base_model:quantized:meta-llama/Meta-Llama-3-8B-Instruct" in tags
    assert "license:other" in tags and "gguf" in tags
    assert "LICENSE" not in spec.files                 # only "referenced" by the card
    assert spec.weights and all(p.endswith(".gguf") for p in spec.weights)


def test_explicit_relation_and_finetune_inference(specs):
    jamba = specs["bartowski/ai21labs_AI21-Jamba-Mini-1.7-GGUF"]
    assert jamba.model_info["cardData"]["base_model_relation"] == "quantized"
    watt = specs["watt-ai/watt-tool-70B"]
    assert watt.model_info["cardData"]["license"] == "apache-2.0"        # "(as reported)" dropped
    assert "base_model:finetune:meta-llama/Llama-3.3-70B-Instruct" in watt.model_info["tags"]
    redhat = specs["RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic"]
    assert redhat.model_info["cardData"]["base_model"] == ["meta-llama/Llama-4-Scout-17B-16E-Instruct"]


def test_license_lists_and_unseen_values(specs):
    assert specs["NousResearch/Nous-Hermes-Llama2-13b"].model_info["cardData"]["license"] == ["mit"]
    qwen7 = specs["Qwen/Qwen2.5-7B-Instruct"]
    assert "base_model" not in qwen7.model_info["cardData"]                # "(expected)" is not seen
    assert qwen7.files["LICENSE"] == cf.reference_text("apache-2.0.LICENSE.txt", TEXTS)
    assert "LICENSE" in qwen7.withheld
    qwen72 = specs["Qwen/Qwen2.5-72B-Instruct"]
    assert qwen72.files["LICENSE"] == cf.reference_text("qwen.LICENSE.txt", TEXTS)
    assert specs["tiiuae/falcon-180B"].model_info["cardData"]["license"] == "unknown"


def test_gate_prompt_holding_a_license_is_withheld(specs):
    spec = specs["meta-llama/Meta-Llama-3-8B-Instruct"]
    assert spec.model_info["gated"] == "manual"
    assert spec.model_info["cardData"]["extra_gated_prompt"] == cf.reference_text("llama3.LICENSE.txt", TEXTS)
    assert {"cardData.extra_gated_prompt", "LICENSE"} <= spec.withheld
    copy = specs["AgentPublic/llama3-instruct-8b"]            # copies the prompt, is not gated itself
    assert copy.model_info["gated"] is False
    assert "cardData.extra_gated_prompt" in copy.withheld
    eu = specs["tencent/HunyuanImage-2.1"]
    assert eu.model_info["cardData"]["extra_gated_eu_disallowed"] is True


def test_cards_without_front_matter_or_readme(specs):
    wiz = specs["WizardLM/WizardLM-13B-V1.1"]
    assert "cardData" not in wiz.model_info
    assert not wiz.files["README.md"].startswith("---")
    assert "Non-commercial" in wiz.files["README.md"]
    assert not any(t.startswith("license:") for t in wiz.model_info["tags"])
    assert "README.md" not in specs["oh-yeontaek/llama-2-13b-LoRA-assemble"].files
    llama2 = specs["meta-llama/Llama-2-7b-hf"]
    assert "license" not in llama2.model_info["cardData"]
    assert "governed by the Meta license" in llama2.files["README.md"]
    assert specs["meta-llama/Llama-2-7b-chat-hf"].model_info["cardData"]["arxiv"] == "2307.09288"


def test_assembled_flags(specs):
    assert specs["TheBloke/phi-2-GGUF"].assembled
    assert specs["meta-llama/Llama-3.3-70B-Instruct"].assembled
    assert not specs["mistralai/Mistral-7B-v0.1"].assembled


def test_assembled_family_members(specs):
    l3 = specs["meta-llama/Meta-Llama-3-70B"]
    assert l3.assembled and l3.model_info["gated"] == "manual"
    assert l3.model_info["cardData"]["license"] == "llama3"
    assert {"LICENSE", "USE_POLICY.md", "cardData.extra_gated_prompt"} <= l3.withheld
    assert l3.files["USE_POLICY.md"] == cf.reference_text("llama3.USE_POLICY.md", TEXTS)
    vision = specs["meta-llama/Llama-3.2-11B-Vision-Instruct"]
    assert vision.assembled and vision.model_info["pipeline_tag"] == "image-text-to-text"
    assert vision.model_info["config"]["model_type"] == "mllama"
    assert vision.model_info["cardData"]["extra_gated_prompt"] == cf.reference_text("llama3.2.LICENSE.txt", TEXTS)
    assert {"LICENSE.txt", "USE_POLICY.md"} <= vision.withheld


def test_reference_labels():
    assert cf.reference_label("gemma", "google/gemma-3-4b-it") == "gemma-2025-03-24"
    assert cf.reference_label("gemma", "google/gemma-2-9b-it") == "gemma-2024-04-01"
    assert cf.reference_label("llama3.1") == "llama3.1"
    assert cf.reference_label("mrl") is None
    assert cf.infer_relation("someone/Model-7B-AWQ") == "quantized"
    assert cf.infer_relation("someone/model-lora") == "adapter"
    assert cf.infer_relation("someone/a-merge-7b") == "merge"
    assert cf.infer_relation("someone/tuned") == "finetune"


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_examples_matches_committed_tree(tmp_path):
    build_examples = load_module("scripts/build_examples.py")

    committed = ROOT / "examples" / "hub"
    assert committed.is_dir(), "examples/hub is missing: run scripts/build_examples.py"
    build_examples.build(tmp_path / "hub", SHARED)
    built, have = _tree(tmp_path / "hub"), _tree(committed)
    assert sorted(built) == sorted(have), "examples/hub is stale: run scripts/build_examples.py"
    stale = [p for p in built if built[p] != have[p]]
    assert not stale, f"examples/hub differs from the builder's output: {stale[:5]}"


def test_example_snapshot_shape():
    root = ROOT / "examples" / "hub"
    snap = json.loads((root / "snapshot.json").read_text())
    assert (snap["format"], snap["version"]) == ("modelscan-snapshot", 1)
    missing = json.loads((root / "missing.json").read_text())
    assert missing["models"]["meta-llama/Llama-3-70B"]["suggestions"] == ["meta-llama/Meta-Llama-3-70B"]
    for refs in root.glob("models/*/*/refs.json"):
        sha = json.loads(refs.read_text())["main"]
        folder = refs.parent / sha
        info = json.loads((folder / "model_info.json").read_text())
        files = json.loads((folder / "files.json").read_text())
        assert info["sha"] == sha and re.fullmatch(r"[0-9a-f]{40}", sha)
        blob = {s["rfilename"]: s["blobId"] for s in info["siblings"]}
        for entry in files["files"]:
            assert blob[entry["path"]] == entry["git_oid"]
            stored = folder / "files" / entry["path"]
            assert stored.exists() != entry["omitted"]
        for field in files["withheld_fields"]:
            assert field["field"] not in (info.get("cardData") or {})
    vision = root / "models/meta-llama/Llama-3.2-11B-Vision-Instruct"
    sha = json.loads((vision / "refs.json").read_text())["main"]
    assert json.loads((vision / sha / "files.json").read_text())["provenance"]["assembled"] is True


def test_example_carries_no_reference_text():
    words = lambda t: re.findall(r"[a-z0-9]+", t.lower())  # noqa: E731
    runs = lambda ws: {" ".join(ws[i:i + 16]) for i in range(max(0, len(ws) - 15))}  # noqa: E731
    reference = set()
    for f in TEXTS.glob("*.*"):
        if f.name != "SOURCES.md":
            reference |= runs(words(f.read_text(errors="replace")))
    for path in (ROOT / "examples" / "hub").rglob("*"):
        if path.is_file():
            hits = runs(words(path.read_text(errors="replace"))) & reference
            assert len(hits) < 3, f"{path} carries reference license text"
