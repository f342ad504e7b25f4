"""The card reader as a careful reader (issue 12): merge recipes, links to an original, base ids
that cannot be read, prose, community lineages, SPDX expressions, large front matter.

Every card here is minimal and written for the test. Each is scanned offline as a local folder
(a named base cannot be fetched), through the real scanner, and must resolve to the license the
words point to, with those words quoted in the finding; comparisons and announcements add nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from conftest import reference_text
from scanner import categories, knowledge, spdx_expr
from scanner import kb as kbmod
from scanner.infer import MAX_INFERRED_PARENTS, community
from scanner.infer.parents import text_parents
from scanner.policy.model import load_policy
from scanner.scan import Scanner
from scanner.sources.local import LocalSource

NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
INFERRED = ("lineage-inferred", "lineage-inferred-parent", "license-inferred")


@pytest.fixture(scope="module")
def kb():
    return kbmod.load()


@pytest.fixture
def scan(tmp_path, kb):
    def run(readme: str, name: str = "model", config: dict | None = None, policy: str = "default",
            files: dict[str, str] | None = None):
        d = tmp_path / name
        d.mkdir()
        (d / "README.md").write_text(readme, encoding="utf-8")
        for path, text in (files or {}).items():
            (d / path).write_text(text, encoding="utf-8")
        if config:
            (d / "config.json").write_text(json.dumps(config), encoding="utf-8")
        scanner = Scanner(None, kb, load_policy(policy), NOW, local=LocalSource())
        return scanner.scan_one(str(d))
    return run


def ids(result) -> set[str]:
    return {u.id for u in result.licenses.effective}


def inferred(result) -> list[str]:
    return [f.message for f in result.findings if f.code in INFERRED]


def card(body: str, front: str = "license: apache-2.0") -> str:
    return f"---\n{front}\n---\n{body}\n" if front is not None else body


# -- merge recipes ---------------------------------------------------------------------------------

RECIPES = [
    # models list with a base model (TIES), the CodeLlama parent brings Llama 2
    ("```yaml\nmodels:\n  - model: codellama/CodeLlama-13b-hf\n    parameters:\n      weight: 0.5\n"
     "  - model: WizardLMTeam/WizardCoder-Python-13B-V1.0\nmerge_method: ties\nbase_model: codellama/CodeLlama-13b-hf\n"
     "dtype: float16\n```", "codellama/CodeLlama-13b-hf", "llama2"),
    # slices / sources (passthrough frankenmerge)
    ("Merged with mergekit:\n\n```\nslices:\n  - sources:\n      - model: meta-llama/Llama-2-13b-hf\n"
     "        layer_range: [0, 20]\n  - sources:\n      - model: Gryphe/MythoMax-L2-13b\n        layer_range: [10, 40]\n"
     "merge_method: passthrough\ndtype: float16\n```", "meta-llama/Llama-2-13b-hf", "llama2"),
    # mixture of experts (mergekit-moe): base_model and experts' source_model
    ("~~~yaml\nbase_model: google/gemma-7b\ngate_mode: hidden\nexperts:\n  - source_model: google/gemma-7b-it\n"
     "    positive_prompts: [chat]\n  - source_model: someone/gemma-7b-math\n~~~", "google/gemma-7b", "gemma"),
]


@pytest.mark.parametrize("body,parent,license_id", RECIPES)
def test_merge_recipe_names_every_parent(scan, body, parent, license_id):
    r = scan(card("# A merge\n\n" + body))
    assert license_id in ids(r)
    msgs = [f for f in r.findings if f.code == "lineage-inferred-parent"]
    assert any(parent in f.message and "recipe" in f.message for f in msgs), msgs
    edges = r.lineage.edges
    assert any(e.parent == parent and e.relation == "merge" and e.inferred for e in edges)
    assert r.verdict != "allow"


def test_recipe_names_all_three_parents_and_code_blocks_that_are_no_recipe_name_none():
    body = ("```yaml\nmodels:\n  - model: a/one\n  - model: b/two\n  - model: codellama/CodeLlama-7b-hf\n"
            "merge_method: task_arithmetic\nbase_model: a/one\n```\n\n```python\nmodel = load('x/y')\n```\n"
            "```yaml\npipeline:\n  model: not/a-recipe\n```")
    assert [p.repo_id for p in text_parents(body)] == ["a/one", "b/two", "codellama/CodeLlama-7b-hf"]


def test_inferred_parents_are_capped():
    body = "```yaml\nmodels:\n" + "".join(f"  - model: org/m{i}\n" for i in range(40)) + "merge_method: linear\n```"
    assert len(text_parents(body)) == MAX_INFERRED_PARENTS


# -- links to an original -----------------------------------------------------------------------

LINKS = [
    ("- Model creator: [Meta](https://huggingface.co/meta-llama)\n"
     "- Original model: [Llama 2 13B](https://huggingface.co/meta-llama/Llama-2-13b-hf)", "meta-llama/Llama-2-13b-hf",
     "llama2"),
    ("Original model: https://huggingface.co/google/gemma-7b-it", "google/gemma-7b-it", "gemma"),
    ("This repo contains GGUF format model files for [DeepSeek Math](https://huggingface.co/deepseek-ai/deepseek-math-7b-instruct).",
     "deepseek-ai/deepseek-math-7b-instruct", "deepseek"),
    ("Static quants of https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-8B-Instruct",
     "llama3"),
    ("This is a fp16 copy of meta-llama/Llama-2-7b-chat-hf for convenience.", "meta-llama/Llama-2-7b-chat-hf", "llama2"),
    ("GGUF version of `google/gemma-2-9b-it`.", "google/gemma-2-9b-it", "gemma"),
]


@pytest.mark.parametrize("body,parent,license_id", LINKS)
@pytest.mark.parametrize("front", [None, "license: apache-2.0"])
def test_link_to_the_original_is_a_parent(scan, body, parent, license_id, front):
    r = scan(card(body, front))
    assert license_id in ids(r), (ids(r), r.findings)
    found = [f for f in r.findings if f.code == "lineage-inferred-parent" and parent in f.message]
    assert found and found[0].evidence["quote"] in " ".join(body.split())
    assert r.verdict != "allow"


def test_links_are_not_read_when_the_card_names_its_base(scan):
    r = scan(card("Original model: https://huggingface.co/meta-llama/Llama-2-7b-hf",
                  "license: apache-2.0\nbase_model: mistralai/Mistral-7B-v0.1"))
    assert not [f for f in r.findings if f.code == "lineage-inferred-parent"]
    assert [e.parent for e in r.lineage.edges] == ["mistralai/Mistral-7B-v0.1"]


# -- base ids that cannot be read -----------------------------------------------------------------

@pytest.mark.parametrize("base,license_id", [
    ("deepseek-ai/deepseek-math-7b-base", "deepseek"),
    ("deepseek-ai/deepseek-coder-6.7b-instruct", "deepseek"),
    ("deepseek-ai/deepseek-llm-67b-chat", "deepseek"),
    ("unsloth/gemma-7b-bnb-4bit", "gemma"),
    ("google/gemma-1.1-2b-it", "gemma"),
    ("unsloth/gemma-2-9b-it-bnb-4bit", "gemma"),
])
def test_unreadable_base_id_names_its_family(scan, base, license_id):
    r = scan(card("", f"license: apache-2.0\nbase_model: {base}"))
    assert license_id in ids(r)
    msg = next(m for m in inferred(r) if base in m)
    assert base.split("/")[1] in msg


@pytest.mark.parametrize("base,license_id", [
    ("meta-llama/Llama-Prompt-Guard-2-22M", "llama4"),
    ("meta-llama/Llama-Prompt-Guard-2-86M", "llama4"),
    ("mistralai/Mistral-7B-v0.1", "apache-2.0"),
    ("mistralai/Mistral-7B-Instruct-v0.2", "apache-2.0"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "apache-2.0"),
    ("microsoft/phi-2", "mit"),
    ("CohereForAI/c4ai-command-r-plus", "cc-by-nc-4.0"),
    ("CohereForAI/c4ai-command-r-v01", "cc-by-nc-4.0"),
])
def test_unreadable_publisher_base_ids_name_their_license(scan, base, license_id):
    r = scan(card("", f"license: other\nbase_model: {base}"))
    assert license_id in ids(r)
    assert any(base in m for m in inferred(r))


@pytest.mark.parametrize("name,config", [
    ("Mistral-7B-SciPhi-32k", {"model_type": "mistral"}), ("SlimOpenOrca-Mistral-7B", {"model_type": "mistral"}),
    ("Mixtral-8x7B-MoE-RP-Story", {"model_type": "mixtral"}), ("Mistral-7B-v0.1", {"model_type": "mistral"}),
    ("phi-2", {"model_type": "phi"}),                 # the release itself, relabeled: read from its own card
])
def test_models_named_after_a_publisher_release_keep_their_own_license(scan, name, config):
    r = scan(card("A model.", "license: mit"), name=name, config=config)
    assert ids(r) == {"mit"} and r.verdict == "allow"
    r = scan(card("A model.", "license: cc-by-nc-4.0"), name=name + "-nc", config=config)
    assert ids(r) == {"cc-by-nc-4.0"}


@pytest.mark.parametrize("base", ["deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
                                  "deepseek-ai/DeepSeek-V3-0324"])
def test_mit_deepseek_releases_are_not_the_deepseek_license(scan, base):
    assert "deepseek" not in ids(scan(card("", f"license: mit\nbase_model: {base}")))


# -- prose ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "This is a Llama-2 13B model trained on a mix of role-play data.",
    "A fine-tuned version of Llama 2 7B for customer support.",
    "Llama 2 13B, further trained on 2B tokens of code.",
    "We built on Llama 2 to make this assistant.",
])
def test_prose_that_says_the_model_derives_from_a_base(scan, body):
    r = scan(card(body))
    assert "llama2" in ids(r)
    assert any("Llama" in m and "card text" in m for m in inferred(r))


@pytest.mark.parametrize("body", [
    "Our model outperforms Llama 2 on every benchmark we ran.",
    "This is our answer to Llama 2: fully open and Apache licensed.",
    "It is better than Llama 2 13B at arithmetic.",
    "Compared to Llama 2, the model is smaller.",
    "An open alternative to Llama 2 and Gemma.",
    "We fine-tuned it from scratch and it beats Llama 2 on MMLU.",
])
def test_comparisons_and_announcements_add_nothing(scan, body):
    r = scan(card(body))
    assert ids(r) == {"apache-2.0"}
    assert not inferred(r) and r.verdict == "allow"


@pytest.mark.parametrize("body", [
    "The weights stay under the original Llama 2 model's license and use restrictions.",
    "This model is subject to the base model's license (Llama 2).",
    "Use of this Llama 2 adaptation is governed by the original model license.",
])
def test_a_sentence_that_keeps_the_base_license(scan, body):
    r = scan(card(body))
    assert "llama2" in ids(r)
    assert inferred(r)


@pytest.mark.parametrize("body,license_id", [
    ("The weights are released under Meta's non-commercial research license.", "llama1"),
    ("Use is governed by the Llama 2 Community License, which you must accept.", "llama2"),
    ("Weights: Creative Commons Attribution-NonCommercial 4.0 license.", "cc-by-nc-4.0"),
    ("Released under the Gemma Terms of Use.", "gemma"),
])
def test_a_license_named_in_words(scan, body, license_id):
    r = scan(card(body, "license: other"))
    assert license_id in ids(r)
    assert "other" not in ids(r)
    f = next(f for f in r.findings if f.code == "license-inferred")
    assert f.evidence["quote"] and f.evidence["quote"] in " ".join(body.split())


@pytest.mark.parametrize("body,license_id", [
    ("# My model\n\n**License:** cc-by-nc-4.0\n", "cc-by-nc-4.0"),
    ("# My model\n\nLicense: MIT\n", "mit"),
    ("- license: apache-2.0\n- language: en\n", "apache-2.0"),
    ("## License\n\nThis model is released under the MIT License.\n", "mit"),
    ("## Licence\n\nCreative Commons Attribution Non Commercial 4.0 (CC BY-NC 4.0).\n", "cc-by-nc-4.0"),
    ("### License and use\n\nThe model inherits the Llama 2 community license of its base.\n", "llama2"),
])
def test_a_license_line_or_section_in_the_body(scan, body, license_id):
    r = scan(card(body, None))
    assert license_id in ids(r)
    assert any(f.code == "license-inferred" for f in r.findings)


@pytest.mark.parametrize("body,name", [
    ("## License\n\nThis model is released under the Acme Open Model License.\n", "Acme Open Model License"),
    ("License: Zeta Research License Agreement\n", "Zeta Research License Agreement"),
    ("## License\n\nSee the Frobnicator Community License for terms.\n", "Frobnicator Community License"),
])
def test_a_license_the_knowledge_base_lacks_is_named(scan, body, name):
    r = scan(card(body, "license: other"))
    assert name in ids(r)
    unresolved = [f for f in r.findings if f.code == "license-unresolved"]
    assert unresolved and name in unresolved[0].message
    assert not any("names no specific license" in f.message for f in r.findings)
    assert r.verdict == "review"


# -- a license merely mentioned against a declared license the repository's own text confirms ----------

@pytest.mark.parametrize("body,mentioned", [
    ("# Model\n\nTongyi Qianwen license\n\n## License\n\nSee [LICENSE](LICENSE).", "tongyi-qianwen"),
    ("Weights published by Acme.\n\nLlama 2 Community License\n", "llama2"),
    ("A chat model.\n\nGemma Terms of Use\n", "gemma"),
])
def test_a_bare_mention_against_a_confirmed_label_is_reported_not_counted(scan, body, mentioned):
    r = scan(card(body), files={"LICENSE": reference_text("apache-2.0.LICENSE.txt")})
    assert ids(r) == {"apache-2.0"} and r.verdict == "allow"
    f = next(f for f in r.findings if f.code == "license-mentioned")
    assert f.effect is None and f.evidence["license"]["id"] == mentioned and f.evidence["quote"]
    assert not [f for f in r.findings if f.code == "license-inferred"]


@pytest.mark.parametrize("body,files,binds", [
    # words that claim the license applies: it binds whatever the label says
    ("Use is governed by the Llama 2 Community License.", {"LICENSE": "apache-2.0.LICENSE.txt"}, "llama2"),
    ("The weights are released under the Tongyi Qianwen license.", {"LICENSE": "apache-2.0.LICENSE.txt"},
     "tongyi-qianwen"),
    ("You must accept the Llama 2 Community License to use it.", {"LICENSE": "apache-2.0.LICENSE.txt"}, "llama2"),
    # a License line or section is a claim
    ("License: llama2\n", {"LICENSE": "apache-2.0.LICENSE.txt"}, "llama2"),
    ("## License\n\nLlama 2 Community License\n", {"LICENSE": "apache-2.0.LICENSE.txt"}, "llama2"),
    ("| Weights | License |\n|---|---|\n| 7B | Llama 2 Community License |\n", {"LICENSE": "apache-2.0.LICENSE.txt"},
     "llama2"),
    ("A chat model.\n\nCC BY-NC 4.0 license.\n", {"LICENSE": "apache-2.0.LICENSE.txt"}, "cc-by-nc-4.0"),
    # a bare mention, but no license file confirms the label, or the file is another license's text
    ("Tongyi Qianwen license\n", {}, "tongyi-qianwen"),
    ("Tongyi Qianwen license\n", {"LICENSE": "mit.LICENSE.txt"}, "tongyi-qianwen"),
])
def test_a_mention_that_claims_or_is_unconfirmed_still_binds(scan, body, files, binds):
    r = scan(card(body), files={k: reference_text(v) for k, v in files.items()})
    assert binds in ids(r) and r.verdict != "allow"
    assert not [f for f in r.findings if f.code == "license-mentioned"]


# -- community lineages ------------------------------------------------------------------------------

@pytest.mark.parametrize("name,expected,absent", [
    ("MythoMax-L2-13b-GGUF", {"llama2"}, {"llama1"}),
    ("Nous-Hermes-Llama2-13b", {"llama2"}, {"llama1"}),
    ("vicuna-13b-v1.5", {"llama2"}, {"llama1"}),
    ("airoboros-33b-gpt4-1.4", {"llama1"}, {"llama2"}),
    ("guanaco-65B-HF", {"llama1"}, {"llama2"}),
    ("vicuna-13b-v1.3", {"llama1"}, {"llama2"}),
    ("WizardLM-13B-V1.2", {"llama2"}, {"llama1"}),
    ("WizardLM-30B-V1.0", {"llama1"}, {"llama2"}),
    ("chronos-13b", {"llama1", "llama2"}, set()),          # spans generations: both bind
    ("airoboros-13b", {"llama1", "llama2"}, set()),
    ("Platypus2-13B", {"llama2", "cc-by-nc-sa-4.0"}, set()),
    ("llama-30b-supercot", {"llama1"}, {"llama2"}),
    ("llama-65b-instruct", {"llama1"}, {"llama2"}),
])
def test_community_names_by_generation(scan, name, expected, absent):
    r = scan(card("A model.", "license: apache-2.0"), name=name)
    got = ids(r)
    assert expected <= got and not absent & got, got
    assert "apache-2.0" in got                           # never replaces the model's own license
    assert any("community lineage" in m or "repository name" in m for m in inferred(r))


@pytest.mark.parametrize("name", ["MythoMist-7b-mistral", "airoboros-m-7b-3.1", "Nous-Hermes-2-Yi-34B",
                                  "WizardLM-2-8x22B", "llama-13b-something", "my-model", "Stheno-L3-8B",
                                  "MythoMax-L3-8b"])
def test_names_without_a_generation_or_of_another_base_map_to_no_lineage(name):
    assert community.candidates(name) == []


def test_a_community_base_license_the_kb_lacks_is_named(scan):
    r = scan(card("A model.", "license: apache-2.0"), name="StableBeluga-13B")
    assert {"llama2", "Stable Beluga Non-Commercial Community License"} <= ids(r)


@pytest.mark.parametrize("body,name,expected,absent", [
    ("Same recipe as my last merge, but with the ReMM model as a base.", "my-merge-13b", {"llama2"}, {"llama1"}),
    ("A fine-tune of MythoMax with extra role-play data.", "story-writer", {"llama2"}, {"llama1"}),
    ("This model is based on Xwin-LM and trained further on chat logs.", "helper-13b", {"llama2"}, {"llama1"}),
    ("Built on top of Stheno for long stories.", "tales", {"llama2"}, {"llama1"}),
    ("We merged from Huginn and a private LoRA.", "blend-13b", {"llama2"}, {"llama1"}),
    ("Fine-tuned from Vicuna v1.3 on support tickets.", "ticket-bot", {"llama1"}, {"llama2"}),
    ("Our base model: Airoboros 33B, trained on more code.", "coder", {"llama1"}, {"llama2"}),
])
def test_prose_naming_a_community_base(scan, body, name, expected, absent):
    r = scan(card(body), name=name, config={"model_type": "llama"})
    got = ids(r)
    assert expected <= got and not absent & got, got
    assert "apache-2.0" in got                           # never replaces the model's own license
    f = next(f for f in r.findings if f.code == "lineage-inferred")
    assert "card text" in f.message and f.evidence["source"].startswith("https://")
    assert r.verdict != "allow"


@pytest.mark.parametrize("body,config", [
    ("Fine-tuned on the airoboros dataset for two epochs.", {"model_type": "llama"}),
    ("Trained on a dataset derived from airoboros 2.2.", {"model_type": "llama"}),
    ("Our model outperforms MythoMax on our role-play benchmark.", {"model_type": "llama"}),
    ("It is better than Xwin-LM at arithmetic.", {"model_type": "llama"}),
    ("Uses the Vicuna prompt format: USER: ... ASSISTANT: ...", {"model_type": "llama"}),
    ("We loved ReMM and Huginn, so we made our own.", {"model_type": "llama"}),
    ("A fine-tune of MythoMax's data recipe on Mistral 7B.", {"model_type": "mistral"}),
])
def test_community_names_that_are_no_base_add_nothing(scan, body, config):
    r = scan(card(body), name="my-model-7b" if config["model_type"] == "mistral" else "my-model", config=config)
    assert not {"llama1", "llama2"} & ids(r)
    assert not any("community lineage" in m for m in inferred(r))


@pytest.mark.parametrize("name,width", [("function-caller-v1", None), ("my-assistant", 4096),
                                        ("Synthia-v3-11B", None), ("llama-tiny-chat", 5120)])
def test_a_llama_architecture_that_names_no_base_nor_size_is_reviewed(scan, name, width):
    config = {"model_type": "llama", **({"hidden_size": width} if width else {})}
    r = scan(card("An assistant for calling APIs. All models are released under Apache 2.0."), name=name,
             config=config)
    assert ids(r) == {"apache-2.0"}                     # nothing is guessed: it may be trained from scratch
    f = next(f for f in r.findings if f.code == "lineage-inferred")
    assert "model_type 'llama'" in f.message and name in f.message and f.effect == "review"
    assert (f"hidden size {width}" in f.message) is bool(width)
    assert r.verdict == "review"


@pytest.mark.parametrize("name,config,front", [
    ("TinyLlama-1.1B-chat-ft", {"model_type": "llama"}, "license: apache-2.0"),
    ("my-assistant", {"model_type": "mistral"}, "license: apache-2.0"),
    ("my-assistant", None, "license: apache-2.0"),
    ("my-assistant", {"model_type": "llama"}, "license: llama2"),
    ("my-assistant", {"model_type": "llama", "hidden_size": 64}, "license: apache-2.0"),    # no Meta width
    ("llama-tiny-random", {"model_type": "llama", "hidden_size": 2048}, "license: apache-2.0"),
])
def test_an_architecture_that_is_explained_is_not_reviewed_for_it(scan, name, config, front):
    r = scan(card("An assistant.", front), name=name, config=config)
    assert not any("model_type" in m for m in inferred(r))


@pytest.mark.parametrize("name", ["llama2-22b-daydreamer-v3", "L2-22B-roleplay", "Llama-2-22B-instruct"])
def test_a_22b_llama_frankenmerge_binds_both_generations(scan, name):
    r = scan(card("A model."), name=name, config={"model_type": "llama"})
    assert {"llama1", "llama2", "apache-2.0"} <= ids(r)
    assert any("22b" in m.lower() and "every one binds" in m for m in inferred(r))


@pytest.mark.parametrize("name", ["nucleus-22B-base", "Tess-10.7B-v1", "coder-6.7b-instruct", "Solar-10.7B-merge"])
def test_a_bare_22b_or_a_decimal_size_names_no_llama_generation(scan, name):
    assert community.candidates(name) == [] and community.by_architecture(name, "llama") == []


@pytest.mark.parametrize("name,body", [
    ("coder-33B", "The base Llama-2 model was used for training."),
    ("helper-65b", "A fine-tune of Llama 2 on support tickets."),
    ("chat-30B-v2", "This is a Llama-2 model trained on role-play data."),
])
def test_a_llama2_reading_with_a_size_only_llama1_had_binds_llama1_too(scan, name, body):
    r = scan(card(body), name=name, config={"model_type": "llama"})
    assert {"llama1", "llama2"} <= ids(r)
    assert any("point to Llama 2, but" in m and "llama1" in m for m in inferred(r))


@pytest.mark.parametrize("name,body", [
    ("coder-13B", "The base Llama-2 model was used for training."),
    ("coder-33B", "Trained from deepseek-coder-33b-base; see the Llama 2 results for comparison."),
])
def test_no_llama1_without_that_size_or_with_another_base(scan, name, body):
    assert "llama1" not in ids(scan(card(body), name=name, config={"model_type": "llama"}))


@pytest.mark.parametrize("base,config,expected", [
    ("someone/Unholy-v1-10L-13B", {"model_type": "llama"}, "llama2"),
    ("acme/chat-70b", {"model_type": "llama"}, "llama2"),
    ("acme/story-33b-v2", {"model_type": "llama"}, "llama1"),
    ("acme/SOLAR-10.7B-merge", {"model_type": "llama"}, None),
    ("acme/chat-7b", {"model_type": "mistral"}, None),
])
def test_an_unreadable_base_with_a_llama_size_on_a_llama_architecture(scan, base, config, expected):
    r = scan(card("An adapter.", f"library_name: peft\nbase_model: {base}"), config=config)
    got = ids(r) & {"llama1", "llama2"}
    assert got == ({expected} if expected else set())
    if expected:
        assert any("could not be read, but" in m for m in inferred(r)) and r.verdict != "allow"


# -- SPDX expressions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("MIT AND CC-BY-4.0", {"mit", "cc-by-4.0"}),
    ("apache-2.0 and cc-by-nc-4.0", {"apache-2.0", "cc-by-nc-4.0"}),
    ("(MIT)", {"mit"}),
    ("(llama2)", {"llama2"}),
    ("open-rail-m", {"openrail"}),
    ("Apache 2.0", {"apache-2.0"}),
])
def test_and_binds_every_part_and_spellings_resolve(scan, value, expected):
    r = scan(card("", f"license: '{value}'"))
    assert expected <= ids(r)
    assert not [f for f in r.findings if f.code == "license-unresolved"]


@pytest.mark.parametrize("value,taken", [
    ("apache-2.0 OR mit", "apache-2.0"),
    ("cc-by-nc-4.0 OR apache-2.0", "apache-2.0"),
    ("(llama2 OR mit)", "mit"),
])
def test_or_takes_the_best_alternative_and_says_which(scan, value, taken):
    r = scan(card("", f"license: '{value}'"))
    choice = next(f for f in r.findings if f.code == "license-choice")
    assert [t["id"] for t in choice.evidence["taken"]] == [taken]
    assert taken in ids(r) and r.verdict == "allow"


def test_or_takes_what_the_policy_allows_not_just_the_freest(scan, tmp_path):
    policy = tmp_path / "policy.yaml"
    text = (kbmod.data_dir("policies") / "default.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("  deny: []", "  deny: [apache-2.0]"), encoding="utf-8")
    r = scan(card("", "license: 'apache-2.0 OR mit'"), policy=str(policy))
    choice = next(f for f in r.findings if f.code == "license-choice")
    assert [t["id"] for t in choice.evidence["taken"]] == ["mit"]
    assert ids(r) == {"mit"} and r.verdict == "allow"


def test_expressions_are_bounded():
    assert spdx_expr.alternatives("mit") is None
    assert spdx_expr.alternatives(" OR ".join(f"l{i}" for i in range(20))) is None
    assert spdx_expr.alternatives("(a OR b) AND (c OR d)") == [("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")]
    assert spdx_expr.alternatives("mit AND (") is None


# -- front matter, tags and the unchanged ----------------------------------------------------------------

def test_front_matter_of_400_kb_is_read(scan):
    widget = "".join(f"  - text: '{'a' * 90} {i}'\n" for i in range(4200))
    readme = f"---\nlicense: llama2\nwidget:\n{widget}---\nbody\n"
    assert len(readme) > 400_000
    r = scan(readme)
    assert "llama2" in ids(r)
    assert not [f for f in r.findings if f.code == "card-malformed"]


@pytest.mark.parametrize("name,config,binds", [
    ("my-mistral-finetune", {"model_type": "mistral"}, False),
    ("TinyLlama-1.1B-chat-ft", {"model_type": "llama"}, False),
    ("some-finetune", {"model_type": "mistral"}, False),
    ("some-finetune", {"model_type": "llama"}, True),
])
def test_a_llama2_tag_yields_to_mistral_and_tinyllama(scan, name, config, binds):
    r = scan(card("", "license: apache-2.0\ntags: [llama-2]"), name=name, config=config)
    assert ("llama2" in ids(r)) is binds


@pytest.mark.parametrize("body", ["A small chat model.", "Trained on open data. Evaluated on MMLU.", ""])
def test_a_card_naming_none_of_these_keeps_todays_behaviour(scan, body):
    r = scan(card(body, "license: apache-2.0"))
    assert ids(r) == {"apache-2.0"} and r.verdict == "allow" and not inferred(r)


# -- knowledge as data -----------------------------------------------------------------------------------

def test_knowledge_names_records_and_sources(kb):
    assert knowledge.problems(kb) == []
    assert all(f.get("source") for f in knowledge.family_rules(kb))
    assert all(e.get("source") for e in knowledge.lineages()["lineages"])


def test_one_category_order_matches_the_schema():
    schema = json.loads((kbmod.SCHEMA_DIR / "license.schema.json").read_text())
    assert [c for c, _ in categories.CATEGORIES] and \
        set(schema["properties"]["category"]["enum"]) == {c for c, _ in categories.CATEGORIES}
    assert categories.rank("permissive") < categories.rank("restricted") < categories.rank("non-commercial")
    assert categories.rank("no-such-category") == categories.rank("unknown")


def test_inferred_text_patterns_are_bounded():
    # a stranger's body of repeated near-matches is read in linear time
    body = ("Original model: " + "a" * 50 + " ") * 4000 + "quants of " * 5000
    assert text_parents(body) == []
    assert re.search("x", "x")


def test_text_readers_stay_fast_on_a_large_hostile_body(kb):
    import time

    from scanner.identify import license_sections
    from scanner.infer.licenses import text_licenses
    from scanner.lineage import _prose_evidence

    body = ("word " * 40 + "Original model: quants of GGUF version of " + "x" * 300 + "\n") * 400
    body += "licence terms " * 3000 + "Llama 2 " * 2000
    t = time.perf_counter()
    text_parents(body)
    text_licenses(body, license_sections(body), kb)
    _prose_evidence(body[:200_000], r"llama[- ]?2(?![.\d])", False, "")
    assert time.perf_counter() - t < 5


# -- with the Hub reachable, a recognised parent is fetched like a base_model parent ---------------------

def test_parents_named_in_the_text_are_fetched_from_the_hub(tmp_path, kb):
    from hubserver import FakeHub

    from scanner.fetchplan import card_text_needed
    from scanner.sources.hub import HubSettings, HubSource

    recipe = ("---\nlicense: apache-2.0\n---\n# Merge\n```yaml\nmodels:\n  - model: acme/base-a\n  - model: acme/coder-b\n"
              "merge_method: linear\n```\n")
    with FakeHub() as hub:
        hub.add_repo("acme/base-a", {"cardData": {"license": "mit"}})
        hub.add_repo("acme/coder-b", {"cardData": {"license": "llama2"}})
        hub.add_repo("acme/merged", {"cardData": {"license": "apache-2.0"}, "config": {"model_type": "llama"}},
                     {"README.md": recipe})
        hub.add_repo("quant/coder-b-GGUF", {"config": {"model_type": "llama"}},
                     {"README.md": "# GGUF\n\nOriginal model: [coder](https://huggingface.co/acme/coder-b)\n"})
        source = HubSource(HubSettings(read_timeout=5, deadline=20, attempts=2, backoff=0.05),
                           cache_dir=tmp_path / "c", token=False, endpoint=hub.url, needs_card=card_text_needed)
        scanner = Scanner(source, kb, load_policy("default"), NOW, local=LocalSource())
        merged = scanner.scan_one("acme/merged")
        quant = scanner.scan_one("quant/coder-b-GGUF")
    assert {"apache-2.0", "mit", "llama2"} <= ids(merged)
    llama = next(u for u in merged.licenses.effective if u.id == "llama2")
    assert llama.via == ("acme/merged", "acme/coder-b")
    assert all(o.kind == "inferred" and "merge recipe" in o.where for o in llama.origins)
    assert {n.id for n in merged.lineage.nodes} >= {"acme/base-a", "acme/coder-b"}
    assert "llama2" in ids(quant) and quant.verdict != "allow"
    assert any(e.parent == "acme/coder-b" and e.inferred for e in quant.lineage.edges)
