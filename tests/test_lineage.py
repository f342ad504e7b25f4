"""Base-model lineage through the real huggingface_hub client and the test Hub server."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from conftest import card, make_model_dir, reference_text
from hubserver import FakeHub

from scanner import kb as kbmod
from scanner.lineage import parents_of
from scanner.policy.model import load_policy, parse_context_overrides
from scanner.result import LineageEdge
from scanner.scan import Scanner
from scanner.fetchplan import card_text_needed  # noqa: E402
from scanner.sources.hub import HubSettings, HubSource
from scanner.sources.local import LocalSource

WHEN = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
LLAMA3 = "meta-llama/Meta-Llama-3-8B"


def _llama3_base(hub: FakeHub) -> None:
    hub.add_repo(LLAMA3, {"cardData": {"license": "llama3", "extra_gated_prompt": reference_text("llama3.LICENSE.txt")},
                          "pipeline_tag": "text-generation", "config": {"model_type": "llama"},
                          "tags": ["llama", "llama-3", "license:llama3"]},
                 {"LICENSE": reference_text("llama3.LICENSE.txt"),
                  "USE_POLICY.md": reference_text("llama3.USE_POLICY.md"),
                  "model-00001-of-00004.safetensors": b"\0" * 16},
                 gated="manual")


def _finetune(hub: FakeHub, repo: str, base: str | list, license_: str = "apache-2.0", relation: str | None = None,
              extra: dict | None = None) -> None:
    data = {"license": license_, "base_model": base, **(extra or {})}
    if relation:
        data["base_model_relation"] = relation
    hub.add_repo(repo, {"cardData": data, "config": {"model_type": "llama"}},
                 {"model.safetensors": b"\0" * 16})


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


def scanner_for(hub, tmp_path, policy="default", contexts=(), **kw) -> Scanner:
    source = HubSource(HubSettings(read_timeout=5, deadline=20, attempts=2, backoff=0.05), cache_dir=tmp_path / "c",
                       token=False, endpoint=hub.url, needs_card=card_text_needed)
    pol = load_policy(policy).with_context(parse_context_overrides(list(contexts)))
    return Scanner(source, kbmod.load(), pol, WHEN, local=LocalSource(), **kw)


def codes(result) -> set[str]:
    return {f.code for f in result.findings}


def ids(result) -> set[str]:
    return {u.id for u in result.licenses.effective}


def test_parents_from_card_and_tags():
    got = parents_of({"base_model": ["a/b", "c/d"]}, ["base_model:merge:e/f", "base_model:a/b", "base_model:x"])
    assert got == [("merge", "a/b"), ("merge", "c/d"), ("merge", "e/f"), ("merge", "x")]
    assert parents_of({"base_model": "a/b", "base_model_relation": "adapter"}, []) == [("adapter", "a/b")]
    assert parents_of({}, ["base_model:quantized:a/b"]) == [("quantized", "a/b")]
    assert parents_of({"base_model": "../../etc/passwd"}, []) == []


def test_llama3_finetune_labeled_apache(hub, tmp_path):
    _llama3_base(hub)
    _finetune(hub, "someone/chatty-8b-ft", LLAMA3)
    r = scanner_for(hub, tmp_path).scan_one("someone/chatty-8b-ft")
    assert {"llama3", "apache-2.0"} <= ids(r)
    assert "license-conflict-with-base" in codes(r)
    conflict = next(f for f in r.findings if f.code == "license-conflict-with-base")
    assert conflict.evidence["chain"] == ["someone/chatty-8b-ft", LLAMA3]
    assert r.verdict != "allow"
    # the verdict reflects llama3's terms: 800M MAU or distillation deny it
    big = scanner_for(hub, tmp_path, contexts=["monthly_active_users=800000000"]).scan_one("someone/chatty-8b-ft")
    assert big.verdict == "deny" and "user-threshold-exceeded" in codes(big)
    distill = scanner_for(hub, tmp_path, contexts=["use_cases=chat,distillation"]).scan_one("someone/chatty-8b-ft")
    assert distill.verdict == "deny" and "output-use-restricted" in codes(distill)
    inherited = next(u for u in r.licenses.effective if u.id == "llama3")
    assert inherited.via == ("someone/chatty-8b-ft", LLAMA3)
    # naming duty of Llama 3 derivatives
    assert any(f.code == "derivative-duty-unmet" and '"Llama 3"' in f.message for f in r.findings)


def test_gguf_of_the_finetune_two_hops(hub, tmp_path):
    _llama3_base(hub)
    _finetune(hub, "someone/chatty-8b-ft", LLAMA3)
    hub.add_repo("quant/chatty-8b-ft-GGUF", {"cardData": {"license": "apache-2.0"},
                                                    "tags": ["gguf", "base_model:quantized:someone/chatty-8b-ft"]},
                 {"chatty-8b-ft.Q4_K_M.gguf": b"\0" * 16})
    r = scanner_for(hub, tmp_path).scan_one("quant/chatty-8b-ft-GGUF")
    assert "llama3" in ids(r) and "license-conflict-with-base" in codes(r)
    llama = next(u for u in r.licenses.effective if u.id == "llama3")
    assert llama.via == ("quant/chatty-8b-ft-GGUF", "someone/chatty-8b-ft", LLAMA3)
    assert r.lineage.edges[0].relation == "quantized"
    assert [n.id for n in r.lineage.nodes] == ["quant/chatty-8b-ft-GGUF", "someone/chatty-8b-ft", LLAMA3]


def test_merge_of_llama2_and_mistral(hub, tmp_path):
    hub.add_repo("meta-llama/Llama-2-7b-hf", {"cardData": {"license": "llama2"}},
                 {"LICENSE": reference_text("llama2.LICENSE.txt")})
    hub.add_repo("mistralai/Mistral-7B-v0.1", {"cardData": {"license": "apache-2.0"}})
    bases = ["meta-llama/Llama-2-7b-hf", "mistralai/Mistral-7B-v0.1"]
    hub.add_repo("merger/frankenmerge-7b", {"cardData": {"license": "cc-by-nc-4.0", "base_model": bases},
                                            "tags": ["merge", "mergekit"]})
    r = scanner_for(hub, tmp_path, policy="research").scan_one("merger/frankenmerge-7b")
    assert {"llama2", "apache-2.0", "cc-by-nc-4.0"} <= ids(r)
    assert {e.relation for e in r.lineage.edges} == {"merge"}


def test_lora_adapter_on_gemma(hub, tmp_path):
    hub.add_repo("google/gemma-2-9b", {"cardData": {"license": "gemma"}, "config": {"model_type": "gemma2"}},
                 {"model.safetensors": b"\0"})
    hub.add_repo("someone/gemma-2-9b-lora", {"cardData": {"license": "mit", "base_model": "google/gemma-2-9b",
                                                          "library_name": "peft"},
                                             "tags": ["base_model:adapter:google/gemma-2-9b"]},
                 {"adapter_model.safetensors": b"\0", "adapter_config.json": "{}"})
    r = scanner_for(hub, tmp_path, contexts=["use_cases=chat,military"]).scan_one("someone/gemma-2-9b-lora")
    assert "gemma" in ids(r)
    assert r.lineage.edges == (LineageEdge("someone/gemma-2-9b-lora", "google/gemma-2-9b", "adapter"),)
    gemma = next(u for u in r.licenses.effective if u.id == "gemma")
    assert gemma.via[-1] == "google/gemma-2-9b"
    assert any(o.license.startswith("gemma") for o in r.obligations)


def test_cycle_deep_chain_and_missing_parent_are_bounded(hub, tmp_path):
    hub.add_repo("cyc/a", {"cardData": {"license": "mit", "base_model": "cyc/b"}})
    hub.add_repo("cyc/b", {"cardData": {"license": "mit", "base_model": "cyc/a"}})
    for i in range(40):
        hub.add_repo(f"deep/m{i}", {"cardData": {"license": "mit", "base_model": f"deep/m{i + 1}"}})
    hub.add_repo("deep/m40", {"cardData": {"license": "llama2"}})
    hub.add_repo("orphan/ft", {"cardData": {"license": "apache-2.0", "base_model": "gone/base-model"}})
    s = scanner_for(hub, tmp_path)
    t0 = time.perf_counter()
    cyc, deep, orphan = s.scan_one("cyc/a"), s.scan_one("deep/m0"), s.scan_one("orphan/ft")
    assert time.perf_counter() - t0 < 30
    assert "lineage-cycle" in codes(cyc) and cyc.verdict != "allow"
    assert "lineage-depth-capped" in codes(deep) and deep.verdict != "allow"
    assert len(deep.lineage.nodes) <= 12
    assert "lineage-parent-unavailable" in codes(orphan) and orphan.verdict != "allow"
    assert any("gone/base-model" in f.message for f in orphan.findings)
    # the 40-deep chain costs at most max_depth + 1 model_info requests
    assert hub.count("GET", r"^/api/models/deep/") <= 12


def test_fifty_finetunes_fetch_the_base_once(hub, tmp_path):
    _llama3_base(hub)
    for i in range(50):
        _finetune(hub, f"team/ft-{i}", LLAMA3, license_="llama3")
    hub.reset_log()
    report = scanner_for(hub, tmp_path).scan([f"team/ft-{i}" for i in range(50)])
    assert all("llama3" in ids(r) for r in report.results)
    assert hub.count("GET", rf"^/api/models/{LLAMA3}(/|$)") == 1
    fetched = [r.path.rsplit("/", 1)[-1] for r in hub.requests if r.path.startswith(f"/{LLAMA3}/resolve/")]
    assert sorted(fetched) == ["LICENSE", "USE_POLICY.md"]      # each file once, never the weights


def test_local_folder_naming_a_hub_base(hub, tmp_path):
    _llama3_base(hub)
    d = make_model_dir(tmp_path, "my-ft", card({"license": "apache-2.0", "base_model": LLAMA3}))
    r = scanner_for(hub, tmp_path).scan_one(str(d))
    assert "llama3" in ids(r) and "license-conflict-with-base" in codes(r)


def test_inferred_family_when_no_parent_is_named(hub, tmp_path):
    hub.add_repo("someone/Llama-2-13B-storywriter", {"cardData": {"license": "mit"}, "config": {"model_type": "llama"},
                                                     "tags": ["llama-2"]})
    r = scanner_for(hub, tmp_path).scan_one("someone/Llama-2-13B-storywriter")
    assert "llama2" in ids(r)
    inferred = next(f for f in r.findings if f.code == "lineage-inferred")
    assert any("Llama-2-13B-storywriter" in s for s in inferred.evidence["signals"])
    assert r.verdict == "review"


def test_prose_counts_when_it_says_derived_or_the_architecture_agrees(hub, tmp_path):
    s = scanner_for(hub, tmp_path)
    derived = "# Storyteller\n\nA fine-tune of Llama 2 13B on stories.\n"
    compared = "# Storyteller\n\nWe compare it with Llama 2 13B on stories.\n"
    cases = [(derived, "gpt2", True), (compared, "llama", True), (compared, "gpt2", False)]
    for i, (body, arch, inferred) in enumerate(cases):
        d = make_model_dir(tmp_path, f"story-{i}", card({"license": "mit"}, body),
                           {"config.json": f'{{"model_type": "{arch}"}}'})
        r = s.scan_one(str(d))
        assert ("llama2" in ids(r)) is inferred, (body, arch)


def test_hub_reads_the_card_text_only_when_it_may_hide_a_base(hub, tmp_path):
    body = "# lzlv\n\nA multi-model merge of several LLaMA2 70B finetunes.\n"
    hub.add_repo("someone/lzlv-70b", {"cardData": {"license": "cc-by-nc-2.0"}, "config": {"model_type": "llama"}},
                 {"README.md": card({"license": "cc-by-nc-2.0"}, body)})
    hub.add_repo("meta-llama/Llama-2-70b-hf", {"cardData": {"license": "llama2"}, "config": {"model_type": "llama"}},
                 {"README.md": card({"license": "llama2"}, "# Llama 2\n")})
    hub.add_repo("someone/bert-ft", {"cardData": {"license": "mit"}, "config": {"model_type": "bert"}})
    s = scanner_for(hub, tmp_path, policy="research")
    assert "llama2" in ids(s.scan_one("someone/lzlv-70b"))
    s.scan_one("meta-llama/Llama-2-70b-hf")
    s.scan_one("someone/bert-ft")
    readmes = [r.path.split("/resolve/")[0] for r in hub.requests if r.path.endswith("/README.md")]
    assert readmes == ["/someone/lzlv-70b"]


def test_tinyllama_is_not_a_llama_derivative(hub, tmp_path):
    hub.add_repo("TinyLlama/TinyLlama-1.1B-Chat-v1.0", {"cardData": {"license": "apache-2.0"},
                                                         "config": {"model_type": "llama"}, "tags": ["llama"]})
    r = scanner_for(hub, tmp_path).scan_one("TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    assert ids(r) == {"apache-2.0"} and r.verdict == "allow", [f.message for f in r.findings]


def test_dataset_licenses_under_a_commercial_context(hub, tmp_path):
    hub.add_repo("microsoft/ms_marco", {"cardData": {"license": "other", "license_name": "ms-marco-terms"}},
                 kind="dataset")
    hub.add_repo("stanfordnlp/snli", {"cardData": {"license": "cc-by-sa-4.0"}}, kind="dataset")
    hub.add_repo("sentence-transformers/all-MiniLM-L6-v2",
                 {"cardData": {"license": "apache-2.0", "datasets": ["microsoft/ms_marco", "stanfordnlp/snli",
                                                                      "nobody/missing-set"]}},
                 {"model.safetensors": b"\0"})
    hub.add_repo("cc/nc-data", {"cardData": {"license": "cc-by-nc-4.0"}}, kind="dataset")
    hub.add_repo("someone/nc-tuned", {"cardData": {"license": "apache-2.0", "datasets": ["cc/nc-data"]}},
                 {"model.safetensors": b"\0"})
    s = scanner_for(hub, tmp_path)
    mini = s.scan_one("sentence-transformers/all-MiniLM-L6-v2")
    ds = [f for f in mini.findings if f.code == "dataset-license"]
    assert {f.evidence["dataset"] for f in ds} == {"microsoft/ms_marco", "nobody/missing-set"}
    assert mini.classification.openness == "open-weights"           # datasets do not make it fully open
    nc = s.scan_one("someone/nc-tuned")
    assert nc.verdict == "review" and "dataset-license" in codes(nc)
    research = scanner_for(hub, tmp_path, policy="research").scan_one("someone/nc-tuned")
    assert "dataset-license" not in codes(research)


def test_gated_or_private_parent_is_a_finding(hub, tmp_path):
    hub.add_repo("corp/private-base", {"cardData": {"license": "apache-2.0"}}, private=True)
    hub.add_repo("corp/ft", {"cardData": {"license": "apache-2.0", "base_model": "corp/private-base"}})
    r = scanner_for(hub, tmp_path).scan_one("corp/ft")
    assert "lineage-parent-unavailable" in codes(r) and r.verdict == "review"


def test_compiled_family_rules_find_what_each_pattern_finds():
    # infer_families joins a rule's patterns into one alternation (scanner.lineage._AnyOf); for every
    # shipped rule and a spread of names and tags, that finds exactly what the patterns one by one find.
    import re

    from scanner.lineage import _AnyOf, families

    texts = ["Llama-2-13b-chat-hf", "Meta-Llama-3.1-8B-Instruct", "llama3", "Mistral-7B-v0.1", "mixtral-8x7b-v0.1",
             "gemma-2-9b-it", "gemma-7b", "phi-2", "Phi-3-mini", "Qwen2.5-7B", "qwen-7b", "yi-34b", "falcon-40b",
             "sd3-medium", "stable-diffusion-v1-5", "DeepSeek-V3-0324", "vicuna-13b", "prompt-guard-2-86m",
             "license:llama2", "text-generation", "l2-13b", "orca-2", "codellama-7b", "olmo-7b", ""]
    for fam in families(kbmod.load()):
        for key in ("name", "exclude", "tag_yields_to"):
            patterns = list(fam.get(key) or ())
            joined = _AnyOf(patterns)
            for text in texts:
                assert joined.search(text) == any(re.search(p, text, re.I) for p in patterns), (fam["family"], key,
                                                                                                 text)
    # patterns that cannot be joined (a global flag not at the start) are searched one by one
    apart = _AnyOf(["abc", "(?x) d e f"])
    assert apart.search("xDEF") and apart.search("ABC") and not apart.search("xyz") and apart._one is None
    assert not _AnyOf([]) and not _AnyOf([]).search("anything")
